"""The patient's emergency card: QR code, wallet card PDF, lock-screen image."""
