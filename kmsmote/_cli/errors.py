"""The command's errors: a problem the user can fix, said in one line."""


class CLIError(Exception):
    """A problem the user can fix; printed as one line, exit status ``code``."""

    def __init__(self, message, code=2):
        super().__init__(message)
        self.code = code


def _one_line(exc):
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
