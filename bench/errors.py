"""Errors that reach the user as one line and exit code 2 (bad input, not a bug)."""


class BenchError(Exception):
    """A usage or input error; the message names the problem and the file or option."""
