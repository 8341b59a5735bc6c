"""The one exception type users see, with its exit codes.

The CLI prints ``str(error)`` (one line, naming the file) and exits with ``error.exit_code``;
a traceback is shown only with ``--debug``.
"""

from __future__ import annotations

__all__ = ["RedframeError", "InputError", "OutputError", "UsageError", "ParameterError", "EXIT",
           "toml_problem"]

#: Exit codes, stable for scripts.
EXIT = {
    "ok": 0,
    "partial": 1,  # some inputs of a batch failed, others succeeded
    "usage": 2,  # bad command-line arguments or parameter files
    "input": 3,  # an input could not be read or decoded
    "output": 4,  # an output could not be written (exists, no space, permissions)
    "internal": 70,  # a bug: reported with a hint to re-run with --debug
}


class RedframeError(Exception):
    """An error meant for the user: a one-line message and an exit code."""

    exit_code = EXIT["internal"]

    def __init__(self, message: str, *, path: str | None = None):
        self.path = str(path) if path is not None else None
        self.message = message
        super().__init__(f"{self.path}: {message}" if self.path else message)


class InputError(RedframeError):
    """An input file is missing, unreadable, corrupt, truncated or of an unsupported kind."""

    exit_code = EXIT["input"]


class OutputError(RedframeError):
    """An output cannot be written (it exists without --overwrite, disk full, permissions)."""

    exit_code = EXIT["output"]


class UsageError(RedframeError):
    """A command-line value or a parameter file is not what was expected."""

    exit_code = EXIT["usage"]


class ParameterError(UsageError, ValueError):
    """A parameter is out of its range, of the wrong type or unknown; the message names the
    dotted key, the value and what is allowed (see :mod:`redframe.params`). Also a
    ``ValueError``, so code that validated by hand before keeps catching it."""

    def __init__(self, message: str, *, path: str | None = None, key: str | None = None,
                 value=None):
        self.key = key
        self.value = value
        super().__init__(message, path=path)


def toml_problem(exc: BaseException) -> str:
    """What is wrong with TOML text that ``tomllib.loads`` refused, in a few words: its own
    message for a syntax error, or which of Python's limits the text ran into (callers catch
    ``(ValueError, RecursionError)``: ``TOMLDecodeError`` is a ``ValueError``, and so is an
    integer of more than 4300 digits; nesting deeper than the recursion limit is the other)."""
    if isinstance(exc, RecursionError):
        return "arrays or tables nested too deeply"
    text = str(exc)
    if "integer string conversion" in text:
        return "an integer with more than 4300 digits"
    return text
