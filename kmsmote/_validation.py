"""Input checks and output containers, following imbalanced-learn's rules."""

import numbers

import numpy as np
from scipy import sparse
from sklearn.base import clone
from sklearn.neighbors import NearestNeighbors


class OutputFormatter:
    """Give the resampled arrays back in the containers the user passed.

    A list comes back as a list; a pandas DataFrame as a DataFrame with the
    same columns and per-column dtypes (sparse columns stay sparse); a Series
    as a Series with its name and dtype.  When X is a DataFrame and y a
    Series or DataFrame, y gets X's index.
    """

    def __init__(self, X, y):
        self._x = self._describe(X)
        self._y = self._describe(y)

    @staticmethod
    def _describe(array):
        return {
            "kind": type(array).__name__.lower(),
            "columns": getattr(array, "columns", None),
            "name": getattr(array, "name", None),
            "dtypes": getattr(array, "dtypes", None),
        }

    @staticmethod
    def _restore(array, props):
        kind = props["kind"]
        if kind == "list":
            return array.tolist()
        if kind == "dataframe":
            import pandas as pd

            if sparse.issparse(array):
                frame = pd.DataFrame.sparse.from_spmatrix(array, columns=props["columns"])
            else:
                frame = pd.DataFrame(array, columns=props["columns"])
            return frame.astype(props["dtypes"])
        if kind == "series":
            import pandas as pd

            return pd.Series(array, dtype=props["dtypes"], name=props["name"])
        return array

    def transform(self, X, y):
        X_out = self._restore(X, self._x)
        y_out = self._restore(y, self._y)
        if self._x["kind"] == "dataframe" and self._y["kind"] in {"series", "dataframe"}:
            y_out.index = X_out.index
        return X_out, y_out


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
