"""The sadtalker engine: upstream SadTalker in an isolated environment."""
