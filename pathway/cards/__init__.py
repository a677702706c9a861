"""The emergency card: the patient's card page (QR code, wallet card PDF, lock-screen image)
and what a responder sees after scanning it (/e/…)."""
