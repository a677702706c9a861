"""Sharing the summary: sections and audiences, share links, the recipient's view, the access
log, replies through a link; the patient's routes (/shares/…) and the recipient's (/s/…)."""
