"""KMeans-SMOTE on Dask collections, for data larger than one machine.

``from kmsmote.dask import KMeansSMOTE`` takes the parameters of
:class:`kmsmote.KMeansSMOTE`; its ``fit_resample`` takes a Dask array or Dask
DataFrame ``X`` and a Dask array or Series ``y`` and returns lazy Dask
collections of the same kinds, cut at the same rows (so that
``X_res.assign(label=y_res)`` pairs every row with its label);
``resample_frame(frame, target)`` does it for a frame holding its label.
Install with ``pip install "kmsmote[dask]"`` (from a clone of the source:
``pip install ".[dask]"``).

How the work is split (every step runs the compiled kernels inside Dask
tasks; the client only ever holds small reductions):

1. One pass over the partitions: their lengths (which give every row its
   global index), the class counts, the range and finiteness of X.
2. Clustering.  The centres are seeded and iterated on a sample of rows
   chosen by the seed over global indices (as :class:`kmsmote.KMeans` does),
   then refined by Lloyd steps in which every partition assigns its rows
   and returns per-cluster sums and counts.  The sums are exact integers
   (fixed point), so their total does not depend on how the rows are split
   into partitions nor on the order in which the partial sums arrive.
3. One pass: per-class per-cluster counts; the kept clusters are decided
   from them with the single-machine rules.
4. A shuffle: each partition sends the class rows of every kept cluster to
   one task per kept cluster, which concatenates them in global row order
   and finds neighbours and the mean distance.  These results stay on the
   workers; only two numbers per cluster come back, to allocate.  A kept
   cluster on the approximate path whose rows exceed ``max_cluster_bytes``
   stays in pieces, one per partition, and its steps run on the pieces
   and on tasks of whole cells (``_dask_cells``).
5. Generation tasks, per kept cluster and per slice of its synthetic rows,
   build the lazy output: the original partitions, then the synthetic ones,
   one list of partitions for both X and y (see ``_output``).

Every decision depends on global row indices and exact reductions, never on
the partitioning or the number of workers: the same seed gives the same
result, and with the same cluster centres the result equals
:class:`kmsmote.KMeansSMOTE`'s on the same data.
"""

import inspect
import math
import numbers

try:
    import dask
    import dask.array as da
    import dask.dataframe as dd
    from dask import delayed
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "kmsmote.dask needs Dask and distributed: install them with "
        "`pip install \"kmsmote[dask]\"` (from a package index), "
        "`pip install \".[dask]\"` (from a clone of the source, in its folder) "
        "or `pip install \"dask[array,dataframe]\" distributed`."
    ) from exc

import warnings

import numpy as np
import pandas as pd
from sklearn.base import _fit_context
from sklearn.exceptions import NotFittedError
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from . import _approx, _dask_cells, _generate, _kmeans
from ._data import _Data, approximate_nn, scale_exponent, search_groups
from ._kmeans_estimator import KMeans
from ._kmeans_smote import KMeansSMOTE as _KMeansSMOTE
from ._plan import (
    DEFAULT_N_CLUSTERS,
    PlanSettings,
    allocate_class,
    decide_class,
    search_path,
    search_seed,
    weight_dtype,
)
from ._progress import report_phase
from ._sampling_strategy import sampling_strategy_from_counts
from ._threading import resolve_n_threads
from ._validation import check_cluster_labels, is_plain_euclidean_nn

__all__ = ["KMeansSMOTE", "resample_frame"]

# Without a distributed client (or without worker memory limits), the
# largest kept cluster a task may hold.
_DEFAULT_MAX_CLUSTER_BYTES = 1 << 30


def _compute(*tasks):
    """Every computation whose result comes back to the client goes here:
    only small reductions do (tests/test_dask.py checks their size)."""
    return dask.compute(*tasks)


# ---------------------------------------------------------------------------
# Work done inside the tasks (module-level functions: workers import them).


def _to_numpy(part, kind, dtype):
    """A partition of X as a 2-D NumPy array of X's dtype."""
    if kind == "frame":
        return part.to_numpy(dtype=dtype)
    return np.asarray(part)


def _data(part, kind, dtype, exponent, n_threads):
    """The partition as the single-machine code sees it (see _Data)."""
    return _Data(_to_numpy(part, kind, dtype), n_threads, exponent)


def _x_stats(part, kind, dtype):
    X = _to_numpy(part, kind, dtype)
    finite = True
    if X.dtype.kind in "fc":
        finite = bool(np.isfinite(X).all())
    if X.size and finite:
        lo, hi = float(X.min()), float(X.max())
    else:
        lo, hi = math.inf, -math.inf
    return X.shape[0], finite, lo, hi


def _y_stats(part):
    y = np.asarray(part)
    if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        return y.shape[0], True, None, None
    classes, counts = np.unique(y, return_counts=True)
    return y.shape[0], False, classes, counts


def _gather_rows(part, kind, dtype, exponent, local_rows):
    """The sample rows of this partition, as the clustering sees them."""
    return _data(part, kind, dtype, exponent, 1).dist[local_rows]


def _fixed_point(X, shift):
    """Rows as integers ``round(x * 2**shift)``: exact, associative sums."""
    return np.rint(np.ldexp(X.astype(np.float64), shift)).astype(np.int64)


def _lloyd_partial(part, kind, dtype, exponent, centers, shift, offset, n_threads):
    """One partition's share of a Lloyd step: per-cluster counts and exact
    sums, and its farthest rows (for clusters that empty)."""
    X = _data(part, kind, dtype, exponent, n_threads).dist
    k, d = centers.shape
    labels, dist2 = _kmeans.assign(X, centers, n_threads)
    counts = np.bincount(labels, minlength=k).astype(np.int64)
    sums = np.zeros((k, d), dtype=np.int64)
    present = np.flatnonzero(counts)
    if present.size:
        order = np.argsort(labels, kind="stable")
        starts = np.cumsum(counts) - counts
        sums[present] = np.add.reduceat(_fixed_point(X[order], shift), starts[present], axis=0)
    # The k farthest rows (ties included, then the lowest rows first): the
    # client picks the globally farthest among them to refill empty clusters.
    far = np.empty(0, dtype=np.int64)
    if X.shape[0]:
        top = min(k, X.shape[0])
        cut = np.partition(dist2, X.shape[0] - top)[X.shape[0] - top]
        far = np.flatnonzero(dist2 >= cut)
        far = far[np.lexsort((far, -dist2[far]))][:top]
    return counts, sums, dist2[far], far + offset, X[far], labels[far]


