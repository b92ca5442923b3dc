"""Errors that reach the user as one clear line.

Every problem caused by the user's input (a missing folder, a corrupt image, a stats file of the
wrong shape, too few images for a protocol) raises :class:`InputError` with a message that names the
offending file and says what to do. The CLI prints the message alone and exits with code 2.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad user input. The message is one line: what is wrong, where, and how to fix it."""

    exit_code = 2


def first_line(error: BaseException) -> str:
    """The first line of ``error``'s message (its type name when empty), for a one-line error."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
