"""Notifications through Apprise: a job that failed for good, suggestions a scheduled run left for review."""
