"""The library's exceptions: one complete sentence that names the problem and the fix.

A message names the parameter at fault in backquotes, as the Python API calls it (``"pick
another `layer`"``); :meth:`VisualizationError.explain` puts another interface's names there
(the command line's flags).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_PARAMETER = re.compile(r"`(\w+)`")
# The longest error line the command line prints: beyond it, a line wraps into a paragraph.
LINE_LIMIT = 300
ELLIPSIS = "\u2026"


def fit_line(text: str, limit: int = LINE_LIMIT) -> str:
    """``text`` within ``limit`` characters: its longest words (paths, names, a quoted library
    message) shortened in the middle, keeping their start and end, then, if need be, its own
    middle cut, where a library's reason stands, so that the problem at its start and the fix
    at its end stay.

    Examples
    --------
    >>> fit_line("cannot read /data/" + "x" * 40 + "/model.pb; check it", 40)
    'cannot read /data/xxx…model.pb; check it'
    """
    words = text.split(" ")
    while len(" ".join(words)) > limit:
        longest = max(range(len(words)), key=lambda i: len(words[i]))
        word = words[longest]
        keep = len(word) - (len(" ".join(words)) - limit) - 1
        if keep < 16 or len(word) < 24:
            break
        words[longest] = word[: keep - keep // 2] + ELLIPSIS + word[len(word) - keep // 2 :]
    text = " ".join(words)
    if len(text) <= limit:
        return text
    head = (limit - 1) // 2
    return text[:head] + ELLIPSIS + text[len(text) - (limit - 1 - head) :]


_NOISE = re.compile(r"^(Graph execution error:?|Detected at node .*|File .*|\[\[.*)$")
_OP_TAG = re.compile(r"\s*(\[Op:[^\]]*\]|\[\[\{\{node [^}]*\}\}\]\])")


def library_reason(exc: BaseException, limit: int = 200) -> str:
    r"""The first sentence of what a library (TensorFlow, Keras) says in ``exc``, without its
    "Graph execution error", the traceback of the node it lists and its op tags, for the middle
    of a one-line error.

    Examples
    --------
    >>> library_reason(ValueError("Graph execution error:\n\nDetected at node add defined at:\n"
    ...     '  File "x.py", line 1\nIncompatible shapes: [2,7] vs. [2,8]\n\t [[{{node add}}]]'))
    'Incompatible shapes: [2,7] vs. [2,8]'
    >>> library_reason(LookupError("No gradient defined for operation 'u' (op type: Unique). "
    ...     "In general every operation must have one."))
    "No gradient defined for operation 'u' (op type: Unique)"
    """
    text = getattr(exc, "message", None) or str(exc)
    for raw in text.splitlines():
        line = raw.strip()
        if not line or raw[:1].isspace() or _NOISE.match(line):
            continue
        line = _OP_TAG.sub("", line).strip()
        sentence = re.split(r"(?<=[a-z0-9)\]'])\. (?=[A-Z])", line)[0].rstrip(".")
        return sentence if len(sentence) <= limit else sentence[: limit - 1] + ELLIPSIS
    return type(exc).__name__


class VisualizationError(Exception):
    """Base class: the message is a complete sentence that names the problem and the fix."""

    exit_code = 1

    def explain(self, names: Mapping[str, str]) -> str:
        """The message with each backquoted parameter named as ``names`` says (unknown ones
        lose their backquotes), as one line of at most :data:`LINE_LIMIT` characters
        (:func:`fit_line`).

        Examples
        --------
        >>> UserError("pick another `layer`").explain({"layer": "--layer"})
        'pick another --layer'
        """
        text = _PARAMETER.sub(lambda m: names.get(m[1], m[1]), str(self))
        return fit_line(" ".join(text.split()))


class UserError(VisualizationError):
    """A mistake in the caller's parameters, ``params.py`` or files (exit code 2)."""

    exit_code = 2


class FaultError(VisualizationError):
    """Something outside the caller's input failed: network, disk, a broken model (exit code 1)."""

    exit_code = 1
