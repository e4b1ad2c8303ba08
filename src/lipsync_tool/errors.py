"""Typed errors raised by the library; the CLI turns them into one-line messages."""

from __future__ import annotations


class LipSyncError(Exception):
    """Base class of every error the library raises on purpose."""

    exit_code = 1


class InputError(LipSyncError):
    """A user input (file, option) is unusable; the message says how to fix it."""

    exit_code = 2


class ResourceError(LipSyncError):
    """A model file or other resource is missing, corrupt or cannot be fetched."""

    exit_code = 1


class EngineError(LipSyncError):
    """An engine failed while rendering."""

    exit_code = 1


class EngineUnavailableError(LipSyncError):
    """The chosen engine cannot run here (not implemented yet, or missing dependencies)."""

    exit_code = 2


class MediaError(LipSyncError):
    """ffmpeg or another media step failed; carries the tool's last stderr lines."""

    exit_code = 1


class Cancelled(LipSyncError):
    """The caller cancelled the render; nothing was written."""

    exit_code = 130


class RendererBusy(LipSyncError):
    """A Renderer was asked to render while it is rendering in another thread."""

    exit_code = 1
