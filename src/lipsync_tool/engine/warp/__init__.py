"""The built-in, offline, CPU-only engine: a mesh warp of lips and jaw driven by speech."""
