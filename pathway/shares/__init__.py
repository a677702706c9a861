"""The patient's shares: create, preview, revoke, rotate, access log."""