def _merge_partials(a, b):
    """Two partitions' (or subtrees') Lloyd partials as one: counts and sums
    add exactly; the farthest-row candidates keep the k best by (distance
    descending, global row ascending), a total order, so the tree's shape
    does not matter."""
    k = a[0].size
    d2, idx = np.concatenate([a[2], b[2]]), np.concatenate([a[3], b[3]])
    keep = np.lexsort((idx, -d2))[:k]
    return (a[0] + b[0], a[1] + b[1], d2[keep], idx[keep],
            np.concatenate([a[4], b[4]])[keep], np.concatenate([a[5], b[5]])[keep])


def _add(a, b):
    return a + b


def _tree(tasks, combine):
    """Pairwise reduction of delayed results on the workers, in partition
    order, so that only one result reaches the client."""
    tasks = list(tasks)
    while len(tasks) > 1:
        pairs = [delayed(combine)(tasks[i], tasks[i + 1]) for i in range(0, len(tasks) - 1, 2)]
        tasks = pairs + ([tasks[-1]] if len(tasks) % 2 else [])
    return tasks[0]


class _Labeller:
    """Cluster index of every row of a partition.

    Either nearest centre (the C kernel; ``exponent`` is the scaling the
    clustering used) or a fitted clusterer's ``predict``.
    """

    def __init__(self, n_clusters, centers=None, exponent=0, estimator=None, n_threads=1):
        self.n_clusters = n_clusters
        self.centers = centers
        self.exponent = exponent
        self.estimator = estimator
        self.n_threads = n_threads

    def __call__(self, part, kind, dtype):
        if self.centers is not None:
            X = _data(part, kind, dtype, self.exponent, self.n_threads).dist
            centers = np.ascontiguousarray(self.centers, dtype=X.dtype)
            return _kmeans.assign(X, centers, self.n_threads)[0]
        X = part if kind == "frame" else np.asarray(part)
        labels = check_cluster_labels(self.estimator.predict(X), X.shape[0], self.n_clusters,
                                      "predict", "the partition")
        return labels.astype(np.int64, copy=False)


def _label_rows(spans, *parts):
    """Rows ``a:b`` of each of the given y partitions, concatenated (a
    pandas Series stays one, with its dtype)."""
    if isinstance(parts[0], pd.Series):
        return pd.concat([p.iloc[a:b] for p, (a, b) in zip(parts, spans)])
    return np.concatenate([np.asarray(p)[a:b] for p, (a, b) in zip(parts, spans)])


def _renumber(part, start):
    """A pandas partition indexed by its rows' positions in the output."""
    return part.set_axis(pd.RangeIndex(start, start + len(part)))


def _class_positions(part, classes):
    return np.searchsorted(classes, np.asarray(part))


def _class_cluster_counts(xpart, ypart, kind, dtype, labeller, classes):
    """(n_classes, n_clusters) counts of one partition."""
    k = labeller.n_clusters
    labels = labeller(xpart, kind, dtype)
    yi = _class_positions(ypart, classes)
    flat = np.bincount(yi * k + labels, minlength=classes.size * k)
    return flat.reshape(classes.size, k)


def _split(xpart, ypart, kind, dtype, labeller, classes, table, n_groups):
    """The shuffle's map side: this partition's class rows of every kept
    cluster, in row order (``table[class, cluster]`` names the group)."""
    labels = labeller(xpart, kind, dtype)
    work = _data(xpart, kind, dtype, 0, 1).work
    group = table[_class_positions(ypart, classes), labels]
    order = np.argsort(group, kind="stable")
    bounds = np.cumsum(np.bincount(group + 1, minlength=n_groups + 1))
    # bounds[0] rows belong to no group (group -1).
    return tuple(work[order[bounds[g]:bounds[g + 1]]] for g in range(n_groups))


def _neighbours(n_neighbors, fast_nn, nn_k, own_clusterer, exponent, n_threads, path,
                seed, *pieces):
    """The shuffle's reduce side: one kept cluster's class rows, in global row
    order, with their neighbours and mean distance (the single-machine
    code, run on those rows, on the path and with the seed it takes)."""
    Xc = np.concatenate(pieces)
    data = _Data(Xc, n_threads, exponent)
    rows = np.arange(Xc.shape[0], dtype=np.int64)
    [(nn, mean_distance, se, taken)] = search_groups(
        data, [rows], [path], [seed], n_neighbors, nn_k, fast_nn,
        reference_order=fast_nn and not own_clusterer)
    k = min(n_neighbors - 1, rows.size - 1)
    # nn None: approximate, the lists come once the allocation is known
    # (_with_lists).
    return {"X": data.work, "nn": nn, "shape": (rows.size, k),
            "mean_distance": mean_distance, "se": se, "path": taken}


def _with_lists(group, n_neighbors, seed, exponent, n_threads, *needed):
    """An approximate group with its neighbour lists: those of the rows the
    draws reach (``needed``: per slice of the draws, no slice: all rows),
    as single-machine kmsmote finds them."""
    m, _ = group["shape"]
    needed = np.unique(np.concatenate(needed)) if needed else None
    data = _Data(group["X"], n_threads, exponent)
    nn = approximate_nn(data, np.arange(m, dtype=np.int64), n_neighbors, seed, needed)
    return dict(group, nn=nn)


def _summary(group):
    return group["shape"], group["mean_distance"], group["se"], group["path"]


def _synthetic(group, draws, dtype, n_threads, frame):
    """Synthetic rows of one slice: a NumPy block or a DataFrame."""
    sample_idx, steps = draws
    work, nn = group["X"], group["nn"]
    out = np.empty((sample_idx.size, work.shape[1]), dtype=work.dtype)
    rows = np.arange(work.shape[0], dtype=np.int64)
    _generate.generate(work, rows, nn, sample_idx, steps, out, n_threads)
    return _dask_cells.as_output(out, dtype, frame)


def _labels_block(label, size, dtype, series):
    values = np.full(size, label, dtype=dtype)
    if series is None:
        return values
    name, pd_dtype, start = series
    return pd.Series(values, index=pd.RangeIndex(start, start + size), name=name,
                     dtype=pd_dtype)


# ---------------------------------------------------------------------------


