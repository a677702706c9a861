"""Recipient view of a share, opened from its signed link (no account)."""
