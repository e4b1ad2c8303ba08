"""Engines behind one interface; see `registry.ENGINES`."""
