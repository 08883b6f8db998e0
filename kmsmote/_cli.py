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
before anything is read (``_plan_files``): a missing pyarrow is an error at
startup, never CSV text written under a ``.parquet`` name.
"""

import argparse
import csv
import importlib.util
import json
import math
import os
import sys
import shutil
import threading
import time
import warnings
from collections import Counter

_DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
DEMO_DATA = os.path.join(_DATA_DIR, "breast_cancer_imbalanced.csv")
DEMO_TARGET = "diagnosis"

_SAMPLING_WORDS = ("auto", "minority", "not minority", "not majority", "all")
_FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
_COMPRESSION = (".gz", ".bz2", ".zip", ".xz", ".zst")


class CLIError(Exception):
    """A problem the user can fix; printed as one line, exit status ``code``."""

    def __init__(self, message, code=2):
        super().__init__(message)
        self.code = code


def _one_line(exc):
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _have(module):
    return importlib.util.find_spec(module) is not None


# ---------------------------------------------------------------------------
# Option values.


def _sampling_strategy(text):
    """'auto' and the other words, a float in (0, 1], or a dict of class -> count.

    Dicts are written ``a:100,b:250`` (or ``a=100``) or as a JSON object;
    class names stay strings here and are matched to the target's classes
    once the data is read.
    """
    words = " ".join(text.strip().lower().replace("-", " ").replace("_", " ").split())
    if words in _SAMPLING_WORDS:
        return words
    try:
        value = float(text)
    except ValueError:
        pass
    else:
        if not 0 < value <= 1:
            raise argparse.ArgumentTypeError(
                f"a float sampling strategy is the minority/majority ratio to reach, "
                f"in (0, 1]; got {text}"
            )
        return value
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            pairs = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise argparse.ArgumentTypeError(f"not a JSON object: {exc.msg}") from None
        if not isinstance(pairs, dict):
            raise argparse.ArgumentTypeError("expected a JSON object {class: count}")
        items = [(str(k), v) for k, v in pairs.items()]
    else:
        items = []
        for part in stripped.split(","):
            sep = ":" if ":" in part else "="
            key, found, count = part.rpartition(sep)
            if not found or not key.strip():
                raise argparse.ArgumentTypeError(
                    f"expected one of {', '.join(_SAMPLING_WORDS)}, a float in (0, 1], "
                    f"or class:count pairs such as 'a:100,b:250'; got {text!r}"
                )
            items.append((key.strip(), count.strip()))
    strategy = {}
    for key, count in items:
        try:
            number = int(count)
        except (TypeError, ValueError):
            number = None
        if number is None or number < 0 or str(count).strip() not in (str(number), f"{number}.0"):
            raise argparse.ArgumentTypeError(
                f"the count of class {key!r} must be a non-negative integer; got {count!r}"
            )
        strategy[key] = number
    return strategy


def _auto_or_float(text):
    if text.strip().lower() == "auto":
        return "auto"
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'auto' or a number; got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number; got {text!r}")
    return value


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}")
    return value


def _seed(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer seed; got {text!r}") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"a seed must be in [0, 2**32); got {text!r}")
    return value


def _exponent(text):
    if text.strip().lower().replace("-", "_") == "n_features":
        return "n_features"
    try:
        return _auto_or_float(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected 'auto', 'n_features' or a number; got {text!r}") from None


def _word(text):
    """A choice written with dashes or underscores, in any case: reduce-k == reduce_k."""
    return text.strip().lower().replace("-", "_")


def _n_jobs(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer; got {text!r}") from None
    if value == 0:
        raise argparse.ArgumentTypeError("0 threads has no meaning; use -1 for all cores")
    return value


# ---------------------------------------------------------------------------
# Files.  With pandas, any CSV or Parquet file; without it, CSV only, read
# into typed columns (int, float or text) by a small reader below.


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


# ---------------------------------------------------------------------------
# Progress: one line on stderr, redrawn by a thread, only on a terminal.
# Phases: reading, then the estimator's own (clustering, neighbours,
# generation, reported through its _phase_callback), then writing.


class _Progress:
    """Current phase, a spinner and the elapsed time, on one line of ``stream``."""

    _FRAMES = "|/-\\"

    def __init__(self, stream, enabled):
        self.stream = stream
        self.enabled = enabled
        self.phase_name = None
        self.start = self.phase_start = time.perf_counter()
        self.timings = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._drawn = False
        self._thread = None
        if enabled:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()

    def phase(self, name):
        now = time.perf_counter()
        with self._lock:
            if self.phase_name is not None:
                self.timings.append((self.phase_name, now - self.phase_start))
            self.phase_name, self.phase_start = name, now

    def _run(self):
        frame = 0
        # Short runs finish before anything is drawn.
        if self._stop.wait(0.3):
            return
        while not self._stop.is_set():
            with self._lock:
                now = time.perf_counter()
                if self.phase_name is not None:
                    line = (f"\r{self._FRAMES[frame % 4]} {self.phase_name} "
                            f"{now - self.phase_start:5.1f} s  (total {now - self.start:.1f} s)")
                    self.stream.write(line + "\033[K")
                    self.stream.flush()
                    self._drawn = True
            frame += 1
            self._stop.wait(0.1)

    def close(self):
        self.phase(None)
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            if self._drawn:
                self.stream.write("\r\033[K")
                self.stream.flush()


# ---------------------------------------------------------------------------
# The job.


def _is_pandas(table):
    return not isinstance(table, _Columns)


def _column(table, name):
    return table[name] if _is_pandas(table) else table.data[name]


def _is_numeric(table, name):
    dtype = _column(table, name).dtype
    if _is_pandas(table):
        import pandas as pd

        return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    return dtype.kind in "iuf"


def _has_missing(table, name):
    import numpy as np

    col = _column(table, name)
    if _is_pandas(table):
        return bool(col.isna().any())
    if col.dtype.kind == "f":
        return bool(np.isnan(col).any())
    # The reader without pandas keeps an empty text cell as "": pandas reads it as missing.
    return col.dtype == object and any(str(v).strip() == "" for v in col)


def _feature_problems(table, features):
    """(non-numeric columns with dtypes, columns with missing values)."""
    bad, missing = [], []
    for name in features:
        if not _is_numeric(table, name):
            bad.append(f"{name!r} ({_column(table, name).dtype})")
        elif _has_missing(table, name):
            missing.append(repr(name))
    return bad, missing


def _categorical_columns(table, features, requested):
    """The feature columns ``--categorical`` names, in file order.

    ``auto`` stands for every non-numeric feature column (text, boolean,
    category); it can be given with names, e.g. integer codes.
    """
    requested = list(requested or ())
    chosen = set()
    for name in requested:
        if name == "auto":
            chosen.update(c for c in features if not _is_numeric(table, c))
        elif name in features:
            chosen.add(name)
        elif name not in table.columns:
            raise CLIError(f"--categorical: no column {name!r} in the data")
        else:  # the target or an --exclude'd column
            raise CLIError(f"--categorical: column {name!r} is not a feature (it is the "
                           "target or --exclude'd)")
    categorical = [c for c in features if c in chosen]
    missing = [repr(c) for c in categorical if _has_missing(table, c)]
    if missing:
        raise CLIError(
            f"missing values in categorical column(s) {', '.join(missing)}: fill them with "
            "a category of their own or drop those rows first, or --exclude the column"
        )
    return categorical


def _match_strategy(strategy, classes, target):
    """Turn the string keys of a dict strategy into the target's class values."""
    if not isinstance(strategy, dict):
        return strategy
    by_text = {}
    for cls in classes:
        by_text.setdefault(str(cls), cls)
        if isinstance(cls, float) and cls.is_integer():
            by_text.setdefault(str(int(cls)), cls)
    matched = {}
    for key, count in strategy.items():
        if key not in by_text:
            shown = ", ".join(str(c) for c in classes[:20])
            raise CLIError(
                f"--sampling-strategy names class {key!r}, which is not in column "
                f"{target!r} (classes: {shown})"
            )
        matched[by_text[key]] = count
    return matched


