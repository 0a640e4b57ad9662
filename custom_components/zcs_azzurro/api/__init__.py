"""Talks to ZCS Azzurro devices; knows nothing of Home Assistant."""
