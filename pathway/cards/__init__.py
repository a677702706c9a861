"""Documents for the emergency card: QR codes, the printable wallet card, the lock-screen image."""
