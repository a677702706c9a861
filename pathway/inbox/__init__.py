"""The inbox: notifications, and replies the patient decides on and the team answers."""
