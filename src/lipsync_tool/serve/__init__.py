"""`lipsync-tool serve`: an HTTP API and web app on a durable job queue.

The web process validates inputs, records jobs in the job table (`store`) and enqueues them
(`queue`); worker processes (`worker`) hold loaded Renderers and report back through the table.
Nothing renders in the web process. Everything here needs the `[serve]` extra.
"""
