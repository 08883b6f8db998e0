"""Categorical features for KMeansSMOTE (SMOTE-NC inside the clusters).

A categorical feature is either one column holding category values (strings,
numbers, pandas categories; numbers only in a sparse matrix) or a group of
one-hot columns, each row holding a single 1 among them or none at all (the
"dropped" category of ``OneHotEncoder(drop=...)``).  Both are turned into
integer codes; clustering and neighbour search see the codes one-hot encoded
with the value ``median_std / sqrt(2)``, and every synthetic sample takes, per
feature, the most frequent category among its base sample's neighbours.
"""

import numbers

import numpy as np
from scipy import sparse
from sklearn.preprocessing import OrdinalEncoder
from sklearn.utils import check_random_state
from sklearn.utils.sparsefuncs import mean_variance_axis
from sklearn.utils.validation import validate_data

from ._plan import draws
from ._sampling_strategy import check_target_type


def _is_group(item):
    return isinstance(item, (list, tuple, np.ndarray))


class _Feature:
    """One categorical feature: its columns, its kind and its categories.

    ``codes`` maps every row to ``[0, len(categories))``.  For a column,
    ``categories`` are its sorted values; for a one-hot group, the column
    index holding the 1 (``-1`` for a row with none).
    """

    def __init__(self, columns, onehot):
        self.columns = np.asarray(columns, dtype=np.int64)
        self.onehot = onehot
        self.categories = None
        self.codes = None


