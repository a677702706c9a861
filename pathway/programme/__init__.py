"""The patient's side of their ETP programme: progress, consent, letters."""
