"""The default clusterer of KMeansSMOTE: a compiled k-means estimator."""

import numbers
from functools import partial

import numpy as np
from scipy import sparse
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    ClusterMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _kmeans
from ._plan import DEFAULT_N_CLUSTERS
from ._threading import resolve_n_threads
from ._validation import validate_fit_data

# The fit runs in two stages.  Seeding (k-means++) and Lloyd iterations to
# convergence run on a random sample of rows; then Lloyd iterations on every
# row (one by default) refine the centres.  Lloyd converges slowly on large data (often
# 100-200 passes), but the sample already places the centres where the full
# data would: the refinement passes then cost little and reach a lower
# inertia than mini-batch k-means (bench/run.py clusterer).
# The automatic sample: at least 10,000 rows, 500 per cluster, and
# n_samples / 50 rows up to 50,000 (kmsmote.dask gathers the sample on the
# client: it stays a small part of large data).
_AUTO_SAMPLE_MIN = 10_000
_AUTO_SAMPLE_PER_CLUSTER = 500
_AUTO_SAMPLE_FRACTION = 50
_AUTO_SAMPLE_FRACTION_MAX = 50_000
# The sample stage stops once the centres move less than this share of
# their sampling noise (KMeans._sample_tol).
_SAMPLE_NOISE_SHARE = 0.03


def _kernels(X):
    """(kmeans_plusplus, lloyd, assign) for dense or CSR input."""
    if sparse.issparse(X):
        return _kmeans.csr_kmeans_plusplus, _kmeans.csr_lloyd, _kmeans.csr_assign
    return _kmeans.kmeans_plusplus, _kmeans.lloyd, _kmeans.assign


def _mean_variance(X):
    """Mean over features of the per-feature variance (scikit-learn's tol scale)."""
    if sparse.issparse(X):
        mean = np.asarray(X.mean(axis=0), dtype=np.float64).ravel()
        mean_sq = np.asarray(X.multiply(X).mean(axis=0), dtype=np.float64).ravel()
        return float(np.mean(mean_sq - mean**2))
    return float(np.mean(np.var(X, axis=0, dtype=np.float64)))