class CategoricalEncoding:
    """The ``categorical_features`` path of KMeansSMOTE, as a component.

    ``check`` validates X and y for it; ``encode`` (before resampling) finds
    the features, their categories and the median standard deviations, and
    gives the matrix to cluster and, per class, the matrix for its
    neighbours; ``decode`` (after) turns the resampled encoded rows back into
    the user's columns, categories and container.  It knows nothing of the
    estimator beyond the arguments it is given.

    Parameters
    ----------
    categorical_features : "auto", array-like
        As the estimator's parameter.
    random_state : int, RandomState instance or None
        Breaks ties of the category vote as SMOTENC does.

    Attributes
    ----------
    categorical_features_, continuous_features_ : ndarray of int
    categories_ : list of ndarray
    median_std_ : dict
        Set by ``encode``; the estimator exposes them as its own.
    """

    def __init__(self, categorical_features, random_state):
        self.categorical_features = categorical_features
        self.random_state = random_state

    def check(self, estimator, X, y):
        """(X, y, one_vs_all), validated by scikit-learn's rules for
        ``estimator`` (which gets ``n_features_in_``)."""
        y, one_vs_all = check_target_type(y)
        if sparse.issparse(X):
            # Sparse matrices hold numbers: categories are numeric codes
            # (SMOTENC's convention) or one-hot groups.
            Xv, y = validate_data(estimator, X=X, y=y, reset=True,
                                  accept_sparse=["csr", "csc"])
        else:
            # dtype=None keeps strings and mixed columns (as an object array);
            # NaN is still refused.
            Xv, y = validate_data(estimator, X=X, y=y, reset=True, dtype=None,
                                  accept_sparse=False)
        return Xv, y, one_vs_all

    # -- which columns ------------------------------------------------------

    def _column_index(self, value, columns, n_features):
        if isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, bool):
            if not 0 <= value < n_features:
                raise ValueError(
                    f"categorical_features: indices must be in [0, {n_features}); "
                    f"got {int(value)}."
                )
            return int(value)
        if isinstance(value, str):
            if columns is None:
                raise ValueError(
                    "categorical_features: column names need a pandas DataFrame; "
                    "got an array. Pass column indices instead."
                )
            names = [str(c) for c in columns]
            if value not in names:
                raise ValueError(
                    f"categorical_features: no column named {[value]} in X "
                    f"(columns: {names})."
                )
            return names.index(value)
        raise ValueError(
            "categorical_features: a one-hot group lists column indices or names; "
            f"got {value!r}."
        )

    def _grouped_features(self, spec, columns, n_features):
        features = []
        for item in spec:
            if _is_group(item):
                cols = [self._column_index(v, columns, n_features) for v in item]
                if len(cols) == 0:
                    raise ValueError("categorical_features: a one-hot group is empty.")
                if len(set(cols)) != len(cols):
                    raise ValueError(
                        f"categorical_features: the one-hot group {list(item)} names "
                        "a column twice."
                    )
                features.append(_Feature(cols, onehot=True))
            else:
                features.append(_Feature([self._column_index(item, columns, n_features)],
                                         onehot=False))
        return features

    def _categorical_spec(self, X, n_features):
        """The categorical features named by ``categorical_features``."""
        spec = self.categorical_features
        columns = getattr(X, "columns", None)
        if isinstance(spec, str):  # "auto"
            if columns is None:
                raise ValueError(
                    "categorical_features='auto' needs a pandas DataFrame (it picks "
                    f"the category, object and string columns); got {type(X).__name__}. "
                    "Pass the column indices or a boolean mask instead."
                )
            import pandas as pd

            mask = np.array([
                isinstance(dtype, pd.CategoricalDtype) or dtype == object
                or pd.api.types.is_string_dtype(dtype)
                for dtype in X.dtypes
            ], dtype=bool)
            features = [_Feature([j], onehot=False) for j in np.flatnonzero(mask)]
        elif isinstance(spec, (list, tuple)) and any(_is_group(item) for item in spec):
            features = self._grouped_features(spec, columns, n_features)
        else:
            spec = np.asarray(spec)
            if spec.size == 0:
                spec = spec.astype(np.int64)
            if spec.dtype == bool:
                if spec.shape != (n_features,):
                    raise ValueError(
                        f"categorical_features: a boolean mask needs {n_features} "
                        f"entries (one per feature); got shape {spec.shape}."
                    )
                indices = np.flatnonzero(spec)
            elif spec.dtype.kind in "iu":
                indices = spec.astype(np.int64).ravel()
                if indices.size and (indices.min() < 0 or indices.max() >= n_features):
                    raise ValueError(
                        f"categorical_features: indices must be in [0, {n_features}); "
                        f"got {indices.tolist()}."
                    )
            elif spec.dtype.kind in "UO":
                indices = [self._column_index(str(v), columns, n_features)
                           for v in spec.ravel()]
            else:
                raise ValueError(
                    "categorical_features must be 'auto', indices, a boolean mask, "
                    "column names or a list of one-hot groups; got an array of dtype "
                    f"{spec.dtype}."
                )
            features = [_Feature([j], onehot=False) for j in np.unique(indices)]
        if not features:
            raise ValueError(
                "categorical_features selects no column: nothing to treat as "
                "categorical. Leave categorical_features=None for numeric data."
            )
        used = np.concatenate([f.columns for f in features])
        if np.unique(used).size != used.size:
            raise ValueError(
                "categorical_features: a column belongs to two categorical features."
            )
        if used.size == n_features:
            raise ValueError(
                "categorical_features selects every column: SMOTE-NC needs at "
                "least one continuous feature to interpolate (imbalanced-learn's "
                "SMOTEN handles purely categorical data)."
            )
        return features

    # -- codes ----------------------------------------------------------------

    @staticmethod
    def _columns_of(Xv, cols):
        """Dense (n, len(cols)) block of the given columns."""
        if sparse.issparse(Xv):
            return Xv[:, cols].toarray()
        return np.asarray(Xv[:, cols])

    def _encode_codes(self, Xv, features):
        plain = [f for f in features if not f.onehot]
        if plain:
            encoder = OrdinalEncoder(dtype=np.int64)
            codes = encoder.fit_transform(
                self._columns_of(Xv, np.array([f.columns[0] for f in plain])))
            for j, f in enumerate(plain):
                f.codes, f.categories = codes[:, j], encoder.categories_[j]
        for f in features:
            if f.onehot:
                raw = self._one_hot_positions(Xv, f.columns)
                present, codes = np.unique(raw, return_inverse=True)
                f.codes = codes.astype(np.int64)
                f.categories = np.where(present >= 0, f.columns[np.maximum(present, 0)], -1)

    @staticmethod
    def _one_hot_positions(Xv, cols):
        """Per row, the position in ``cols`` of its 1 (-1 for none); the
        group is read sparse when X is (a wide group stays cheap)."""
        if sparse.issparse(Xv):
            block = Xv[:, cols].tocsr()
            block.eliminate_zeros()
            block.sort_indices()
            values, rows = block.data, np.repeat(np.arange(block.shape[0]), np.diff(block.indptr))
            positions = block.indices
        else:
            block = np.asarray(Xv[:, cols])
            rows, positions = np.nonzero(block != 0)
            values = block[rows, positions]
        bad = np.flatnonzero(values != 1)
        if bad.size:
            raise ValueError(
                f"categorical_features: the one-hot group {cols.tolist()} must hold 0 "
                f"or 1; row {rows[bad[0]]} has {values[bad[0]].item()!r} in column "
                f"{cols[positions[bad[0]]]}."
            )
        per_row = np.bincount(rows, minlength=Xv.shape[0])
        if per_row.max(initial=0) > 1:
            raise ValueError(
                f"categorical_features: the one-hot group {cols.tolist()} has more "
                f"than one 1 in row {int(np.argmax(per_row > 1))}; a row belongs to "
                "one category of a feature (list each one-hot feature as its own "
                "group)."
            )
        raw = np.full(Xv.shape[0], -1, dtype=np.int64)
        raw[rows] = positions
        return raw

    # -- the resampling -------------------------------------------------------

    def encode(self, X, Xv, y, sampling_strategy):
        """``(X_cluster, class_matrix)``: the matrix to cluster, and
        ``class_matrix(label)``, the one for a class's neighbours.

        SMOTE-NC inside the clusters: one-hot categorical columns scaled by
        the median standard deviation of the continuous ones (over the whole
        data set for clustering, over the class for its neighbours).  ``X``
        is the user's input, ``Xv`` its validated form (``check``)."""
        n, d = Xv.shape
        is_sparse = sparse.issparse(Xv)
        features = self._categorical_spec(X, d)
        cat = np.sort(np.concatenate([f.columns for f in features]))
        cont = np.setdiff1d(np.arange(d), cat)
        self.categorical_features_, self.continuous_features_ = cat, cont
        X_cont = self._continuous(Xv, cont, is_sparse)
        self._encode_codes(Xv, features)
        self.categories_ = [f.categories for f in features]
        sizes = np.array([f.categories.size for f in features])
        offsets = len(cont) + np.concatenate([[0], np.cumsum(sizes)[:-1]])
        onehot_cols = offsets[None, :] + np.column_stack([f.codes for f in features])

        def encoded(scale):
            # A categorical mismatch adds scale**2 twice: sqrt(2) keeps one
            # median standard deviation per mismatched feature (SMOTE-NC).
            value = scale / np.sqrt(2)
            width = len(cont) + int(sizes.sum())
            if is_sparse:
                onehot = sparse.csr_matrix(
                    (np.full(onehot_cols.size, value, dtype=X_cont.dtype),
                     (onehot_cols - len(cont)).ravel(),
                     np.arange(0, onehot_cols.size + 1, len(features))),
                    shape=(n, int(sizes.sum())),
                )
                return sparse.hstack([X_cont, onehot], format="csr")
            out = np.zeros((n, width), dtype=X_cont.dtype)
            out[:, :len(cont)] = X_cont
            out[np.arange(n)[:, None], onehot_cols] = value
            return out

        def median_std(rows):
            if is_sparse:
                _, var = mean_variance_axis(X_cont[rows].astype(np.float64), axis=0)
                return float(np.median(np.sqrt(var)))
            return float(np.median(np.std(X_cont[rows].astype(np.float64), axis=0)))

        self.median_std_ = {
            label: median_std(y == label)
            for label, count in sampling_strategy.items() if count
        }
        self._features = features
        # Clusters are over the whole data set: its median std sets the scale.
        return (encoded(median_std(slice(None))),
                lambda label: encoded(self.median_std_[label]))

    def decode(self, X, Xv, X_res_enc, y_res, groups, formatter):
        """``(X_out, y_out)`` in the user's containers: the original rows,
        then the synthetic ones with their interpolated continuous values and,
        per categorical feature, the most frequent category among the base
        sample's neighbours (``groups``: the plan's kept groups, in output
        order)."""
        features, cont = self._features, self.continuous_features_
        new_codes = self._vote(groups, features)
        synth_cont = X_res_enc[Xv.shape[0]:, :len(cont)]
        if sparse.issparse(Xv):
            X_out = self._sparse_output(Xv, synth_cont, cont, features, new_codes)
            return formatter.transform(X_out, y_res)
        return self._dense_output(X, Xv, y_res, formatter, synth_cont, cont, features,
                                  new_codes)

    @staticmethod
    def _continuous(Xv, cont, is_sparse):
        try:
            if is_sparse:
                X_cont = Xv.tocsc()[:, cont].tocsr()
            else:
                X_cont = np.asarray(Xv[:, cont])
            if X_cont.dtype not in (np.float32, np.float64):
                X_cont = X_cont.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"categorical_features: the continuous columns {cont.tolist()} must "
                f"be numeric ({exc}). Add the non-numeric columns to "
                "categorical_features."
            ) from exc
        values = X_cont.data if is_sparse else X_cont
        if not np.all(np.isfinite(values)):
            raise ValueError("Input X contains infinity or NaN in a continuous column.")
        return X_cont

    def _vote(self, kept, features):
        """(n_new, n_features) codes: per feature the most frequent category
        among each new sample's neighbours, ties broken as SMOTENC does."""
        blocks = []
        for kc in kept:
            count = kc.count
            if not count:
                continue
            k = kc.nn.shape[1]
            sample_idx, _ = draws(kc)
            neighbours = kc.rows[kc.nn[sample_idx // k]]  # (count, k)
            # imbalanced-learn's tie breaking: a fresh generator per group.
            rng = check_random_state(self.random_state)
            block = np.empty((count, len(features)), dtype=np.int64)
            for j, f in enumerate(features):
                size = f.categories.size
                flat = (np.arange(count)[:, None] * size + f.codes[neighbours]).ravel()
                votes = np.bincount(flat, minlength=count * size).reshape(count, size)
                is_max = votes == votes.max(axis=1, keepdims=True)
                max_idxs = rng.permutation(np.argwhere(is_max))
                xs, first = np.unique(max_idxs[:, 0], return_index=True)
                block[xs, j] = max_idxs[first, 1]
            blocks.append(block)
        if not blocks:
            return np.empty((0, len(features)), dtype=np.int64)
        return np.concatenate(blocks)

    @staticmethod
    def _synthetic_columns(features, new_codes, dtype):
        """Per categorical column, its values in the new rows (dense)."""
        columns = {}
        for j, f in enumerate(features):
            chosen = f.categories[new_codes[:, j]]
            if f.onehot:
                for col in f.columns:
                    columns[int(col)] = (chosen == col).astype(dtype)
            else:
                columns[int(f.columns[0])] = chosen
        return columns

    def _dense_output(self, X, Xv, y_res, formatter, synth_cont, cont, features, new_codes):
        n, d = Xv.shape
        n_new = new_codes.shape[0]
        numeric = Xv.dtype if Xv.dtype != object else np.float64
        synth = self._synthetic_columns(features, new_codes, numeric)
        for pos, j in enumerate(cont):
            synth[int(j)] = synth_cont[:, pos]
        if formatter.x_is_frame:
            import pandas as pd

            frame = pd.DataFrame({X.columns[j]: synth[j] for j in range(d)},
                                 columns=X.columns)
            frame = frame.astype(X.dtypes.to_dict()) if n_new else frame
            X_out = (pd.concat([X, frame], ignore_index=True) if n_new
                     else X.reset_index(drop=True).copy())
            X_out = X_out.astype(X.dtypes.to_dict())
            return X_out, formatter.transform_y(y_res, X_out)
        out = np.empty((n + n_new, d), dtype=Xv.dtype)
        out[:n] = Xv
        for j in range(d):
            out[n:, j] = synth[j]  # cast to X's dtype by the assignment
        return formatter.transform(out, y_res)

    @staticmethod
    def _sparse_output(Xv, synth_cont, cont, features, new_codes):
        """Original rows then new rows, in X's sparse container and format."""
        n_new = new_codes.shape[0]
        coo = sparse.coo_matrix(synth_cont)
        rows, cols, vals = [coo.row], [cont[coo.col]], [coo.data.astype(np.float64)]
        for j, f in enumerate(features):
            chosen = f.categories[new_codes[:, j]]
            if f.onehot:
                hit = np.flatnonzero(chosen >= 0)
                rows.append(hit)
                cols.append(chosen[hit])
                vals.append(np.ones(hit.size))
            else:
                hit = np.flatnonzero(chosen != 0)
                rows.append(hit)
                cols.append(np.full(hit.size, f.columns[0]))
                vals.append(chosen[hit].astype(np.float64))
        new = sparse.csr_matrix(
            (np.concatenate(vals).astype(Xv.dtype),
             (np.concatenate(rows), np.concatenate(cols))),
            shape=(n_new, Xv.shape[1]),
        )
        new.sort_indices()
        top = Xv.tocsr()
        out = sparse.vstack([top, new], format="csr")
        out.sort_indices()
        if isinstance(Xv, sparse.sparray):
            out = sparse.csr_array(out)
        return out.asformat(Xv.format)
