"""The control plane's own error: a problem the caller can fix (a state
directory that cannot be opened or read, a function mapping that cannot be
used). ``framer.cli`` prints it as one line; ``StateDirBusy`` is one kind."""

from __future__ import annotations

__all__ = ["ControlPlaneError"]


class ControlPlaneError(Exception):
    """A problem with what the caller gave the control plane; the message names it."""
