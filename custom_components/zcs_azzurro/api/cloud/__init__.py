"""Clients of the ZCS clouds: aiohttp, session injected, no Home Assistant."""
