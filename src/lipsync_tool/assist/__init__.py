"""The assistant: a request in words turned into a checked render plan.

The model proposes; code decides what may be touched: files are those of the working folder
that the user names (`folder`, `mentions`), the plan's fields and values are those of
`RenderRequest` (`schema`).
"""
