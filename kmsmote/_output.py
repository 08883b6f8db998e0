"""The resampled data set, assembled in the user's containers.

``resample`` writes the original rows, then every kept cluster's synthetic
rows (dense, CSR, or float16 and other types NumPy computes in), from the
plan's kept groups and random draws; ``OutputFormatter`` gives the arrays
back as the list, DataFrame or Series the user passed.
"""

import numpy as np
from scipy import sparse

from . import _generate
from ._plan import Reseeder, draws


def resample(data, kept):
    """Original rows first, then every kept cluster's synthetic rows."""
    n_new = sum(kc.count for kc in kept)
    if data.sparse:
        return _resample_sparse(data, kept)
    X, work = data.X, data.work
    n, d = X.shape
    out = np.empty((n + n_new, d), dtype=X.dtype)
    # The first write to fresh memory costs a page fault per page: the
    # kernel copies with every thread (and stops on Ctrl-C).
    if X.flags.c_contiguous:
        _generate.copy_rows(X, out[:n], data.n_threads)
    else:
        step = max(1, (64 << 20) // max(1, d * out.itemsize))
        for start in range(0, n, step):
            stop = min(start + step, n)
            out[start:stop] = X[start:stop]
    if X.dtype.kind == "f" and X.dtype != work.dtype:
        # float16 (or long double): NumPy's arithmetic in that type, as
        # the reference does it (the difference rounded to the type).
        offset, reseed = n, Reseeder()
        for kc in kept:
            count = kc.count
            sample_idx, steps = draws(kc, reseed)
            k = kc.nn.shape[1]
            base = X[kc.rows[sample_idx // k]]
            other = X[kc.rows[kc.nn.ravel()[sample_idx]]]
            out[offset:offset + count] = base + steps[:, None] * (other - base)
            offset += count
        return out
    if work.dtype == X.dtype:
        synth, offset = out, n
    else:
        synth, offset = np.empty((n_new, d), dtype=work.dtype), 0
    reseed = Reseeder()
    for kc in kept:
        count = kc.count
        if count:
            _generate.generate(
                work, kc.rows, kc.nn, *draws(kc, reseed),
                synth[offset:offset + count], data.n_threads,
            )
        offset += count
    if synth is not out:
        out[n:] = synth.astype(X.dtype)
    return out


def _resample_sparse(source, kept):
    X = source.X
    top = source.work if X.format == "csr" else X.tocsr()
    if not top.has_sorted_indices:
        # The user's rows may come with unsorted indices; sort a copy.
        top = top.copy()
        top.sort_indices()
    reseed = Reseeder()
    groups = [(kc.rows, kc.nn, *draws(kc, reseed)) for kc in kept if kc.count]
    arrays = None
    if source.work.dtype == X.dtype:
        # One allocation per array, the synthetic rows written in place.
        arrays = _generate.csr_resample(source.work, top, groups, source.n_threads)
    if arrays is not None:
        data, indices, indptr = arrays
        n_rows = indptr.shape[0] - 1
    else:
        data, indices, indptr, n_rows = _stack_sparse(source, top, groups)
    csr_type = sparse.csr_array if isinstance(X, sparse.sparray) else sparse.csr_matrix
    out = csr_type((data, indices, indptr), shape=(n_rows, X.shape[1]))
    out.has_sorted_indices = True
    return out if X.format == "csr" else out.asformat(X.format)


def _stack_sparse(source, top, groups):
    """(data, indices, indptr, n_rows) of top stacked over the groups'
    synthetic rows, each generated on its own (the general case)."""
    X = source.X
    blocks = [_generate.csr_generate(source.work, *g, source.n_threads) for g in groups]
    # One allocation for the result (no repeated stacking).
    parts = [top] + blocks
    nnz = sum(int(p.nnz) for p in parts)
    n_rows = sum(p.shape[0] for p in parts)
    index_dtype = np.int32 if max(nnz, X.shape[1]) < 2**31 else np.int64
    data = np.empty(nnz, dtype=X.dtype)
    indices = np.empty(nnz, dtype=index_dtype)
    indptr = np.empty(n_rows + 1, dtype=index_dtype)
    indptr[0] = 0
    at, row = 0, 0
    for p in parts:
        lo, k = int(p.indptr[0]), int(p.nnz)
        data[at:at + k] = p.data[lo:lo + k]
        indices[at:at + k] = p.indices[lo:lo + k]
        indptr[row + 1:row + 1 + p.shape[0]] = p.indptr[1:] - p.indptr[0] + at
        at += k
        row += p.shape[0]
    return data, indices, indptr, n_rows


def _cast_nullable_like_numpy(array, dtypes):
    """The output values, with the columns that pandas' nullable dtypes hold
    prepared so that they cast back as their numpy twins do.

    A numpy integer column turns a synthetic value such as 2.6 into 2 when it
    is cast back, and a numpy bool column turns any non-zero value into True;
    pandas refuses both casts into ``Int64``, ``UInt16``, ... and
    ``boolean`` ("cannot safely cast non-equivalent float64", "Need to pass
    bool-like values"), and the reference stops there.  Rounding toward zero,
    and mapping non-zero to 1, first gives those columns what their numpy
    twins get.  ``array`` is the sampler's own new output.
    """
    import pandas as pd

    if not np.issubdtype(array.dtype, np.floating):
        return array
    for j, dtype in enumerate(dtypes):
        if not isinstance(dtype, pd.api.extensions.ExtensionDtype):
            continue
        if isinstance(dtype, pd.BooleanDtype):
            array[:, j] = array[:, j] != 0
        elif pd.api.types.is_integer_dtype(dtype):
            np.trunc(array[:, j], out=array[:, j])
    return array


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
                frame = pd.DataFrame(_cast_nullable_like_numpy(array, props["dtypes"]),
                                     columns=props["columns"])
            return frame.astype(props["dtypes"])
        if kind == "series":
            import pandas as pd

            return pd.Series(array, dtype=props["dtypes"], name=props["name"])
        return array

    @property
    def x_is_frame(self):
        """Whether X came as a pandas DataFrame."""
        return self._x["kind"] == "dataframe"

    def transform(self, X, y):
        """(X, y) in the containers the user passed."""
        X_out = self._restore(X, self._x)
        return X_out, self.transform_y(y, X_out)

    def transform_y(self, y, X_out):
        """y in the user's container; a Series or DataFrame gets the index
        of ``X_out`` when X came as a DataFrame."""
        y_out = self._restore(y, self._y)
        if self.x_is_frame and self._y["kind"] in {"series", "dataframe"}:
            y_out.index = X_out.index
        return y_out
