"""Profiles: the schema, the loader, the read planner, the decoder and the counter guard."""
