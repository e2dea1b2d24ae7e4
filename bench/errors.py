"""Errors that reach the user as one line and exit code 2 (bad input, not a bug), and warnings."""
import sys
import warnings


class BenchError(Exception):
    """A usage or input error; the message names the problem and the file or option."""


class BenchWarning(UserWarning):
    """An input the harness repaired and the user should know about (e.g. sorted timestamps)."""


def print_warnings_as_one_line() -> None:
    """Show BenchWarnings as ``warning: <message>`` on stderr (the CLI's style); others as usual."""
    shown = warnings.showwarning
    if getattr(shown, "_bench", False):
        return

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, BenchWarning):
            print(f"warning: {message}", file=sys.stderr)
        else:
            shown(message, category, filename, lineno, file, line)

    show._bench = True
    warnings.showwarning = show
