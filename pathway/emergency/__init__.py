"""The emergency view, opened by scanning the QR wallet card (no account)."""
