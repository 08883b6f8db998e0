"""Input checks, following imbalanced-learn's rules."""

import math
import numbers

import numpy as np
from sklearn.base import clone
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import assert_all_finite
from sklearn.utils.validation import check_array, check_X_y, validate_data

from . import _generate
from ._sampling_strategy import check_target_type
from ._threading import resolve_n_threads


_PLAIN_PARAMS = {"accept_sparse", "dtype", "order", "ensure_all_finite", "estimator"}


def _plain_float_rows(X, y, check_params):
    """True when check_X_y / check_array would hand X and y back unchanged:
    a C-contiguous 2-D float32/float64 ndarray with rows and columns, a 1-D
    integer y of the same length (or none), and only the checks below."""
    if type(X) is not np.ndarray or X.dtype not in (np.float32, np.float64):
        return False
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1 or not X.flags.c_contiguous:
        return False
    if not set(check_params) <= _PLAIN_PARAMS or check_params.get("order") not in (None, "C"):
        return False
    dtype = check_params.get("dtype", "numeric")
    if not (dtype in (None, "numeric") or (isinstance(dtype, (list, tuple)) and X.dtype in dtype)):
        return False
    return y is None or (type(y) is np.ndarray and y.ndim == 1 and y.dtype.kind in "biu"
                         and y.shape[0] == X.shape[0])


def validate_fit_data(estimator, X, y=None, **check_params):
    """``validate_data(estimator, X, y, reset=True, **check_params)``.

    A NumPy array has no feature names, so for one the name lookup is
    skipped; a plain float array with integer labels (_plain_float_rows)
    skips check_array too, which would give them back unchanged: both ask
    the dataframe libraries' plugins whether X is theirs, which loads the
    plugins on a process's first call (10-15 ms).  The same checks (the
    finiteness one with scikit-learn's message), the same
    ``n_features_in_``, and ``feature_names_in_`` removed as scikit-learn
    removes it.
    """
    if not isinstance(X, np.ndarray):
        return validate_data(estimator, X=X, y=y, reset=True, **check_params)
    if _plain_float_rows(X, y, check_params):
        if check_params.get("ensure_all_finite", True):
            with np.errstate(over="ignore", invalid="ignore"):
                assert_all_finite(X, estimator_name=type(estimator).__name__,
                                  input_name="X")
        out = X if y is None else (X, y)
    else:
        check_params.setdefault("estimator", estimator)
        if y is None:
            out = X = check_array(X, **check_params)
        else:
            out = X, _ = check_X_y(X, y, **check_params)
    if hasattr(estimator, "feature_names_in_"):
        delattr(estimator, "feature_names_in_")
    estimator.n_features_in_ = X.shape[1]
    return out


def check_y_finite(y):
    """A ValueError when float labels hold NaN or infinity."""
    values = np.asarray(y)
    if values.dtype.kind == "f":
        if not np.all(np.isfinite(values)):
            raise ValueError(
                "Input y contains NaN or infinity: every sample needs a class "
                "label. Drop the unlabelled rows first."
            )


def check_fit_data(estimator, X, y):
    """(X, y, one_vs_all, peak) of a sampler's fit: peak is the largest |X|
    when it was found while checking (a C-contiguous float32/float64
    array), else None."""
    y, one_vs_all = check_target_type(y)
    if (isinstance(X, np.ndarray) and X.dtype in (np.float32, np.float64)
            and X.flags.c_contiguous):
        # One compiled pass gives both the finiteness scikit-learn checks
        # and the magnitude _Data needs; scikit-learn's own check (and
        # its message) only when something is not finite.
        Xv, yv = validate_fit_data(estimator, X, y, accept_sparse=["csr", "csc"],
                                   ensure_all_finite=False)
        peak = _generate.abs_max(Xv, resolve_n_threads(estimator.n_jobs))
        if math.isfinite(peak):
            return Xv, yv, one_vs_all, peak
    # scikit-learn's finiteness check sums X first (a fast path that
    # overflows near the float64 limit, then checks element-wise): the
    # overflow warning it would emit says nothing about the data.
    with np.errstate(over="ignore", invalid="ignore"):
        X, y = validate_fit_data(estimator, X, y, accept_sparse=["csr", "csc"])
    if X.dtype == np.bool_:
        raise ValueError(
            "X has boolean dtype: SMOTE interpolates between samples, which "
            "has no meaning for booleans. Convert X to float "
            "(X.astype(float)) to treat the values as 0/1."
        )
    return X, y, one_vs_all, None


