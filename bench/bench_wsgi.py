"""Pathway for load measurements: the real app, rate limits off (one client sends everything)."""

from pathway import create_app

app = create_app({"RATELIMIT_ENABLED": False})
