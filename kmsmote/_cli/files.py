"""Input and output: each file's format, decided and checked at startup
(``_plan_files``), and reading and writing tables.

With pandas, any CSV or Parquet file; without it, CSV only, read into typed
columns (int, float or text) by a small reader, ``_Columns``.  Every other
module of the command asks ``_have`` (looked up here, at call time) whether
an optional package is installed.
"""

import csv
import importlib.util
import math
import os

from .errors import CLIError, _one_line

_DATA_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data")
DEMO_DATA = os.path.join(_DATA_DIR, "breast_cancer_imbalanced.csv")
DEMO_TARGET = "diagnosis"

_FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
_COMPRESSION = (".gz", ".bz2", ".zip", ".xz", ".zst")


def _have(module):
    return importlib.util.find_spec(module) is not None


def _compression(path):
    name = os.path.basename(str(path)).lower()
    return next((suffix for suffix in _COMPRESSION if name.endswith(suffix)), None)


def _format_of(path, explicit=None, default=None, option=None):
    """``explicit``, else the format the name says, else ``default`` for a
    name without extension.

    A name whose extension is neither CSV nor Parquet (``out.xlsx``) is an
    error, not the default: it would be a file whose name lies about its
    content.  ``option`` is the option that gives the format explicitly.
    """
    if explicit:
        return explicit
    name = os.path.basename(str(path)).lower()
    suffix = _compression(path)
    if suffix:
        name = name[: -len(suffix)]
    ext = os.path.splitext(name)[1]
    if ext in _FORMATS:
        return _FORMATS[ext]
    if default and not ext:
        return default
    said = f"{ext!r} is neither .csv nor .parquet" if ext else "it has no extension"
    fix = f", or give {option} csv|parquet" if option else ""
    if default is None and option == "--format":
        raise CLIError(f"cannot tell the format of {str(path)!r} from its name ({said}): "
                       f"use a .csv or .parquet file{fix}")
    raise CLIError(f"cannot tell which format to write to {str(path)!r} ({said}): "
                   f"name it .csv or .parquet{fix}")


def _need_parquet(verb):
    if not _have("pandas") or not _have("pyarrow"):
        missing = " ".join(m for m in ("pandas", "pyarrow") if not _have(m))
        raise CLIError(f"{verb} Parquet needs pyarrow and pandas: pip install {missing}")
    try:
        import pandas  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError as exc:
        raise CLIError(f"{verb} Parquet needs pyarrow and pandas, which are installed but do "
                       f"not import: {_one_line(exc)}") from None


def _check_format(path, fmt, verb):
    """Raise CLIError unless this Python can ``verb`` ('reading' or 'writing')
    ``path`` as ``fmt``."""
    suffix = _compression(path)
    if fmt == "parquet":
        if suffix:
            raise CLIError(f"{str(path)!r}: a Parquet file is compressed inside, not as a "
                           f"whole: drop the {suffix!r} suffix (or decompress the file)")
        _need_parquet(verb)
    elif suffix and not _have("pandas"):
        article = "a" if verb == "reading" else "to a"
        raise CLIError(f"{verb} {article} compressed CSV file ({str(path)!r}) needs pandas: "
                       "pip install pandas")


def _check_writable(path):
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CLIError(f"cannot write {str(path)!r}: no folder {folder!r}")
    if os.path.isdir(path):
        raise CLIError(f"cannot write {str(path)!r}: it is a folder")


def _plan_files(args):
    """Every file the command reads or writes, as ``{role: (path, format)}``.

    Called first, before anything is read or resampled: every format is
    decided here and checked against what is installed, so that a missing
    pandas or pyarrow, an unknown extension or a missing folder stops the
    command at once with exit status 2 instead of after the work (or, worse,
    with CSV text under a ``.parquet`` name).
    """
    plan, outputs = {}, []
    if args.command == "resample":
        fmt_in = _format_of(args.input, args.format, option="--format")
        _check_format(args.input, fmt_in, "reading")
        plan["input"] = (args.input, fmt_in)
        outputs.append(("output", "-o", args.output,
                        _format_of(args.output, args.output_format, fmt_in, "--output-format")))
        if args.stats:
            outputs.append(("stats", "--stats", args.stats, _format_of(args.stats, None, "csv")))
    else:
        if args.output:
            outputs.append(("output", "-o", args.output,
                            _format_of(args.output, args.output_format, "csv",
                                       "--output-format")))
        if args.write_data:
            outputs.append(("data", "--write-data", args.write_data,
                            _format_of(args.write_data, None, "csv")))
        if args.plot and not args.write_data and _have("matplotlib"):
            from matplotlib.backend_bases import FigureCanvasBase

            ext = os.path.splitext(str(args.plot))[1].lower().lstrip(".")
            kinds = FigureCanvasBase.get_supported_filetypes()
            if ext not in kinds:
                raise CLIError(f"--plot {str(args.plot)!r}: matplotlib cannot tell the picture "
                               f"format from its name; end it with .{' .'.join(sorted(kinds))}")
            _check_writable(args.plot)
    seen = {os.path.abspath(args.input): "the input"} if "input" in plan else {}
    for role, option, path, fmt in outputs:
        _check_format(path, fmt, "writing")
        _check_writable(path)
        key = os.path.abspath(path)
        if key in seen:
            raise CLIError(f"{option} {str(path)!r} is also {seen[key]}: "
                           "give each file its own name")
        seen[key] = f"the {option} file"
        plan[role] = (path, fmt)
    return plan


