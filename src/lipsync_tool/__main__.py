"""`python -m lipsync_tool`."""

from .cli import main

raise SystemExit(main())
