"""The patient's own pages: /patient/…"""
