"""Casework: registering cases, their lifecycle and time limits, reminders and webhooks, statistics."""