def _nullable(series, n_new):
    """``series`` followed by ``n_new`` missing values, keeping its kind of dtype.

    NumPy integer and boolean columns cannot hold a missing value: they become
    pandas' nullable ``Int64``/``UInt8``/... and ``boolean``.
    """
    import pandas as pd

    dtype = series.dtype
    if not isinstance(dtype, pd.api.extensions.ExtensionDtype):
        if dtype.kind == "b":
            series = series.astype("boolean")
        elif dtype.kind in "iu":
            series = series.astype(f"{'UInt' if dtype.kind == 'u' else 'Int'}{dtype.itemsize * 8}")
    tail = pd.Series(pd.array([None] * n_new, dtype=series.dtype))
    return pd.concat([series.reset_index(drop=True), tail], ignore_index=True)


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def _counts(y):
    import numpy as np

    values = np.asarray(y)
    return {_plain(k): int(v) for k, v in sorted(Counter(values.tolist()).items(),
                                                 key=lambda kv: (str(type(kv[0])), kv[0]))}


def resample_table(table, target, *, exclude=(), mark=None, categorical=(), params,
                   progress=None):
    """Resample ``table`` (pandas DataFrame or _Columns); return a result dict.

    The dict has the output table (same columns, same order, same dtypes;
    excluded columns are missing on synthetic rows), the fitted sampler,
    the class counts before and after, the features before and after, and
    the estimator's warnings as one-line texts.  ``categorical`` lists
    columns (or ``"auto"``) for SMOTE-NC.
    """
    import numpy as np

    from ._kmeans_smote import KMeansSMOTE

    columns = list(table.columns)
    if target not in columns:
        shown = ", ".join(repr(c) for c in columns[:12]) + (", ..." if len(columns) > 12 else "")
        raise CLIError(f"no column {target!r} in the data (columns: {shown})")
    unknown = [c for c in exclude if c not in columns]
    if unknown:
        raise CLIError(f"--exclude: no column {unknown[0]!r} in the data")
    if target in exclude:
        raise CLIError(f"--exclude: {target!r} is the target column")
    if mark is not None and mark in columns:
        raise CLIError(f"--mark-synthetic: the data already has a column {mark!r}")
    features = [c for c in columns if c != target and c not in exclude]
    if not features:
        raise CLIError("no feature columns left: every column is the target or excluded")
    if len(table) == 0:
        raise CLIError("the data has a header but no rows")
    categorical = _categorical_columns(table, features, categorical)
    bad, missing = _feature_problems(table, [c for c in features if c not in categorical])
    if bad:
        raise CLIError(
            f"non-numeric feature column(s) {', '.join(bad)}: SMOTE interpolates "
            "numbers; pass --categorical COL (or --categorical auto) to treat a column as "
            "categories, or --exclude COL to carry it through unchanged"
        )
    if missing:
        raise CLIError(
            f"missing values in feature column(s) {', '.join(missing)}: drop or impute "
            "those rows first, or --exclude the column"
        )
    if _is_pandas(table):
        X, y = table[features], table[target]
        if y.isna().any():
            raise CLIError(f"target column {target!r} has missing values: every row needs a class")
        categorical_features = categorical or None
    else:
        y = table.data[target]
        empty = y.dtype == object and any(v.strip() == "" for v in y)
        if empty or (y.dtype.kind == "f" and np.isnan(y).any()):
            raise CLIError(f"target column {target!r} has missing values: every row needs a class")
        cols = [table.data[c] for c in features]
        kinds = {c.dtype.kind for c in cols}
        if categorical:
            # Text categories and numbers side by side: an object array, as a
            # DataFrame of mixed columns becomes inside the estimator.
            X = np.empty((len(table), len(features)), dtype=object)
            for j, col in enumerate(cols):
                X[:, j] = col
            categorical_features = [features.index(c) for c in categorical]
        else:
            X = np.column_stack(cols).astype(np.int64 if kinds == {"i"} else np.float64)
            categorical_features = None
    classes = sorted(set(np.asarray(y).tolist()), key=lambda c: (str(type(c)), c))
    if len(classes) < 2:
        raise CLIError(f"target column {target!r} has a single class ({classes[0]!r}): "
                       "nothing to balance")

    params = dict(params)
    params["sampling_strategy"] = _match_strategy(params["sampling_strategy"], classes, target)
    n_clusters = params.pop("kmeans_estimator") or 8
    clusterer = params.pop("clusterer", "kmsmote")
    if clusterer == "minibatch":
        from sklearn.cluster import MiniBatchKMeans

        params["kmeans_estimator"] = MiniBatchKMeans(
            n_clusters=n_clusters, random_state=params["random_state"])
    else:
        params["kmeans_estimator"] = n_clusters
    params["categorical_features"] = categorical_features
    sampler = KMeansSMOTE(**params)

    progress = progress or _Progress(None, False)
    sampler._phase_callback = progress.phase
    try:
        progress.phase("resampling")
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            # The fallbacks of no_cluster_policy and the like warn: the command
            # prints them as one line each instead of Python's two-line format.
            warnings.simplefilter("always")
            X_res, y_res = sampler.fit_resample(X, y)
        seconds = time.perf_counter() - start
    except RuntimeError as exc:
        if str(exc).startswith("No clusters found"):
            raise CLIError(_one_line(exc) + " (command-line options: --kmeans-estimator, "
                           "--cluster-balance-threshold, --no-cluster-policy smote|relax)",
                           code=1) from None
        raise
    except (ValueError, TypeError) as exc:
        raise CLIError(_one_line(exc)) from None
    finally:
        sampler._phase_callback = None

    n, n_new = len(table), X_res.shape[0] - len(table)
    if _is_pandas(table):
        import pandas as pd

        parts = {}
        for c in columns:
            if c == target:
                parts[c] = y_res.reset_index(drop=True)
            elif c in exclude:
                parts[c] = _nullable(table[c], n_new)
            else:
                parts[c] = X_res[c].reset_index(drop=True)
        out = pd.DataFrame(parts)
        if mark is not None:
            out[mark] = np.arange(n + n_new) >= n
    else:
        data = []
        for c in columns:
            if c == target:
                data.append((c, np.asarray(y_res)))
            elif c in exclude:
                # Object column: ints stay ints, synthetic rows are empty cells.
                fill = np.full(n_new, None, dtype=object)
                data.append((c, np.concatenate([table.data[c].astype(object), fill])))
            else:
                j = features.index(c)
                col = X_res[:, j]
                data.append((c, col.astype(table.data[c].dtype)))
        if mark is not None:
            data.append((mark, np.arange(n + n_new) >= n))
        out = _Columns(data)
    return {
        "table": out, "sampler": sampler, "features": features,
        "before": _counts(y), "after": _counts(y_res),
        "X": X, "y": y, "X_res": X_res, "y_res": y_res, "seconds": seconds,
        "categorical": categorical,
        "warnings": list(dict.fromkeys(_one_line(w.message) for w in caught)),
    }


