"""The ``kmsmote`` command (also ``python -m kmsmote``).

    kmsmote resample IN --target COL -o OUT [options]   resample a CSV or Parquet file
    kmsmote demo [--plot PNG]                           resample shipped data, draw it
    kmsmote demo --write-data FILE                      write the shipped data, to try resample
    kmsmote --version

Exit status: 0 on success; 1 when the resampling itself is impossible with
the parameters given (no cluster qualifies); 2 for bad usage or input (a file
that cannot be read, a missing column, non-numeric features, a bad option, a
file format this Python cannot read or write); 130 when interrupted.  Errors
are one line on stderr, never a traceback.

Every file's format is decided, and checked against what is installed,
before anything is read (``files._plan_files``): a missing pyarrow is an
error at startup, never CSV text written under a ``.parquet`` name.

The modules: ``options`` (the parser), ``files`` (formats and tables),
``table`` (one table resampled), ``progress``, ``commands`` and ``errors``;
docs/cli.md is the user's page.
"""

import os
import sys

from .commands import _cmd_demo, _cmd_resample
from .errors import CLIError
from .options import _parser

__all__ = ["main"]


class _ClosedPipeTolerant:
    """The report stream, which may be a pipe its reader closed early
    (``kmsmote resample ... | head``): the report then goes nowhere, and the
    resampling still runs to the end and writes its file."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text):
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._silence()
            return len(text)

    def flush(self):
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._silence()

    def isatty(self):
        return self._stream.isatty()

    def _silence(self):
        # Python flushes sys.stdout once more at exit: point its descriptor
        # at /dev/null so that flush cannot fail again.
        try:
            fd = self._stream.fileno()
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, fd)
            os.close(null)
        except (AttributeError, OSError, ValueError):
            pass
        self._stream = _Discard()


class _Discard:
    """A stream that writes nowhere (no file to leave open)."""

    def write(self, text):
        return len(text)

    def flush(self):
        pass

    def isatty(self):
        return False


def main(argv=None, out=None, err=None):
    """Entry point of the ``kmsmote`` command; returns the exit status."""
    out = _ClosedPipeTolerant(sys.stdout if out is None else out)
    err = sys.stderr if err is None else err
    parser = _parser(out, err)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    command = {"resample": _cmd_resample, "demo": _cmd_demo}[args.command]
    try:
        return command(args, out, err)
    except CLIError as exc:
        print(f"kmsmote {args.command}: error: {exc}", file=err)
        return exc.code
    except KeyboardInterrupt:
        print(f"kmsmote {args.command}: interrupted", file=err)
        return 130
