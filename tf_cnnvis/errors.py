"""The library's exceptions: one complete sentence that names the problem and the fix.

A message names the parameter at fault in backquotes, as the Python API calls it (``"pick
another `layer`"``); :meth:`VisualizationError.explain` puts another interface's names there
(the command line's flags).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_PARAMETER = re.compile(r"`(\w+)`")


class VisualizationError(Exception):
    """Base class: the message is a complete sentence that names the problem and the fix."""

    exit_code = 1

    def explain(self, names: Mapping[str, str]) -> str:
        """The message with each backquoted parameter named as ``names`` says (unknown ones
        lose their backquotes).

        Examples
        --------
        >>> UserError("pick another `layer`").explain({"layer": "--layer"})
        'pick another --layer'
        """
        return _PARAMETER.sub(lambda m: names.get(m[1], m[1]), str(self))


class UserError(VisualizationError):
    """A mistake in the caller's parameters, ``params.py`` or files (exit code 2)."""

    exit_code = 2


class FaultError(VisualizationError):
    """Something outside the caller's input failed: network, disk, a broken model (exit code 1)."""

    exit_code = 1
