"""The default clusterer of KMeansSMOTE: a compiled k-means estimator."""

import numbers

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _kmeans
from ._threading import resolve_n_threads

# Rows used to seed k-means++ on large inputs: seeding costs
# O(n * k * n_local_trials * d), Lloyd iterations O(n * k * d) each, so
# seeding on a random subset keeps it a small share of the fit.
_INIT_SAMPLE_MIN = 20_000
_INIT_SAMPLE_PER_CLUSTER = 100


def _sparse_sq_norms(X):
    return np.asarray(X.multiply(X).sum(axis=1), dtype=np.float64).ravel()


def _sparse_assign(X, centers, x_sq=None, chunk=65536):
    """Nearest centre of every row of sparse X, via ||x||^2 - 2 x.c + ||c||^2."""
    if x_sq is None:
        x_sq = _sparse_sq_norms(X)
    c64 = np.asarray(centers, dtype=np.float64)
    c_sq = np.einsum("ij,ij->i", c64, c64)
    labels = np.empty(X.shape[0], dtype=np.int64)
    dist2 = np.empty(X.shape[0], dtype=np.float64)
    for start in range(0, X.shape[0], chunk):
        stop = min(start + chunk, X.shape[0])
        d2 = np.asarray(X[start:stop] @ c64.T, dtype=np.float64)
        d2 *= -2.0
        d2 += c_sq[None, :]
        d2 += x_sq[start:stop, None]
        np.maximum(d2, 0.0, out=d2)
        labels[start:stop] = np.argmin(d2, axis=1)
        dist2[start:stop] = d2[np.arange(stop - start), labels[start:stop]]
    return labels, dist2


def _sparse_kmeanspp(X, k, n_local_trials, rng):
    n = X.shape[0]
    x_sq = _sparse_sq_norms(X)
    centers = np.empty((k, X.shape[1]), dtype=np.float64)
    first = rng.randint(n)
    centers[0] = X[first].toarray().ravel()
    _, closest = _sparse_assign(X, centers[:1], x_sq)
    potential = closest.sum()
    for c in range(1, k):
        if potential <= 0:
            cand = rng.randint(n, size=n_local_trials)
        else:
            cand = np.searchsorted(
                np.cumsum(closest), rng.uniform(size=n_local_trials) * potential
            )
            np.clip(cand, 0, n - 1, out=cand)
        cand_dense = X[cand].toarray()
        _, d_cand = _sparse_assign(X, cand_dense[:1], x_sq)
        best = (np.minimum(closest, d_cand), 0)
        for t in range(1, n_local_trials):
            _, d_t = _sparse_assign(X, cand_dense[t : t + 1], x_sq)
            trial = np.minimum(closest, d_t)
            if trial.sum() < best[0].sum():
                best = (trial, t)
        closest = best[0]
        potential = closest.sum()
        centers[c] = cand_dense[best[1]]
    return centers


def _sparse_lloyd(X, centers, max_iter, tol):
    x_sq = _sparse_sq_norms(X)
    k = centers.shape[0]
    labels = None
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        new_labels, dist2 = _sparse_assign(X, centers, x_sq)
        onehot = sparse.csr_matrix(
            (np.ones(X.shape[0]), (new_labels, np.arange(X.shape[0]))),
            shape=(k, X.shape[0]),
        )
        sums = np.asarray((onehot @ X).todense(), dtype=np.float64)
        counts = np.bincount(new_labels, minlength=k).astype(np.float64)
        new_centers = centers.copy()
        full = counts > 0
        new_centers[full] = sums[full] / counts[full, None]
        empty = np.flatnonzero(~full)
        if empty.size:
            far = np.argsort(-dist2, kind="stable")[: empty.size]
            new_centers[empty] = X[far].toarray()
        shift = ((new_centers - centers) ** 2).sum()
        centers = new_centers
        converged = labels is not None and np.array_equal(labels, new_labels)
        labels = new_labels
        if converged or shift <= tol:
            break
    labels, dist2 = _sparse_assign(X, centers, x_sq)
    return centers, labels, float(dist2.sum()), n_iter


