"""Exceptions that the command line turns into one clear line and an exit code."""

from __future__ import annotations


class VisualizationError(Exception):
    """Base class: the message is a complete sentence that names the problem and the fix."""

    exit_code = 1


class UserError(VisualizationError):
    """A mistake in the user's flags, ``params.py`` or files (exit code 2)."""

    exit_code = 2


class FaultError(VisualizationError):
    """Something outside the user's input failed: network, disk, a broken model (exit code 1)."""

    exit_code = 1
