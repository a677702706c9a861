"""Sharing the summary: sections and audiences, share links, access log, recipient view."""