# ---------------------------------------------------------------------------
# Summary.

_MAX_ROWS = 24


def _summary(stats, before, after, out, verbose=False):
    print("class counts before:", before, file=out)
    print("class counts after: ", after, file=out)
    by_class = {}
    for r in stats:
        by_class.setdefault(_plain(r["class"]), []).append(r)
    for cls, records in by_class.items():
        kept = [r for r in records if r["kept"]]
        new = sum(r["n_generated"] for r in kept)
        per = ", ".join(f"{r['cluster']}: {r['n_generated']}" for r in kept)
        print(f"class {cls}: {len(kept)} of {len(records)} non-empty clusters kept, "
              f"{new} new samples (per cluster {per})", file=out)
    shown = stats if verbose or len(stats) <= _MAX_ROWS else [r for r in stats if r["kept"]]
    if not shown:
        return
    width = max(5, *(len(str(_plain(r["class"]))) for r in shown))
    print(f"{'class':>{width}} {'cluster':>7} {'size':>6} {'fraction':>8} {'kept':>5} "
          f"{'weight':>8} {'new':>6}  reason", file=out)
    for r in shown:
        print(f"{str(_plain(r['class'])):>{width}} {r['cluster']:>7} {r['size']:>6} "
              f"{r['class_fraction']:>8.3f} {('yes' if r['kept'] else 'no'):>5} "
              f"{r['weight']:>8.3g} {r['n_generated']:>6}  {r['reason']}", file=out)
    if len(shown) < len(stats):
        print(f"({len(stats) - len(shown)} clusters not kept are not listed: "
              "--verbose lists them, --stats FILE writes every record)", file=out)