def _auto_max_cluster_bytes():
    """Half the memory per thread of the smallest worker of the current
    distributed client; 1 GiB without one."""
    try:
        from distributed import default_client

        client = default_client()
    except (ImportError, ValueError):
        return _DEFAULT_MAX_CLUSTER_BYTES
    try:
        workers = client.scheduler_info(n_workers=-1)["workers"]
    except TypeError:  # older distributed
        workers = client.scheduler_info()["workers"]
    limits = [
        w["memory_limit"] / max(1, w.get("nthreads", 1))
        for w in workers.values() if w.get("memory_limit")
    ]
    return int(min(limits) / 2) if limits else _DEFAULT_MAX_CLUSTER_BYTES


def _is_dask_frame(obj):
    return isinstance(obj, dd.DataFrame)


class KMeansSMOTE(_KMeansSMOTE):
    """KMeans-SMOTE on Dask collections (data larger than one machine).

    The parameters, rules and results of :class:`kmsmote.KMeansSMOTE`, with
    the data in a Dask array or DataFrame.  Clustering, neighbour search and
    generation run as Dask tasks, with kmsmote's compiled kernels, on
    whatever scheduler is active (a ``distributed.Client`` for a cluster);
    the client receives only small reductions.  The result is lazy.

    For an int ``random_state`` the result does not depend on the
    partitioning nor on the number of workers; given the same cluster
    centres (a fitted ``kmeans_estimator``) it equals, bit for bit,
    :class:`kmsmote.KMeansSMOTE`'s on the same data.

    Each pass over ``X`` reads its partitions again: persist ``X`` and ``y``
    first (``dask.persist``) when they fit in the cluster's memory.  A run
    makes ``4 + refine_iter`` passes with the default clusterer (statistics,
    sample, refinement steps, counts, shuffle), 3 with a fitted one;
    computing the result makes one more.

    Parameters
    ----------
    sampling_strategy, k_neighbors, cluster_balance_threshold, \
density_exponent, allocation, no_cluster_policy, small_clusters, \
cluster_filter
        As in :class:`kmsmote.KMeansSMOTE`.  A callable
        ``sampling_strategy`` receives the Dask ``y``.
    random_state : int, RandomState instance or None, default=None
        Seed of the clustering sample, its initialisation and of the
        synthetic samples (the reference's scheme: a fresh generator with
        this seed for every kept cluster).  A RandomState or None draws one
        int seed, used the same way.
    n_jobs : int, default=None
        Threads of the compiled kernels inside each task (``None``: 1, as
        Dask runs tasks in parallel already), and of the clustering of the
        sample on the client (``None``: OpenMP's default).
    kmeans_estimator : int, kmsmote.KMeans or fitted clusterer, default=None
        ``None`` or an int (8 or that many clusters) or an unfitted
        :class:`kmsmote.KMeans`: distributed k-means, seeded and iterated on
        a sample of ``sample_size`` rows and refined by ``refine_iter``
        distributed Lloyd steps (``n_init`` starts are compared on the
        sample).  A fitted clusterer with ``predict`` and ``n_clusters``
        (e.g. a fitted scikit-learn ``KMeans``) fixes the clustering: every
        partition is labelled by its ``predict`` (a fitted
        :class:`kmsmote.KMeans` assigns to its ``cluster_centers_``).
    categorical_features : None
        Not supported on Dask; must be None.
    max_cluster_bytes : int or "auto", default="auto"
        Memory limit of one task of the shuffle: the class rows of one kept
        cluster with their neighbour table (about ``m * (2 * n_features *
        itemsize + 8 * k_neighbors + 16)`` bytes for ``m`` rows).  A kept
        cluster above it whose search is approximate (``neighbors="auto"``
        or ``"approximate"`` and more than 20,000 class rows) is not
        gathered: its rows stay in one piece per partition and its cells
        are handled by tasks of whole cells, each within this limit, with
        the same output.  A cluster above it searched exactly raises a
        ``ValueError`` before the shuffle; raise the number of clusters.
        ``"auto"`` is half the memory per thread of the smallest worker of
        the current ``distributed`` client (1 GiB without a client or
        without worker memory limits).

    Attributes
    ----------
    sampling_strategy_, cluster_balance_threshold_, cluster_stats_, \
class_paths_, n_features_in_, feature_names_in_
        As in :class:`kmsmote.KMeansSMOTE`.
    kmeans_estimator_ : estimator
        The clusterer; with distributed k-means a :class:`kmsmote.KMeans`
        holding ``cluster_centers_`` (no ``labels_``).
    nn_k_ : estimator
        The nearest-neighbours estimator (not fitted: the searches ran in
        the tasks).
    max_cluster_bytes_ : int
        The limit used.

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> from sklearn.datasets import make_classification
    >>> from kmsmote.dask import KMeansSMOTE
    >>> X, y = make_classification(n_samples=20_000, weights=[0.9, 0.1],
    ...                            random_state=0)
    >>> dX, dy = da.from_array(X, chunks=5_000), da.from_array(y, chunks=5_000)
    >>> X_res, y_res = KMeansSMOTE(random_state=0).fit_resample(dX, dy)
    >>> X_res.shape
    (35844, 20)
    >>> np.bincount(y_res.compute()).tolist()
    [17922, 17922]
    """

    _parameter_constraints: dict = {
        **_KMeansSMOTE._parameter_constraints,
        "max_cluster_bytes": [
            Interval(numbers.Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
    }

    def __init__(self, *, max_cluster_bytes="auto", **params):
        super().__init__(**params)
        self.max_cluster_bytes = max_cluster_bytes

    # scikit-learn (get_params, clone, repr) reads the parameters from the
    # signature of __init__: kmsmote.KMeansSMOTE's, written once there, and
    # max_cluster_bytes.
    __init__.__signature__ = inspect.Signature([
        *inspect.signature(_KMeansSMOTE.__init__).parameters.values(),
        inspect.Parameter("max_cluster_bytes", inspect.Parameter.KEYWORD_ONLY, default="auto"),
    ])

    # -- public API -----------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Check the inputs and compute ``sampling_strategy_`` (one pass).

        Parameters
        ----------
        X : dask array or dask DataFrame of shape (n_samples, n_features)
            Data.
        y : dask array or dask Series of shape (n_samples,)
            Targets.

        Returns
        -------
        self : KMeansSMOTE
            The estimator.
        """
        try:
            self._setup(X, y)
        finally:
            self._forget()
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def _fit_resample_checked(self, X, y):
        """(X_res, y_res, notes); fit_resample emits the notes."""
        try:
            return self._resample_dask(X, y)
        finally:
            self._forget()

    def fit_resample(self, X, y):
        """Resample a Dask data set; the result is lazy.

        Parameters
        ----------
        X : dask array or dask DataFrame of shape (n_samples, n_features)
            Data to over-sample, partitioned along rows only (an array with
            several column chunks is rechunked to one).
        y : dask array or dask Series of shape (n_samples,)
            Class of each row; its partitions need not match X's.

        Returns
        -------
        X_resampled : dask array or dask DataFrame
            X's rows in their partitions (empty partitions left out), then
            the synthetic partitions (by sorted class, then by cluster; one
            or more per kept cluster).  A DataFrame keeps its columns and
            dtypes and, like :class:`kmsmote.KMeansSMOTE`'s result, gets a
            fresh index ``0, 1, ...``, with known divisions.
        y_resampled : dask array or dask Series
            The matching classes, in the kind of ``y``, with the partitions
            of ``X_resampled``: the same lengths (array chunks) and, for a
            Series, the same index and divisions.  So
            ``X_resampled.assign(label=y_resampled)``,
            ``dd.concat([X_resampled, y_resampled], axis=1)`` and
            ``da.hstack([X_resampled, y_resampled[:, None]])`` pair rows
            partition by partition; :func:`resample_frame` does the first.
        """
        X_res, y_res, notes = self._fit_resample_checked(X, y)
        for note in notes:  # the plan's warnings, at the caller's line
            warnings.warn(note.message, note.category, stacklevel=2)
        return X_res, y_res

    def _resample_dask(self, X, y):
        self._setup(X, y)
        inp = self._input
        total = sum(self.sampling_strategy_.values())
        self.cluster_stats_, self.class_paths_ = [], {}
        if total == 0:
            # Nothing to generate: the reference never fits the clusterer.
            self._validate_estimator()
            return (*self._output([]), ())
        self._validate_estimator()
        settings = PlanSettings.from_estimator(self)
        report_phase("clustering")
        labeller = self._cluster()
        # One graph key holds the labeller (a fitted clusterer may be large):
        # it travels once to each worker, not once per task.
        self._labeller_key = delayed(labeller, pure=True)
        report_phase("neighbours")
        decisions = self._plan(settings, labeller)
        order = list(self.sampling_strategy_)
        groups = [{"label": d.label, "pos": int(np.searchsorted(inp["classes"], d.label)),
                   "cluster": r.cluster, "m": r.class_count,
                   "class_index": order.index(d.label)}
                  for d in decisions for r in d.kept]
        self._neighbour_tasks(settings, groups, labeller)
        self._allocate_groups(settings, decisions, groups)
        report_phase("generation")
        notes = tuple(note for d in decisions for note in d.notes)
        return (*self._output(groups), notes)

    def _forget(self):
        # The inputs' graphs are not fitted state: do not keep them on the
        # estimator (it stays small to pickle).
        self.__dict__.pop("_input", None)
        self.__dict__.pop("_labeller_key", None)

    # -- inputs ---------------------------------------------------------------

    def _setup(self, X, y):
        if self.categorical_features is not None:
            raise ValueError(
                "kmsmote.dask does not support categorical_features: one-hot "
                "encode the categorical columns, or use kmsmote.KMeansSMOTE on "
                "data that fits in memory."
            )
        self._input = inp = self._check_inputs(X, y)
        xs = [delayed(_x_stats)(p, inp["kind"], inp["dtype"]) for p in inp["x_parts"]]
        ys = [delayed(_y_stats)(p) for p in inp["y_parts"]]
        stats = _compute(*xs, *ys)
        x_stats, y_stats = stats[:len(xs)], stats[len(xs):]
        if not all(s[1] for s in x_stats):
            bad = next(i for i, s in enumerate(x_stats) if not s[1])
            raise ValueError(
                f"Input X contains NaN or infinity (first in partition {bad}). "
                "Drop or impute those values first."
            )
        if any(s[1] for s in y_stats):
            raise ValueError(
                "Input y contains NaN or infinity: every sample needs a class "
                "label. Drop the unlabelled rows first."
            )
        self._align(inp, [s[0] for s in x_stats], [s[0] for s in y_stats])
        counts = {}
        for _, _, classes, cnt in y_stats:
            for label, c in zip(classes.tolist(), cnt.tolist()):
                counts[label] = counts.get(label, 0) + c
        classes = np.array(sorted(counts), dtype=inp["y_dtype"])
        # Unique labels have the target's type (binary, multiclass or
        # continuous): that is all scikit-learn's checks look at.
        check_classification_targets(classes)
        # NumPy scalars, as np.unique gives the single-machine code: labels
        # of y's dtype and int64 counts.  It matters: a float32 weight times
        # an int64 count is computed in float64, times a Python int in
        # float32 (NEP 50), and "ceil" allocation would differ.
        counts = {label: np.int64(counts[plain])
                  for label, plain in zip(classes, classes.tolist())}
        inp["classes"], inp["counts"] = classes, counts
        inp["n"] = sum(inp["lengths"])
        self.n_features_in_ = inp["d"]
        if inp["columns"] is not None and all(isinstance(c, str) for c in inp["columns"]):
            self.feature_names_in_ = np.asarray(inp["columns"], dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        # The scaling of the single-machine code (_Data) for extreme values.
        lo = min((s[2] for s in x_stats), default=math.inf)
        hi = max((s[3] for s in x_stats), default=-math.inf)
        peak = max(hi, -lo) if inp["n"] else 0.0
        inp["exponent"] = scale_exponent(peak)
        inp["peak"] = peak
        self.sampling_strategy_ = sampling_strategy_from_counts(
            self.sampling_strategy, counts, type_of_target(classes), lambda: inp["y"])

    def _check_inputs(self, X, y):
        if _is_dask_frame(X):
            kind = "frame"
            dtypes = X.dtypes
            bad = [c for c, t in dtypes.items() if not pd.api.types.is_numeric_dtype(t)]
            if bad:
                raise ValueError(
                    f"X has non-numeric columns {bad}: kmsmote.dask interpolates "
                    "numbers only. Encode them first."
                )
            # pandas extension dtypes (nullable, pyarrow) by their NumPy dtype.
            dtype = np.result_type(*[getattr(t, "numpy_dtype", t) for t in dtypes]) \
                if len(dtypes) else None
            columns = list(X.columns)
            x_parts = list(X.to_delayed())
            d = len(columns)
        elif isinstance(X, da.Array):
            kind = "array"
            if X.ndim != 2:
                raise ValueError(
                    f"X must be 2-D (n_samples, n_features); got a Dask array of "
                    f"shape {X.shape}."
                )
            if X.numblocks[1] != 1:
                X = X.rechunk({1: -1})
            dtype, columns, d = X.dtype, None, X.shape[1]
            x_parts = list(X.to_delayed().ravel())
        else:
            raise TypeError(
                "X must be a Dask array or a Dask DataFrame; got "
                f"{type(X).__name__}. For data in memory use kmsmote.KMeansSMOTE, "
                "or wrap it with dask.array.from_array."
            )
        if dtype is None or d < 1:
            raise ValueError("X needs at least one feature (column).")
        dtype = np.dtype(dtype)
        if dtype == np.bool_:
            raise ValueError(
                "X has boolean dtype: SMOTE interpolates between samples, which "
                "has no meaning for booleans. Convert X to float "
                "(X.astype(float)) to treat the values as 0/1."
            )
        if dtype.kind not in "iuf":
            raise ValueError(f"X must hold numbers; its dtype is {dtype}.")
        if isinstance(y, dd.Series):
            y_kind, y_dtype, y_name = "series", y.dtype, y.name
            y_parts = list(y.to_delayed())
        elif isinstance(y, da.Array):
            if y.ndim != 1:
                raise ValueError(
                    f"y must be 1-D (n_samples,); got a Dask array of shape {y.shape} "
                    "(one-vs-all targets are not supported on Dask)."
                )
            y_kind, y_dtype, y_name = "array", y.dtype, None
            y_parts = list(y.to_delayed())
        else:
            raise TypeError(
                "y must be a Dask array or a Dask Series; got "
                f"{type(y).__name__}."
            )
        # pandas extension dtypes (e.g. pyarrow strings) are handled as
        # object arrays inside the tasks and restored in the output Series.
        y_pd_dtype = y_dtype
        if not isinstance(y_dtype, np.dtype):
            y_dtype = object
        return {
            "X": X, "y": y, "kind": kind, "dtype": dtype, "columns": columns,
            "d": d, "x_parts": x_parts, "y_parts": y_parts, "y_kind": y_kind,
            "y_dtype": np.dtype(y_dtype), "y_pd_dtype": y_pd_dtype, "y_name": y_name,
            "x_dtypes": X.dtypes if kind == "frame" else None,
        }

    def _align(self, inp, x_lengths, y_lengths):
        """Pair y's partitions with X's.

        Partitions of X and y read from the same files need not match
        (dask's Parquet reader may merge files for a narrow selection):
        y is then cut along X's partition bounds (a small column moved once
        per pass), and the output's y is made of these pieces too.
        """
        n_x, n_y = sum(x_lengths), sum(y_lengths)
        if n_x != n_y:
            raise ValueError(
                f"X has {n_x} rows but y has {n_y}; they must have one class per row."
            )
        if x_lengths != y_lengths:
            y_bounds = np.concatenate([[0], np.cumsum(y_lengths)])
            x_bounds = np.concatenate([[0], np.cumsum(x_lengths)])
            parts = []
            for lo, hi in zip(x_bounds[:-1], x_bounds[1:]):
                first = int(np.searchsorted(y_bounds, lo, side="right")) - 1
                last = int(np.searchsorted(y_bounds, hi, side="left"))
                spans = [(max(lo, y_bounds[j]) - y_bounds[j], min(hi, y_bounds[j + 1]) - y_bounds[j])
                         for j in range(first, last)]
                parts.append(delayed(_label_rows)(
                    [(int(a), int(b)) for a, b in spans],
                    *inp["y_parts"][first:last]))
            inp["y_parts"] = parts
        # Chunk sizes unknown (e.g. an array from DataFrame.values): now known.
        X, y = inp["X"], inp["y"]
        if inp["kind"] == "array" and any(math.isnan(c) for c in X.chunks[0]):
            inp["X"] = da.Array(X.dask, X.name, chunks=(tuple(x_lengths), (inp["d"],)),
                                dtype=X.dtype)
        if inp["y_kind"] == "array" and any(math.isnan(c) for c in y.chunks[0]):
            inp["y"] = da.Array(y.dask, y.name, chunks=(tuple(y_lengths),), dtype=y.dtype)
        inp["lengths"] = list(x_lengths)
        inp["offsets"] = np.concatenate([[0], np.cumsum(x_lengths)]).astype(np.int64)

    # -- clustering -----------------------------------------------------------

    def _seed(self):
        if isinstance(self.random_state, numbers.Integral):
            return int(self.random_state)
        # One int drawn from the generator (or fresh entropy), then the
        # int-seed scheme everywhere.
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _validate_estimator(self):
        super()._validate_estimator()
        self._task_threads = 1 if self.n_jobs is None else resolve_n_threads(self.n_jobs)
        self._seed_ = self._seed()
        est = self.kmeans_estimator
        if est is None or isinstance(est, numbers.Integral):
            self.kmeans_estimator_ = KMeans(
                n_clusters=DEFAULT_N_CLUSTERS if est is None else int(est),
                random_state=self._seed_, n_jobs=self.n_jobs,
            )
            self._fitted_clusterer = False
            return
        try:
            check_is_fitted(est)
            fitted = True
        except NotFittedError:
            fitted = False
        if fitted:
            self.kmeans_estimator_ = est
        elif isinstance(self.kmeans_estimator_, KMeans):
            if not isinstance(self.kmeans_estimator_.random_state, numbers.Integral):
                self.kmeans_estimator_.set_params(random_state=self._seed_)
        else:
            raise ValueError(
                f"kmeans_estimator: an unfitted {type(est).__name__} cannot be "
                "fitted on Dask data. Pass an int (distributed k-means), an "
                "unfitted kmsmote.KMeans, or a clusterer already fitted (for "
                "example on a sample); its predict labels every partition."
            )
        self._fitted_clusterer = fitted

    def _cluster(self):
        """The labeller of every row: fixed by a fitted clusterer, or the
        centres of a distributed k-means."""
        inp = self._input
        est = self.kmeans_estimator_
        k = int(est.n_clusters)
        if self._fitted_clusterer:
            if isinstance(est, KMeans):
                # Its predict: nearest centre by the same kernel, unscaled.
                return _Labeller(k, centers=np.asarray(est.cluster_centers_),
                                 n_threads=self._task_threads)
            return _Labeller(k, estimator=est)
        n = inp["n"]
        if n < k:
            raise ValueError(f"n_samples={n} should be >= n_clusters={k}.")
        centers, n_iter = self._kmeans(est, k)
        est.cluster_centers_ = centers
        est.n_features_in_ = inp["d"]
        est.n_iter_ = n_iter
        return _Labeller(k, centers=centers, exponent=inp["exponent"],
                         n_threads=self._task_threads)

    def _kmeans(self, km, k):
        """kmsmote.KMeans's two stages: sample (on the client), then Lloyd
        steps over all partitions with exact fixed-point sums."""
        inp = self._input
        n, offsets = inp["n"], inp["offsets"]
        n_threads = resolve_n_threads(self.n_jobs)
        if km.sample_size is None:
            raise ValueError(
                "kmeans_estimator: kmsmote.KMeans(sample_size=None) clusters all "
                "rows in one process, which kmsmote.dask does not do; leave "
                "sample_size='auto' or give a number of rows (the refinement "
                "steps, refine_iter, run over all partitions)."
            )
        rng = check_random_state(km.random_state)
        best = None
        for _ in range(km.n_init):
            sample = km._sample_rows(n, rng)
            rows = np.arange(n) if sample is None else sample
            tasks = []
            for i, part in enumerate(inp["x_parts"]):
                lo, hi = np.searchsorted(rows, offsets[i:i + 2])
                tasks.append(delayed(_gather_rows)(
                    part, inp["kind"], inp["dtype"], inp["exponent"], rows[lo:hi] - offsets[i]))
            Xs = np.concatenate(_compute(*tasks))
            centers, _, inertia, n_iter, tol = km._sample_stage(Xs, sample is None, rng,
                                                               n_threads)
            if best is None or inertia < best[2]:
                best = (centers, tol, inertia, n_iter, sample is None)
        centers, tol, _, n_iter, all_rows = best
        if all_rows:
            return centers, n_iter
        # Fixed point: |x| < 2**E, so with `shift` every row's integer is
        # below 2**62 / n and no sum of n of them overflows int64.
        e_max = math.frexp(math.ldexp(inp["peak"], -inp["exponent"]))[1] if inp["peak"] else 0
        shift = 62 - e_max - max(1, int(n).bit_length()) - 1
        for _ in range(km.refine_iter):
            tasks = [
                delayed(_lloyd_partial)(part, inp["kind"], inp["dtype"], inp["exponent"],
                                        centers, shift, int(offsets[i]), self._task_threads)
                for i, part in enumerate(inp["x_parts"])
            ]
            (total,) = _compute(_tree(tasks, _merge_partials))
            n_iter += 1
            centers, moved = self._lloyd_update(centers, total, shift)
            if moved <= tol:
                break
        return centers, n_iter

    @staticmethod
    def _lloyd_update(centers, total, shift):
        """New centres from the exact sums of all partitions; (centres,
        summed squared shift)."""
        counts, sums, _, _, rows, labels = (np.array(v) for v in total)
        empty = np.flatnonzero(counts == 0)
        relocated = {}
        if empty.size:
            # As the C kernel: empty clusters take the rows farthest from
            # their centres (the candidates come sorted: farthest first,
            # lowest row index on ties).
            for c_new, j in zip(empty, range(empty.size)):
                row = _fixed_point(rows[j:j + 1], shift)[0]
                sums[labels[j]] -= row
                counts[labels[j]] -= 1
                sums[c_new] = row
                counts[c_new] = 1
                relocated[c_new] = rows[j]
        new = centers.copy()
        moved = 0.0
        for c in np.flatnonzero(counts):
            if c in relocated:
                # The row itself, exactly (not its fixed-point rounding).
                new[c] = relocated[c]
            else:
                mean = np.ldexp(sums[c].astype(np.float64), -shift) / counts[c]
                new[c] = mean.astype(centers.dtype)
            moved += float(np.sum((new[c].astype(np.float64) - centers[c]) ** 2))
        return new, moved

    # -- which clusters, for which class ----------------------------------------

    def _plan(self, settings, labeller):
        """Per-class per-cluster counts (one pass), then the plan's decision
        for every class to over-sample, in output order."""
        inp = self._input
        classes = inp["classes"]
        tasks = [
            delayed(_class_cluster_counts)(xp, yp, inp["kind"], inp["dtype"],
                                           self._labeller_key, classes)
            for xp, yp in zip(inp["x_parts"], inp["y_parts"])
        ]
        (table,) = _compute(_tree(tasks, _add))  # (n_classes, n_clusters), exact
        sizes = table.sum(axis=0)
        total = sum(self.sampling_strategy_.values())
        decisions = []
        for label, n_samples in self.sampling_strategy_.items():
            if n_samples == 0:
                continue
            row = table[int(np.searchsorted(classes, label))]
            decision = decide_class(settings, label, n_samples, total, sizes, row)
            self.class_paths_[label] = decision.path
            decisions.append(decision)
        return decisions

    # -- the shuffle and the neighbours -------------------------------------------

    def _limit(self):
        if self.max_cluster_bytes == "auto":
            return _auto_max_cluster_bytes()
        return int(self.max_cluster_bytes)

    def _check_size(self, group, nbytes, what, hint=""):
        if nbytes > self.max_cluster_bytes_:
            where = ("all of the class (no_cluster_policy fallback)"
                     if group["cluster"] < 0 else f"cluster {group['cluster']}")
            raise ValueError(
                f"kmsmote.dask: class {group['label']!r}, {where}: {what} need about "
                f"{nbytes / 2**20:.1f} MiB in one task, above max_cluster_bytes="
                f"{self.max_cluster_bytes_} ({self.max_cluster_bytes_ / 2**20:.1f} MiB). "
                f"Raise the number of clusters (kmeans_estimator, now "
                f"{int(self.kmeans_estimator_.n_clusters)}) so that every cluster is "
                "smaller, or raise max_cluster_bytes if the workers have the memory."
                + hint
            )

    def _neighbour_tasks(self, settings, groups, labeller):
        """Shuffle the class rows of every kept group to one task each, find
        neighbours and mean distances there (kept on the workers), and bring
        back two numbers per group.  A group on the approximate path too
        large for one task stays in pieces, one per partition, and is
        handled by _dask_cells."""
        inp = self._input
        self.max_cluster_bytes_ = self._limit()
        n_neighbors = int(self.nn_k_.n_neighbors)
        itemsize = 4 if inp["dtype"] == np.float32 else 8
        self._row_bytes = 2 * inp["d"] * itemsize + 8 * (n_neighbors - 1) + 16
        fast_nn = is_plain_euclidean_nn(self.nn_k_)
        own = isinstance(self.kmeans_estimator_, KMeans)
        # The single-machine path and seed of every group: the same output
        # for the same centres and int seed.
        paths = [search_path(settings, g["m"]) if fast_nn else "exact" for g in groups]
        seeds = [search_seed(self._seed_, g["class_index"], g["cluster"])
                 if path == "approximate" else None for g, path in zip(groups, paths)]
        for g, path in zip(groups, paths):
            nbytes = g["m"] * self._row_bytes
            # Split: the approximate path with a sampled mean (the exact
            # mean and search need every row in one place).
            g["split"] = (nbytes > self.max_cluster_bytes_ and path == "approximate"
                          and g["m"] * (g["m"] - 1) // 2 > _approx.EXACT_MEAN_PAIRS)
            if not g["split"]:
                self._check_size(g, nbytes, f"its {g['m']} class rows", hint=(
                    f" Clusters of more than {_approx.AUTO_MIN_ROWS:,} class rows on the "
                    "approximate path (neighbors='auto' or 'approximate') are split "
                    "into tasks by their cells instead; this one is searched exactly."))
        classes, k = inp["classes"], labeller.n_clusters
        table = np.full((classes.size, k), -1, dtype=np.int64)
        for i, g in enumerate(groups):
            if g["cluster"] < 0:
                table[g["pos"], :] = i
            else:
                table[g["pos"], g["cluster"]] = i
        G = len(groups)
        splits = [
            delayed(_split, nout=G)(xp, yp, inp["kind"], inp["dtype"], self._labeller_key,
                                    classes, table, G)
            for xp, yp in zip(inp["x_parts"], inp["y_parts"])
        ]
        whole = [i for i in range(G) if not groups[i]["split"]]
        parted = [i for i in range(G) if groups[i]["split"]]
        tasks = [
            delayed(_neighbours)(n_neighbors, fast_nn, self.nn_k_, own, inp["exponent"],
                                 self._task_threads, paths[i], seeds[i],
                                 *[s[i] for s in splits])
            for i in whole
        ]
        pieces = [[s[i] for s in splits] for i in parted]
        # One persist: the partitions are split once for all groups.
        done = dask.persist(*tasks, *[p for group in pieces for p in group])
        results, held = done[:len(whole)], done[len(whole):]
        summaries = _compute(*[delayed(_summary)(r) for r in results],
                             *[delayed(len)(p) for p in held])
        for i, r, (shape, mean_distance, se, path) in zip(whole, results, summaries):
            g = groups[i]
            g["task"], g["nn_shape"], g["mean_distance"] = r, shape, mean_distance
            g["search"], g["search_seed"] = (path, se), seeds[i]
        lengths = summaries[len(whole):]
        n_parts = len(splits)
        for j, i in enumerate(parted):
            g = groups[i]
            pieces, offsets = _dask_cells.coalesce(
                held[j * n_parts:(j + 1) * n_parts], lengths[j * n_parts:(j + 1) * n_parts],
                max(1, self.max_cluster_bytes_ // (2 * self._row_bytes)), dask.persist)
            rows = _dask_cells._PieceRows(pieces, offsets, inp["exponent"],
                                          self._task_threads, _compute, dask.persist)
            mean, se = _dask_cells.mean_distance(
                rows, inp["d"], seeds[i], max(1, self.max_cluster_bytes_ // self._row_bytes))
            if inp["exponent"]:
                mean, se = math.ldexp(mean, inp["exponent"]), math.ldexp(se, inp["exponent"])
            g["task"], g["rows"] = None, rows
            g["nn_shape"] = (g["m"], min(n_neighbors - 1, g["m"] - 1))
            g["mean_distance"], g["search"], g["search_seed"] = mean, ("approximate", se), \
                seeds[i]

    def _allocate_groups(self, settings, decisions, groups):
        """Samples per kept group (the plan's allocation, from the mean
        distances the tasks sent back); the cluster_stats_ records."""
        dtype = weight_dtype(self._input["dtype"])
        at = 0
        for decision in decisions:
            mine = groups[at:at + len(decision.kept)]
            at += len(mine)
            records, counts = allocate_class(settings, decision,
                                             [g["mean_distance"] for g in mine], dtype,
                                             [g["search"] for g in mine])
            self.cluster_stats_.extend(r.as_dict() for r in records)
            for g, count in zip(mine, counts):
                g["count"] = count
        # The draws, in slices of the output (no task holds them all), and
        # the approximate groups' lists, for the rows drawn.
        for g in groups:
            if g["count"]:
                g["draws"] = _dask_cells.draw_slices(self._seed_, int(np.prod(g["nn_shape"])),
                                                     self._slices(g["count"]), dask.persist)
            if g["split"] and g["count"]:
                g["lists"] = _dask_cells.neighbour_lists(
                    g["rows"], g["nn_shape"][1], g["search_seed"], g["draws"], g["count"],
                    self.max_cluster_bytes_, self._row_bytes)
        late = [g for g in groups
                if g["search_seed"] is not None and g["count"] and not g["split"]]
        lists = dask.persist(*[
            delayed(_with_lists)(g["task"], int(self.nn_k_.n_neighbors), g["search_seed"],
                                 self._input["exponent"], self._task_threads,
                                 *([delayed(_dask_cells.reached)(d, g["nn_shape"][1]) for d in g["draws"]]
                                   if g["count"] < g["m"] else []))
            for g in late])
        for g, task in zip(late, lists):
            g["task"] = task

    # -- the result -----------------------------------------------------------------

    def _output(self, groups):
        """X_res and y_res, cut at the same rows.

        Both are built from the same list of partitions: X's non-empty
        ones (with y cut along X's bounds, see _align), then the synthetic
        ones.  So they have the same partition lengths and, for pandas,
        the same known divisions of a fresh RangeIndex (the index the
        single-machine code returns): ``X_res.assign(label=y_res)``,
        ``dd.concat([X_res, y_res], axis=1)`` and ``da.hstack`` pair rows
        partition by partition.  X and y as they came would not do: their
        partitions differ whenever y was cut, and dask's optimizer may
        merge a Parquet reader's partitions differently for X's columns
        than for y's at compute time.
        """
        inp = self._input
        frame, series = inp["kind"] == "frame", inp["y_kind"] == "series"
        X, y = inp["X"], inp["y"]
        # Empty partitions (e.g. after a filter) are left out: a partition
        # needs at least one row to have a division of its own.
        keep = [i for i, length in enumerate(inp["lengths"]) if length]
        starts = [int(inp["offsets"][i]) for i in keep]
        sizes = [int(inp["lengths"][i]) for i in keep]
        x_synth, y_synth = [], []
        start = inp["n"]
        for g in groups:
            count = g["count"]
            if count == 0:
                continue
            bounds = self._slices(count)
            draws = g["draws"]
            metas = [(inp["columns"], inp["x_dtypes"].to_dict(), start + a) if frame else None
                     for a, _ in bounds]
            if g["split"]:
                x_synth.extend(_dask_cells.synthetic_blocks(
                    g["rows"], g["lists"], g["nn_shape"][1], draws, bounds, inp["dtype"],
                    self._task_threads, metas))
            else:
                x_synth.extend(delayed(_synthetic)(g["task"], draws[j], inp["dtype"],
                                                   self._task_threads, metas[j])
                               for j in range(len(bounds)))
            for a, b in bounds:
                meta = (inp["y_name"], inp["y_pd_dtype"], start) if series else None
                y_synth.append(delayed(_labels_block)(g["label"], b - a, inp["y_dtype"], meta))
                starts.append(start)
                sizes.append(b - a)
                start += b - a
        divisions = tuple(starts) + (start - 1,)
        n_kept = len(keep)
        if frame:
            X_res = dd.from_delayed(
                [delayed(_renumber)(inp["x_parts"][i], a) for i, a in zip(keep, starts)] + x_synth,
                meta=X._meta.reset_index(drop=True), divisions=divisions, verify_meta=False)
        else:
            X_res = self._stack_array(X, sizes[:n_kept], x_synth, sizes[n_kept:])
        if series:
            y_res = dd.from_delayed(
                [delayed(_renumber)(inp["y_parts"][i], a) for i, a in zip(keep, starts)] + y_synth,
                meta=y._meta.reset_index(drop=True), divisions=divisions, verify_meta=False)
        else:
            y_res = self._stack_array(y, sizes[:n_kept], y_synth, sizes[n_kept:])
        return X_res, y_res

    def _slices(self, count):
        """The output slices of a kept group's ``count`` synthetic rows: at
        most as many rows as the largest input partition."""
        piece = max(1, max(self._input["lengths"]))
        return [(a, min(a + piece, count)) for a in range(0, count, piece)]

    @staticmethod
    def _stack_array(original, chunks, blocks, sizes):
        """The original array in row chunks ``chunks`` (rechunked by dask:
        its to_delayed() parts would not keep futures it is built from
        alive), then the synthetic blocks."""
        if original.chunks[0] != tuple(chunks):
            original = original.rechunk({0: tuple(chunks)})
        return da.concatenate([original] + [
            da.from_delayed(p, shape=(s,) + original.shape[1:], dtype=original.dtype)
            for p, s in zip(blocks, sizes)], axis=0)


def resample_frame(frame, target, *, sampler=None, **params):
    """Resample a Dask DataFrame that holds its label as a column.

    ``fit_resample`` on the features and the label column, joined back
    into one frame: the short way to write a resampled data set with its
    label, e.g. to Parquet.

    Parameters
    ----------
    frame : dask DataFrame of shape (n_samples, n_features + 1)
        The features and the label column.
    target : hashable
        Name of the label column; every other column is a feature.
    sampler : kmsmote.dask.KMeansSMOTE, default=None
        The sampler to fit; pass one to read its fitted attributes
        (``cluster_stats_``, ``sampling_strategy_``, ...) afterwards.
        ``None``: ``KMeansSMOTE(**params)``.
    **params
        Parameters of :class:`kmsmote.dask.KMeansSMOTE` (without
        ``sampler`` only).

    Returns
    -------
    resampled : dask DataFrame
        ``frame``'s rows, then the synthetic rows, with ``frame``'s columns
        in their order (the label where it was), indexed ``0, 1, ...`` with
        known divisions.  Lazy, like ``fit_resample``'s result.

    Examples
    --------
    >>> import dask.dataframe as dd
    >>> import pandas as pd
    >>> from sklearn.datasets import make_classification
    >>> from kmsmote.dask import resample_frame
    >>> X, y = make_classification(n_samples=20_000, n_features=4,
    ...                            weights=[0.9, 0.1], random_state=0)
    >>> frame = pd.DataFrame(X, columns=["a", "b", "c", "d"]).assign(is_fraud=y)
    >>> out = resample_frame(dd.from_pandas(frame, npartitions=4), "is_fraud",
    ...                      random_state=0)
    >>> list(out.columns)
    ['a', 'b', 'c', 'd', 'is_fraud']
    >>> out["is_fraud"].value_counts().compute().sort_index().tolist()
    [17915, 17915]
    """
    if not _is_dask_frame(frame):
        raise TypeError(
            f"frame must be a Dask DataFrame; got {type(frame).__name__}. "
            "For a pandas DataFrame use kmsmote.KMeansSMOTE, or wrap it with "
            "dask.dataframe.from_pandas."
        )
    if target not in frame.columns:
        raise ValueError(
            f"target={target!r} is not a column of frame; its columns are "
            f"{list(frame.columns)}."
        )
    if sampler is None:
        sampler = KMeansSMOTE(**params)
    elif params:
        raise TypeError(
            "resample_frame takes either sampler or parameters "
            f"({', '.join(sorted(params))}), not both: set them on the sampler "
            "(sampler.set_params(...))."
        )
    elif not isinstance(sampler, KMeansSMOTE):
        raise TypeError(
            f"sampler must be a kmsmote.dask.KMeansSMOTE; got {type(sampler).__name__}."
        )
    X_res, y_res, notes = sampler._fit_resample_checked(frame.drop(columns=target),
                                                        frame[target])
    for note in notes:
        warnings.warn(note.message, note.category, stacklevel=2)
    # Same partitions and divisions (see _output): a partition-wise join.
    return dd.concat([X_res, y_res], axis=1)[list(frame.columns)]