class _Columns:
    """A table without pandas: column name -> 1-D NumPy array, in file order."""

    def __init__(self, columns):
        columns = list(columns)
        self.columns = [name for name, _ in columns]
        self.data = dict(columns)

    def __len__(self):
        return len(next(iter(self.data.values()))) if self.data else 0

    @staticmethod
    def _typed(values):
        import numpy as np

        present = [v for v in values if v.strip() != ""]
        try:
            ints = [int(v) for v in present]
        except ValueError:
            ints = None
        if ints is not None and len(present) == len(values) and present:
            return np.array(ints, dtype=np.int64)
        try:
            return np.array([float(v) if v.strip() != "" else np.nan for v in values],
                            dtype=np.float64)
        except ValueError:
            return np.array(values, dtype=object)

    @staticmethod
    def _plain_text(path, verb):
        if str(path).lower().endswith(_COMPRESSION):
            raise CLIError(
                f"{verb} a compressed CSV file ({path!r}) needs pandas: pip install pandas"
            )

    @classmethod
    def read_csv(cls, path, sep):
        cls._plain_text(path, "reading")
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh, delimiter=sep))
        if not rows or not any(cell.strip() for cell in rows[0]):
            raise CLIError(f"{path!r} is empty: expected a header line and rows")
        header, body = rows[0], [r for r in rows[1:] if r]
        for line, row in enumerate(body, start=2):
            if len(row) != len(header):
                raise CLIError(
                    f"cannot read {path!r}: line {line} has {len(row)} fields, "
                    f"the header has {len(header)}"
                )
        if len(set(header)) != len(header):
            dup = sorted({h for h in header if header.count(h) > 1})
            raise CLIError(f"cannot read {path!r}: duplicate column names {dup}")
        return cls([(name, cls._typed([r[j] for r in body])) for j, name in enumerate(header)])

    def write_csv(self, path, sep):
        import numpy as np

        self._plain_text(path, "writing")

        def cell(v):
            if isinstance(v, (float, np.floating)):
                return "" if math.isnan(v) else repr(float(v))
            if v is None:
                return ""
            return str(v)

        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, delimiter=sep, lineterminator="\n")
            writer.writerow(self.columns)
            arrays = [self.data[c] for c in self.columns]
            for i in range(len(self)):
                writer.writerow([cell(a[i]) for a in arrays])


def _read_table(path, fmt, sep):
    if not os.path.exists(path):
        raise CLIError(f"no such file: {path!r}")
    if os.path.isdir(path):
        raise CLIError(f"{path!r} is a folder, not a data file")
    if fmt == "parquet":
        _need_parquet("reading")
        import pandas as pd

        try:
            return pd.read_parquet(path, engine="pyarrow")
        except Exception as exc:  # any reader failure is a bad file to the user
            raise CLIError(f"cannot read {path!r} as Parquet: {_one_line(exc)}") from None
    try:
        if not _have("pandas"):
            return _Columns.read_csv(path, sep)
        import pandas as pd

        table = pd.read_csv(path, sep=sep)
    except CLIError:
        raise
    except UnicodeDecodeError:
        raise CLIError(f"cannot read {path!r} as CSV: it is not UTF-8 text") from None
    except Exception as exc:
        raise CLIError(f"cannot read {path!r} as CSV: {_one_line(exc)}") from None
    if table.columns.has_duplicates:
        raise CLIError(f"cannot read {path!r}: duplicate column names")
    dup = [c for c in table.columns if isinstance(c, str) and "." in c
           and c.rsplit(".", 1)[0] in table.columns and c.rsplit(".", 1)[1].isdigit()]
    if dup:
        # pandas renames a repeated header 'a' to 'a.1': refuse, as the reader without pandas does.
        raise CLIError(f"cannot read {path!r}: duplicate column names {sorted(dup)}")
    return table


def _write_table(table, path, fmt, sep):
    if fmt not in ("csv", "parquet"):
        raise CLIError(f"cannot write {str(path)!r}: unknown format {fmt!r}")
    try:
        if fmt == "csv" and isinstance(table, _Columns):
            table.write_csv(path, sep)
        elif isinstance(table, _Columns):
            # _plan_files stops this at startup; never write CSV under another name.
            _need_parquet("writing")
            raise CLIError(f"cannot write {str(path)!r} as Parquet without pandas")
        elif fmt == "parquet":
            _need_parquet("writing")
            table.to_parquet(path, engine="pyarrow", index=False)
        else:
            table.to_csv(path, sep=sep, index=False)
    except CLIError:
        raise
    except Exception as exc:
        raise CLIError(f"cannot write {path!r}: {_one_line(exc)}") from None