def _write_stats(sampler, path, fmt, sep):
    from ._diagnostics import REPORT_COLUMNS, cluster_report

    if _have("pandas"):
        table = cluster_report(sampler, as_frame=True)
    else:
        import numpy as np

        report = cluster_report(sampler, as_frame=False)
        table = _Columns([(c, np.asarray(report[c])) for c in REPORT_COLUMNS])
    _write_table(table, path, fmt, sep)


def _warn(command, messages, err):
    for message in messages:
        print(f"kmsmote {command}: warning: {message}", file=err)


# ---------------------------------------------------------------------------
# Commands.


def _seed_or_draw(args):
    if args.random_state is None:
        # A drawn seed, printed, is one the user can repeat.
        seed = args.random_state = int.from_bytes(os.urandom(4), "little") >> 1
        return f"random_state={seed} (drawn; --random-state {seed} repeats this run)"
    return f"random_state={args.random_state}"


def _cmd_resample(args, out, err):
    files = _plan_files(args)
    fmt_in, fmt_out = files["input"][1], files["output"][1]
    seed_note = _seed_or_draw(args)
    progress = _Progress(err, enabled=not args.quiet and err.isatty())
    try:
        progress.phase("reading")
        table = _read_table(args.input, fmt_in, args.sep)
        result = resample_table(
            table, args.target, exclude=args.exclude, mark=args.mark_synthetic,
            categorical=args.categorical, params=_estimator_params(args), progress=progress,
        )
        progress.phase("writing")
        _write_table(result["table"], args.output, fmt_out, args.sep)
        if args.stats:
            _write_stats(result["sampler"], args.stats, files["stats"][1], args.sep)
    finally:
        progress.close()
    if args.quiet:
        return 0
    _warn("resample", result["warnings"], err)
    n, n_out = len(table), len(result["table"])
    k = result["sampler"].kmeans_estimator_.n_clusters
    categorical = result["categorical"]
    print(f"kmsmote resample: {args.input} -> {args.output} ({fmt_out}); target "
          f"{args.target!r}, {len(result['features'])} features"
          + (f" ({len(categorical)} categorical: {', '.join(categorical)})" if categorical
             else "")
          + f", {k} clusters, {seed_note}", file=out)
    _summary(result["sampler"].cluster_stats_, result["before"], result["after"], out,
             verbose=args.verbose)
    print(f"wrote {n_out} rows ({n} original + {n_out - n} synthetic); resampling took "
          f"{result['seconds']:.2f} s"
          + (f"; cluster records in {args.stats}" if args.stats else ""), file=out)
    return 0


