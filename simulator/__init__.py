"""Simulated ZCS devices behind the links the real hardware has."""