class KMeans(ClusterMixin, TransformerMixin, BaseEstimator):
    """K-means clustering compiled in C: k-means++ seeding and Lloyd steps.

    The default clusterer of :class:`kmsmote.KMeansSMOTE`.  Every distance
    pass runs in C, in parallel over fixed-size chunks of rows whose partial
    sums are merged in a fixed order: for a given ``random_state`` the result
    is the same whatever the number of threads.

    Parameters
    ----------
    n_clusters : int, default=8
        The number of clusters.
    init : {"k-means++", "random"} or ndarray of shape (n_clusters, n_features), \
            default="k-means++"
        How the centres start: greedy k-means++ (on a random subset of at
        most ``max(20000, 100 * n_clusters)`` rows), ``n_clusters`` distinct
        random rows, or the given array.
    n_init : int, default=1
        Runs with different seeds; the one with the lowest inertia is kept.
    max_iter : int, default=300
        Maximum number of Lloyd iterations of a run.
    tol : float, default=1e-4
        Convergence tolerance on the summed squared centre shift, relative to
        the mean per-feature variance of ``X`` (scikit-learn's rule).
    random_state : int, RandomState instance or None, default=None
        Seed of the initialisation.
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
        Lloyd iterations of the kept run.
    n_features_in_ : int
        Number of features seen during :meth:`fit`.

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
        "random_state": ["random_state"],
        "n_jobs": [numbers.Integral, None],
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        init="k-means++",
        n_init=1,
        max_iter=300,
        tol=1e-4,
        random_state=None,
        n_jobs=None,
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _check_X(self, X, reset):
        return validate_data(
            self,
            X,
            reset=reset,
            accept_sparse="csr",
            dtype=[np.float64, np.float32],
            order="C",
        )

    def _initial_centers(self, X, rng, n_threads):
        k = self.n_clusters
        n = X.shape[0]
        if isinstance(self.init, np.ndarray):
            centers = np.array(self.init, dtype=X.dtype, order="C", copy=True)
            if centers.shape != (k, X.shape[1]):
                raise ValueError(
                    f"The shape of the initial centers {centers.shape} does not "
                    f"match the number of clusters {k} and features {X.shape[1]}."
                )
            if not np.all(np.isfinite(centers)):
                raise ValueError("The initial centers contain NaN or infinity.")
            return centers
        if self.init == "random":
            rows = np.sort(rng.choice(n, size=k, replace=False))
            picked = X[rows]
            return picked.toarray().astype(X.dtype) if sparse.issparse(X) else np.ascontiguousarray(picked)
        n_local_trials = 2 + int(np.log(k))
        sample_size = max(_INIT_SAMPLE_MIN, _INIT_SAMPLE_PER_CLUSTER * k)
        if n > sample_size:
            subset = np.sort(rng.choice(n, size=sample_size, replace=False))
            Xs = X[subset]
        else:
            Xs = X
        if sparse.issparse(X):
            return _sparse_kmeanspp(Xs, k, n_local_trials, rng).astype(X.dtype)
        seed = int(rng.randint(0, np.iinfo(np.int64).max, dtype=np.int64))
        return _kmeans.kmeans_plusplus(
            np.ascontiguousarray(Xs), k, n_local_trials, seed, n_threads
        )

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
        rng = check_random_state(self.random_state)
        n_threads = resolve_n_threads(self.n_jobs)
        if sparse.issparse(X):
            mean_var = float(np.mean(
                np.asarray(X.multiply(X).mean(axis=0)).ravel()
                - np.asarray(X.mean(axis=0)).ravel() ** 2
            ))
        else:
            mean_var = float(np.mean(np.var(X, axis=0, dtype=np.float64)))
        tol = self.tol * mean_var
        best = None
        for _ in range(self.n_init):
            centers = self._initial_centers(X, rng, n_threads)
            if sparse.issparse(X):
                centers, labels, inertia, n_iter = _sparse_lloyd(
                    X, centers.astype(np.float64), self.max_iter, tol
                )
                centers = centers.astype(X.dtype)
            else:
                centers, labels, inertia, n_iter = _kmeans.lloyd(
                    X, centers, self.max_iter, tol, n_threads
                )
            if best is None or inertia < best[2]:
                best = (centers, labels, inertia, n_iter)
        self.cluster_centers_, self.labels_, self.inertia_, self.n_iter_ = best
        self.inertia_ = float(self.inertia_)
        self.n_iter_ = int(self.n_iter_)
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
        check_is_fitted(self)
        X = self._check_X(X, reset=False)
        if sparse.issparse(X):
            return _sparse_assign(X, self.cluster_centers_)[0]
        centers = self.cluster_centers_.astype(X.dtype, copy=False)
        labels, _ = _kmeans.assign(X, centers, resolve_n_threads(self.n_jobs))
        return labels

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
        check_is_fitted(self)
        X = self._check_X(X, reset=False)
        if sparse.issparse(X):
            return -float(_sparse_assign(X, self.cluster_centers_)[1].sum())
        centers = self.cluster_centers_.astype(X.dtype, copy=False)
        _, dist2 = _kmeans.assign(X, centers, resolve_n_threads(self.n_jobs))
        return -float(dist2.sum())

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