def _write_demo_data(path, fmt, out):
    if fmt == "csv" and not _compression(path):
        try:
            shutil.copyfile(DEMO_DATA, path)
        except OSError as exc:
            raise CLIError(f"cannot write {str(path)!r}: {_one_line(exc)}") from None
    else:
        _write_table(_read_table(DEMO_DATA, "csv", ","), path, fmt, ",")
    print(f"wrote the demo data to {path}: 397 rows (breast cancer, Wisconsin diagnostic), "
          f"30 numeric features and the class column {DEMO_TARGET!r} (benign 357, "
          f"malignant 40). Try: kmsmote resample {path} --target {DEMO_TARGET} "
          "-o balanced.csv", file=out)
    return 0


def _cmd_demo(args, out, err):
    import numpy as np

    files = _plan_files(args)
    if args.write_data:
        return _write_demo_data(args.write_data, files["data"][1], out)
    progress = _Progress(err, enabled=not args.quiet and err.isatty())
    try:
        progress.phase("reading")
        table = _read_table(DEMO_DATA, "csv", ",")
        params = {
            "sampling_strategy": "auto", "random_state": args.random_state,
            "k_neighbors": 2, "n_jobs": None, "kmeans_estimator": args.kmeans_estimator,
            "cluster_balance_threshold": "auto", "density_exponent": "auto",
            "allocation": "ceil",
        }
        result = resample_table(table, DEMO_TARGET, params=params, progress=progress)
        if args.output:
            progress.phase("writing")
            _write_table(result["table"], args.output, files["output"][1], ",")
        picture = None
        if args.plot and _have("matplotlib"):
            progress.phase("drawing")
            from ._diagnostics import plot_clusters

            fig = plot_clusters(
                result["sampler"], result["X_res"], result["y_res"],
                title="kmsmote demo: breast cancer (Wisconsin), malignant 10 % minority",
            )
            try:
                fig.savefig(args.plot, dpi=110)
            except Exception as exc:
                raise CLIError(f"cannot write {args.plot!r}: {_one_line(exc)}") from None
            picture = args.plot
    finally:
        progress.close()
    if not args.quiet:
        _warn("demo", result["warnings"], err)
    sampler = result["sampler"]
    n_features = len(result["features"])
    print(f"kmsmote demo: breast cancer (Wisconsin diagnostic; {len(table)} rows x "
          f"{n_features} features, made imbalanced), target {DEMO_TARGET!r}, "
          f"{sampler.kmeans_estimator_.n_clusters} clusters, random_state={args.random_state}",
          file=out)
    _summary(sampler.cluster_stats_, result["before"], result["after"], out)
    X, X_res = np.asarray(result["X"]), np.asarray(result["X_res"])
    print(f"resampled {len(X)} -> {len(X_res)} rows in {result['seconds'] * 1e3:.0f} ms; "
          f"original rows unchanged: {bool(np.array_equal(X_res[: len(X)], X))}", file=out)
    if args.output:
        print(f"wrote the resampled data to {args.output}", file=out)
    if picture:
        print(f"picture: {picture} (2-D PCA, coloured by cluster, synthetic rows as crosses)",
              file=out)
    elif args.plot:
        print("no picture: matplotlib is not installed. pip install matplotlib "
              "(or pip install \"kmsmote[plot]\"; from a clone, pip install \".[plot]\") "
              f"and run kmsmote demo again to get {args.plot}.", file=out)
    return 0


