"""API keys: who a caller is. Each key is an owner that sees only its own jobs."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from ..errors import InputError

LOCAL_OWNER = "local"
"""The one owner of a server started without keys (it listens on loopback only)."""
COOKIE = "lipsync_key"
"""The browser's login cookie, holding its key."""


class Keys:
    """The keys a server accepts; no keys means every caller is `LOCAL_OWNER`."""

    def __init__(self, keys: list[str]) -> None:
        self._keys = [key.encode() for key in keys]

    @classmethod
    def load(cls, path: Path | None) -> Keys:
        """One key a line; blank lines and lines starting with # are skipped."""
        if path is None:
            return cls([])
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise InputError(f"--api-keys-file {path}: cannot read it ({exc.strerror})") from exc
        keys = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
        short = [key for key in keys if len(key) < 16]
        if not keys:
            raise InputError(f"--api-keys-file {path} holds no key; put one key on each line")
        if short:
            raise InputError(
                f"--api-keys-file {path}: keys must be at least 16 characters; make them with "
                "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        return cls(keys)

    @property
    def required(self) -> bool:
        return bool(self._keys)

    def owner(self, key: str | None) -> str | None:
        """The owner `key` names, or None when it is not a key of ours.

        Every key is compared in constant time, and all of them, so timing says nothing of
        which key came close."""
        if not self._keys:
            return LOCAL_OWNER
        if not key:
            return None
        given = key.encode()
        match = False
        for candidate in self._keys:
            match |= hmac.compare_digest(candidate, given)
        return owner_id(key) if match else None


def owner_id(key: str) -> str:
    """The name a key's jobs are filed under: a digest, so the table never holds a key."""
    return hashlib.sha256(key.encode()).hexdigest()[:24]
