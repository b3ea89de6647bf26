"""The one base of every error faqsearch raises on purpose, at the bottom of the import graph.

Torch-free and dependency-free: `models`, `indexing`, `eval`, `app` and `faqsearch` all import it.
Catch sites that show an error to a user (the CLI's one-line `error:`, the API's 4xx, "not ready")
catch `FaqsearchError`, never a bare `ValueError`: a ValueError from numpy or torch is a bug, to be
logged with its traceback, not a message about the user's input.

Most subclasses keep `ValueError` as a second base: library callers (and the tests) catch the
errors of a bad argument as ValueError, as before.
"""

from __future__ import annotations


class FaqsearchError(Exception):
    """An error of faqsearch's own: the message says what is wrong and what to change."""


class InvalidValueError(FaqsearchError, ValueError):
    """A value given by a user (a setting, a CLI option, a request field, an argument) that is not
    valid: a search mode, fusion, device, precision, thread count, index type, role, an empty corpus,
    an option combination; the message names the valid values or the fix."""


class PoolingError(InvalidValueError):
    """A pooling variant that is not valid: bad grammar, or deeper than the model."""


def public_message(exc: BaseException) -> str:
    """What a client may read of `exc`: an error's `public` text where it has one (a snapshot error's
    version, file name and fix, without the folders and library text the log gets), else its message."""
    return getattr(exc, "public", None) or str(exc)