# ---------------------------------------------------------------------------
# Options.  Every KMeansSMOTE parameter a table user can set, in one place:
# (parameter, argparse keywords).  kmeans_estimator is a number of clusters
# here and clusterer picks its kind; categorical_features is --categorical,
# with the column options.

_ESTIMATOR_OPTIONS = (
    ("sampling_strategy", dict(
        type=_sampling_strategy, default="auto", metavar="S",
        help="auto | minority | 'not minority' | 'not majority' | all | a float in (0, 1] "
             "(binary targets) | the count wanted per class after resampling, "
             "'a:500,b:300' or a JSON object (default: auto)")),
    ("random_state", dict(type=_seed, default=None, metavar="N",
                          help="seed; without it one is drawn and printed")),
    ("k_neighbors", dict(type=_positive_int, default=2, metavar="K",
                         help="same-class neighbours to interpolate with (default: 2)")),
    ("n_jobs", dict(type=_n_jobs, default=None, metavar="N",
                    help="threads (-1: all cores; default: OpenMP's); results do not "
                         "depend on it")),
    ("kmeans_estimator", dict(type=_positive_int, default=None, metavar="K",
                              help="number of clusters (default: 8)")),
    ("clusterer", dict(type=_word, choices=("kmsmote", "minibatch"), default="kmsmote",
                       help="kmsmote.KMeans (default), or scikit-learn's MiniBatchKMeans, "
                            "which gives imbalanced-learn's exact output")),
    ("cluster_balance_threshold", dict(type=_auto_or_float, default="auto", metavar="T",
                                       help="auto or a float (default: auto)")),
    ("density_exponent", dict(type=_exponent, default="auto", metavar="E",
                              help="auto | n_features (the paper's) | a float "
                                   "(default: auto)")),
    ("allocation", dict(type=_word, choices=("ceil", "exact"), default="ceil",
                        help="ceil: imbalanced-learn's rounding; exact: exactly the counts "
                             "asked (default: ceil)")),
    ("no_cluster_policy", dict(
        type=_word, choices=("raise", "smote", "relax"), default="raise",
        help="when no cluster qualifies for a class: raise (exit status 1, the reference's "
             "behaviour), smote (plain SMOTE over the whole class) or relax (lower the "
             "threshold to the best cluster) (default: raise)")),
    ("small_clusters", dict(
        type=_word, choices=("skip", "reduce_k", "reduce_k_duplicate"), default="skip",
        help="clusters with fewer than K+1 class samples: skip them, reduce_k (keep them "
             "with fewer neighbours) or reduce_k_duplicate (also copy single samples) "
             "(default: skip)")),
    ("cluster_filter", dict(
        type=_word, choices=("fraction", "imbalance_ratio"), default="fraction",
        help="the rule that keeps a cluster: the class fraction above the threshold, or "
             "the paper's imbalance ratio below it (default: fraction)")),
)


def _estimator_params(args):
    return {name: getattr(args, name) for name, _ in _ESTIMATOR_OPTIONS}


def _add_estimator_options(p):
    g = p.add_argument_group("KMeansSMOTE parameters (see help(kmsmote.KMeansSMOTE))")
    for name, keywords in _ESTIMATOR_OPTIONS:
        g.add_argument("--" + name.replace("_", "-"), dest=name, **keywords)