def check_cluster_labels(labels, n_rows, n_clusters, method, rows):
    """The labels a clusterer's ``method`` gave ``n_rows`` rows (of ``rows``,
    for the message), checked to be one cluster index in [0, n_clusters)
    per row, as int32 or int64."""
    labels = np.asarray(labels)
    if labels.shape != (n_rows,):
        raise ValueError(
            f"kmeans_estimator.{method} returned labels of shape {labels.shape}; "
            f"expected ({n_rows},), one label per row of {rows}."
        )
    if labels.size and (
        not np.issubdtype(labels.dtype, np.integer)
        or labels.min() < 0
        or labels.max() >= n_clusters
    ):
        raise ValueError(
            f"kmeans_estimator.{method} returned labels outside "
            f"[0, n_clusters={n_clusters}); every row must get a cluster index "
            "(noise labels such as -1 are not supported)."
        )
    if labels.dtype not in (np.int32, np.int64):
        labels = labels.astype(np.int64)
    return labels


def check_neighbors_object(k_neighbors):
    """A fresh k-NN estimator asking for ``k_neighbors`` neighbours plus self."""
    if isinstance(k_neighbors, numbers.Integral):
        return NearestNeighbors(n_neighbors=int(k_neighbors) + 1)
    return clone(k_neighbors)


def is_plain_euclidean_nn(nn):
    """True when ``nn`` is a scikit-learn NearestNeighbors that measures plain
    Euclidean distance, so that our exact compiled search returns what it
    would return."""
    if type(nn) is not NearestNeighbors:
        return False
    params = nn.get_params()
    metric = params.get("metric")
    if params.get("metric_params"):
        return False
    if metric == "euclidean" or metric == "l2":
        return True
    if metric == "minkowski" and params.get("p", 2) == 2:
        return True
    return False


def check_knn_sets(func, offsets, ks, n_rows):
    """(offsets, ks, sizes) of a knn_sparsity_sets call, as contiguous int64
    arrays, after checking that they describe n_sets sets covering the n_rows
    rows and that each k fits its set."""
    offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    ks = np.ascontiguousarray(ks, dtype=np.int64)
    n_sets = ks.shape[0]
    if offsets.shape != (n_sets + 1,) or offsets[0] != 0 or offsets[n_sets] != n_rows:
        raise ValueError(f"{func}: offsets must have n_sets + 1 = {n_sets + 1} entries "
                         f"from 0 to rows.size = {n_rows}")
    sizes = np.diff(offsets)
    if np.any(sizes < 0):
        raise ValueError(f"{func}: offsets must be non-decreasing")
    bad_k = np.flatnonzero((ks < 0) | ((ks > 0) & (ks > sizes - 1)))
    if bad_k.size:
        s = int(bad_k[0])
        raise ValueError(
            f"{func}: ks[{s}]={ks[s]} neighbours requested but set {s} has "
            f"m={sizes[s]} rows; each k must be in [0, m - 1] (self is excluded)")
    return offsets, ks, sizes


def split_knn_sets(nn_all, sizes, ks):
    """The per-set (m_s, ks[s]) views of the concatenated neighbour lists."""
    lengths = sizes * ks
    starts = np.concatenate(([0], np.cumsum(lengths)))
    return [nn_all[starts[i]:starts[i + 1]].reshape(int(sizes[i]), int(ks[i]))
            for i in range(ks.shape[0])]
