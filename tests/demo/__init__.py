"""Tests of the demo's own pieces (scripts/demo.py), without Home Assistant running."""
