"""The job: a table (pandas DataFrame or ``_Columns``) in, its columns
checked, KMeansSMOTE run on the features, the same table with the synthetic
rows appended out."""

import time
import warnings
from collections import Counter

from .._errors import NoClusterError
from .._progress import report_phases
from .errors import CLIError, _one_line
from .files import _Columns
from .progress import _Progress


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

    from .._kmeans_smote import KMeansSMOTE

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
    try:
        progress.phase("resampling")
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught, report_phases(progress.phase):
            # The fallbacks of no_cluster_policy and the like warn: the command
            # prints them as one line each instead of Python's two-line format.
            warnings.simplefilter("always")
            X_res, y_res = sampler.fit_resample(X, y)
        seconds = time.perf_counter() - start
    except NoClusterError as exc:
        raise CLIError(_one_line(exc) + " (command-line options: --kmeans-estimator, "
                       "--cluster-balance-threshold, --no-cluster-policy smote|relax)",
                       code=1) from None
    except (ValueError, TypeError) as exc:
        raise CLIError(_one_line(exc)) from None

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