class KMeans(ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin, BaseEstimator):
    """K-means clustering compiled in C: k-means++ seeding and Lloyd steps.

    The default clusterer of :class:`kmsmote.KMeansSMOTE`.  On large inputs
    the centres are seeded and iterated to convergence on a random sample of
    rows, then refined by Lloyd iterations on all rows: most of the quality
    of a full Lloyd run at a small fraction of its cost.  Every distance pass
    runs in C, in parallel over fixed-size chunks of rows whose partial sums
    are merged in a fixed order, so the result for a given ``random_state``
    does not depend on the number of threads.  Dense and sparse (CSR) inputs
    holding the same values give the same clustering.

    Parameters
    ----------
    n_clusters : int, default=8
        The number of clusters.
    init : {"k-means++", "random"} or ndarray of shape (n_clusters, n_features), \
            default="k-means++"
        How the centres start: greedy k-means++ on the sample, ``n_clusters``
        distinct random rows of the sample, or the given array.
    n_init : int, default=1
        Runs with different seeds; the one with the lowest inertia is kept.
    max_iter : int, default=300
        Maximum number of Lloyd iterations on the sample (on all rows when the
        sample is all rows).
    tol : float, default=1e-4
        Convergence tolerance on the summed squared centre shift, relative to
        the mean per-feature variance of the data (scikit-learn's rule).  On
        a sample, the stage also stops once the shift falls below 3 % of the
        centres' sampling noise (about ``n_clusters**2 * n_features /
        sample_size`` times that variance): smaller moves only fit the
        sample, and the refinement on all rows follows.
    sample_size : int, "auto" or None, default="auto"
        Rows on which the centres are seeded and iterated before the
        refinement on all rows.  ``"auto"`` means
        ``max(10000, 500 * n_clusters, min(n_samples // 50, 50000))`` rows;
        ``None``, or any size of at least ``n_samples``, runs plain Lloyd on
        all rows.
    refine_iter : int, default=1
        Lloyd iterations on all rows after the sample stage (they stop early
        on convergence); the labels are then those of the final centres.
        Each iteration costs a pass over all rows; on the benchmark data a
        second one lowered the inertia by 0.1 % or less.  Ignored when the
        sample is all rows.
    random_state : int, RandomState instance or None, default=None
        Seed of the sampling and of the initialisation.
    n_jobs : int, default=None
        Threads used by the C kernels: ``None`` follows OpenMP's default
        (``OMP_NUM_THREADS`` or the usable cores), ``-1`` all cores.  The
        result does not depend on it.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        Centres, in the dtype of ``X`` (float32 stays float32).
    labels_ : ndarray of shape (n_samples,)
        Index of the nearest centre of every training row.
    inertia_ : float
        Sum of squared distances of the rows to their nearest centre.
    n_iter_ : int
        Lloyd iterations of the kept run (sample stage plus refinement).
    n_features_in_ : int
        Number of features seen during :meth:`fit`.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features, when X has string column names.

    Examples
    --------
    >>> import numpy as np
    >>> from kmsmote import KMeans
    >>> X = np.array([[0., 0.], [0., 1.], [10., 10.], [10., 11.]])
    >>> km = KMeans(n_clusters=2, random_state=0).fit(X)
    >>> sorted(np.bincount(km.labels_).tolist())
    [2, 2]
    >>> float(km.inertia_)
    1.0
    """

    _parameter_constraints: dict = {
        "n_clusters": [Interval(numbers.Integral, 1, None, closed="left")],
        "init": [StrOptions({"k-means++", "random"}), np.ndarray],
        "n_init": [Interval(numbers.Integral, 1, None, closed="left")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "sample_size": [Interval(numbers.Integral, 1, None, closed="left"),
                        StrOptions({"auto"}), None],
        "refine_iter": [Interval(numbers.Integral, 0, None, closed="left")],
        "random_state": ["random_state"],
        "n_jobs": [numbers.Integral, None],
    }

    def __init__(
        self,
        n_clusters=DEFAULT_N_CLUSTERS,
        *,
        init="k-means++",
        n_init=1,
        max_iter=300,
        tol=1e-4,
        sample_size="auto",
        refine_iter=1,
        random_state=None,
        n_jobs=None,
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.sample_size = sample_size
        self.refine_iter = refine_iter
        self.random_state = random_state
        self.n_jobs = n_jobs

    @property
    def _n_features_out(self):
        return self.cluster_centers_.shape[0]

    def _check_X(self, X, reset):
        check = validate_fit_data if reset else partial(validate_data, reset=False)
        X = check(self, X, accept_sparse="csr", dtype=[np.float64, np.float32], order="C")
        if sparse.issparse(X) and not X.has_canonical_format:
            X = X.copy()
            X.sum_duplicates()
        return X

    def _sample_rows(self, n, rng):
        if self.sample_size is None:
            return None
        if self.sample_size == "auto":
            size = max(_AUTO_SAMPLE_MIN, _AUTO_SAMPLE_PER_CLUSTER * self.n_clusters,
                       min(n // _AUTO_SAMPLE_FRACTION, _AUTO_SAMPLE_FRACTION_MAX))
        else:
            size = int(self.sample_size)
        if size >= n:
            return None
        size = max(size, self.n_clusters)
        # RandomState.choice without replacement permutes all n rows; a
        # Generator seeded from rng draws the sample in O(size).
        seed = int(rng.randint(0, np.iinfo(np.int64).max, dtype=np.int64))
        return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))

    def _sample_tol(self, shape, variance, tol):
        """Stopping shift of the sample stage: tol, or 3 % of the sampling
        noise of the centres if larger.  A centre of m sample rows is off
        the full data's mean by about d * variance / m (squared); with
        m = size / k the k centres sum to k^2 d variance / size.  Moves far
        below that only fit the sample, and the refinement on every row
        corrects them anyway (on five data sets, the W1, W3 and W5 benchmark
        data, 50 blobs and uniform: 40-75 % fewer iterations than tol alone,
        inertia within 0.3 %; 3 % rather than 1 % saved a third of the
        iterations on W3's data at the same inertia)."""
        size, d = shape
        return max(tol, _SAMPLE_NOISE_SHARE * self.n_clusters**2 * d * variance / size)

    def _sample_stage(self, Xs, whole, rng, n_threads):
        """Seeding and Lloyd iterations on the sample Xs (all rows if
        whole), stopped by _sample_tol on a sample: (centres, labels,
        inertia, iterations, tol), tol being scikit-learn's, with which the
        refinement on all rows stops.  kmsmote.dask runs the same stage."""
        kmeanspp, lloyd, _ = _kernels(Xs)
        variance = _mean_variance(Xs)
        tol = self.tol * variance
        centers = self._initial_centers(Xs, rng, n_threads, kmeanspp)
        stop = tol if whole else self._sample_tol(Xs.shape, variance, tol)
        return (*lloyd(Xs, centers, self.max_iter, stop, n_threads), tol)

    def _initial_centers(self, Xs, rng, n_threads, kmeanspp):
        k = self.n_clusters
        if isinstance(self.init, np.ndarray):
            centers = np.array(self.init, dtype=Xs.dtype, order="C", copy=True)
            if centers.shape != (k, Xs.shape[1]):
                raise ValueError(
                    f"The shape of the initial centers {centers.shape} does not "
                    f"match the number of clusters {k} and features {Xs.shape[1]}."
                )
            if not np.all(np.isfinite(centers)):
                raise ValueError("The initial centers contain NaN or infinity.")
            return centers
        if self.init == "random":
            rows = np.sort(rng.choice(Xs.shape[0], size=k, replace=False))
            picked = Xs[rows]
            if sparse.issparse(picked):
                picked = picked.toarray()
            return np.ascontiguousarray(picked, dtype=Xs.dtype)
        seed = int(rng.randint(0, np.iinfo(np.int64).max, dtype=np.int64))
        return kmeanspp(Xs, k, 2 + int(np.log(k)), seed, n_threads)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Compute the clustering.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training rows.  float32 is kept as float32; other dtypes are
            converted to float64.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : KMeans
            The fitted estimator.
        """
        X = self._check_X(X, reset=True)
        n = X.shape[0]
        if n < self.n_clusters:
            raise ValueError(
                f"n_samples={n} should be >= n_clusters={self.n_clusters}."
            )
        _, lloyd, _ = _kernels(X)
        rng = check_random_state(self.random_state)
        n_threads = resolve_n_threads(self.n_jobs)
        best = None
        for _ in range(self.n_init):
            sample = self._sample_rows(n, rng)
            Xs = X if sample is None else X[sample]
            centers, labels, inertia, n_iter, tol = self._sample_stage(
                Xs, sample is None, rng, n_threads)
            if sample is not None:
                # refine_iter=0 still assigns every row (labels_, inertia_).
                centers, labels, inertia, n_refine = lloyd(
                    X, centers, self.refine_iter, tol, n_threads
                )
                n_iter += n_refine
            if best is None or inertia < best[2]:
                best = (centers, labels, inertia, n_iter)
        centers, labels, inertia, n_iter = best
        self.cluster_centers_ = centers
        # int32, as scikit-learn's KMeans (half the memory of the kernel's int64).
        self.labels_ = labels.astype(np.int32)
        self.inertia_ = float(inertia)
        self.n_iter_ = int(n_iter)
        return self

    def predict(self, X):
        """Index of the nearest centre of every row of ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to assign.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Cluster index of each row.
        """
        return self._assign(X)[0].astype(np.int32)

    def _assign(self, X):
        check_is_fitted(self)
        X = self._check_X(X, reset=False)
        _, _, assign = _kernels(X)
        centers = np.ascontiguousarray(self.cluster_centers_, dtype=X.dtype)
        return assign(X, centers, resolve_n_threads(self.n_jobs))

    def fit_predict(self, X, y=None):
        """Fit, then return the training labels (``labels_``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training rows.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Cluster index of each row.
        """
        return self.fit(X).labels_

    def transform(self, X):
        """Euclidean distance of every row of ``X`` to every centre.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to transform.

        Returns
        -------
        distances : ndarray of shape (n_samples, n_clusters)
            Distances in float64.
        """
        check_is_fitted(self)
        X = self._check_X(X, reset=False)
        from sklearn.metrics.pairwise import euclidean_distances

        return euclidean_distances(X, self.cluster_centers_)

    def score(self, X, y=None):
        """Opposite of the inertia of ``X`` on the fitted centres.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to score.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        score : float
            ``-sum(min squared distance)``.
        """
        return -float(self._assign(X)[1].sum())

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
