"""What native libraries print on file descriptor 2, sent to a debug log instead of the terminal."""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def native_stderr_to_debug_log(log: logging.Logger, source: str) -> Iterator[None]:
    """For the duration, fd 2 goes to a temporary file whose lines are then logged at DEBUG,
    each prefixed with `source` (LiteRT's banner, ncnn's device listing)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            for line in sink.read().decode("utf-8", "replace").splitlines():
                log.debug("%s: %s", source, line)
