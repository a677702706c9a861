"""Professionals reply through a shared link (no account); the team's answers show there."""