class _Parser(argparse.ArgumentParser):
    """argparse, writing to the streams given to :func:`main`."""

    out = err = None

    def _print_message(self, message, file=None):
        if not message:
            return
        if file is None or file is sys.stdout:
            file = self.out or sys.stdout
        else:
            file = self.err or sys.stderr
        file.write(message)

    def error(self, message):
        # One line, like every other error of the command; --help has the usage.
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parser(out, err):
    from . import __version__

    parser = _Parser(
        prog="kmsmote",
        description="Cluster-aware SMOTE oversampling (KMeans-SMOTE), compiled.",
        epilog="Exit status: 0 ok; 1 resampling impossible with these parameters "
               "(no cluster qualifies); 2 bad usage or input; 130 interrupted.",
    )
    parser.out, parser.err = out, err
    parser.add_argument("--version", action="version", version=f"kmsmote {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    r = sub.add_parser(
        "resample", help="resample a CSV or Parquet file",
        description="Read a table, over-sample its classes with KMeans-SMOTE and write "
                    "the original rows followed by the synthetic rows, in the same format.",
    )
    r.out, r.err = out, err
    r.add_argument("input", metavar="IN", help="a .csv or .parquet file (.csv.gz etc. with pandas)")
    r.add_argument("--target", required=True, metavar="COL", help="the class column")
    r.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="output file: .csv or .parquet (.csv.gz etc. with pandas); a name "
                        "without extension gets the format of IN")
    r.add_argument("--exclude", action="append", default=[], metavar="COL",
                   help="a column to carry through unchanged instead of using it as a "
                        "feature (repeatable); synthetic rows get missing values there")
    r.add_argument("--categorical", action="append", default=[], metavar="COL",
                   help="a feature column of categories (text, boolean or codes; "
                        "repeatable): SMOTE-NC, synthetic rows take a category of their "
                        "neighbours. 'auto': every text and boolean feature column")
    r.add_argument("--mark-synthetic", metavar="COL", default=None,
                   help="add a boolean column COL, true on synthetic rows")
    r.add_argument("--format", type=_word, choices=("csv", "parquet"), default=None,
                   help="format of IN when its name does not say")
    r.add_argument("--output-format", type=_word, choices=("csv", "parquet"), default=None,
                   help="format of OUT when its name does not say")
    r.add_argument("--sep", default=",", help="CSV field separator (default: ,)")
    r.add_argument("--stats", metavar="FILE", default=None,
                   help="also write the per-cluster records (kmsmote.cluster_report) to "
                        "FILE, .csv or .parquet (CSV without extension)")
    r.add_argument("-v", "--verbose", action="store_true",
                   help="list every cluster, not only the kept ones, in large tables")
    r.add_argument("-q", "--quiet", action="store_true",
                   help="print nothing but errors (no progress, summary or warnings)")
    _add_estimator_options(r)

    d = sub.add_parser(
        "demo", help="resample shipped data, print what happened and draw it",
        description="Resample the shipped breast-cancer data (malignant: 10 % minority), "
                    "print the summary and draw the clusters to a PNG (needs matplotlib).",
    )
    d.out, d.err = out, err
    d.add_argument("--plot", default="kmsmote-demo.png", metavar="PNG",
                   help="picture to write (default: kmsmote-demo.png)")
    d.add_argument("--no-plot", dest="plot", action="store_const", const=None,
                   help="do not draw")
    files = d.add_mutually_exclusive_group()
    files.add_argument("-o", "--output", default=None, metavar="OUT",
                       help="also write the resampled data (.csv or .parquet)")
    files.add_argument("--write-data", default=None, metavar="FILE",
                       help="write the demo's input data (397 rows, class column "
                            f"{DEMO_TARGET!r}) to FILE, .csv or .parquet, and stop: a real "
                            "file to try kmsmote resample on")
    d.add_argument("--output-format", type=_word, choices=("csv", "parquet"), default=None,
                   help="format of OUT when its name does not say")
    d.add_argument("--kmeans-estimator", type=_positive_int, default=None, metavar="K",
                   help="number of clusters (default: 8)")
    d.add_argument("--random-state", type=_seed, default=42, metavar="N",
                   help="seed (default: 42)")
    d.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    return parser


def main(argv=None, out=None, err=None):
    """Entry point of the ``kmsmote`` command; returns the exit status."""
    out = sys.stdout if out is None else out
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
