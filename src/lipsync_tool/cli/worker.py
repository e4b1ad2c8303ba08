"""`lipsync-tool worker`: render processes joining a server's queue."""

from .serve import build_worker as build
from .serve import run_worker as run

__all__ = ["build", "run"]
