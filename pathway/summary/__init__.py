"""The patient's summary: its sections edited by the patient, /patient/…"""
