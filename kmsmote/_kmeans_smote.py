"""KMeans-SMOTE: the estimator users call."""

import ctypes
import math
import numbers
import sys
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from sklearn import get_config
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, _fit_context, clone
from sklearn.preprocessing import label_binarize
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Hidden, Interval, StrOptions
from sklearn.utils._tags import InputTags as _SkInputTags
from sklearn.utils._tags import TargetTags, Tags as _SkTags
from sklearn.utils.multiclass import check_classification_targets

from . import _generate, _memory, _neighbors
from ._categorical import _CategoricalMixin
from ._errors import NoClusterError
from ._kmeans_estimator import KMeans
from ._progress import report_phase
from ._sampling_strategy import check_sampling_strategy, check_target_type, is_integer_labels
from ._threading import resolve_n_threads
from ._validation import (
    OutputFormatter,
    check_neighbors_object,
    is_plain_euclidean_nn,
    validate_fit_data,
)

# ---------------------------------------------------------------------------
# Tags: imbalanced-learn's pipeline and estimator checks read `sampler_tags`
# and `input_tags.dataframe`; they are declared here so that imbalanced-learn
# is not needed at run time.


@dataclass(slots=True)
class InputTags(_SkInputTags):
    """scikit-learn's input tags plus imbalanced-learn's ``dataframe``."""

    dataframe: bool = False


@dataclass(slots=True)
class SamplerTags:
    """Tags of a sampler: whether it exposes ``sample_indices_``."""

    sample_indices: bool = False


@dataclass(slots=True)
class Tags(_SkTags):
    """scikit-learn's tags plus imbalanced-learn's ``sampler_tags``."""

    sampler_tags: SamplerTags | None = field(default_factory=SamplerTags)


# ---------------------------------------------------------------------------
# The "relax" policy.

# Part of a class's samples that the clusters kept by no_cluster_policy="relax"
# hold at least (when the clusters with enough class samples hold that much).
_RELAX_COVER = 0.9


def _cover_statistic(ranked, stat, n_class):
    """The filter statistic of the first cluster, in ``ranked`` order, at
    which the clusters so far hold ``_RELAX_COVER`` of the ``n_class``
    samples; the last cluster's if they never do."""
    held = 0
    for record in ranked:
        held += record["class_count"]
        if held >= _RELAX_COVER * n_class:
            break
    return stat(record)


# ---------------------------------------------------------------------------
# Cluster weights.


def _auto_density_exponent(m):
    # imbalanced-learn's rule, evaluated with the same float operations.
    return math.log(m, 1.6) ** 1.8 * 0.16


def cluster_weights(mean_distances, class_counts, exponent, dtype):
    """Share of the samples to generate that each kept cluster receives.

    The sparsity of a cluster is ``mean_distance ** exponent / count``.  Where
    every sparsity is finite and their sum is positive and finite, the
    weights are computed exactly as imbalanced-learn does (in ``dtype``, so
    float32 data gives float32 weights).  Otherwise (duplicate points give a
    zero mean distance; large distances or exponents overflow) the reference
    would produce NaN; here the weights are normalised in log space, and a
    set of clusters that all have zero sparsity shares the weight uniformly.

    Parameters
    ----------
    mean_distances : sequence of float
        Mean pairwise Euclidean distance of the class samples per cluster.
    class_counts : sequence of int
        Class samples per cluster.
    exponent : float or None
        The density exponent; ``None`` means the per-cluster 'auto' rule.
    dtype : numpy dtype
        float32 or float64: the dtype in which the reference evaluates.

    Returns
    -------
    weights : ndarray of shape (n_clusters,) and dtype ``dtype``
    log_sparsity : ndarray of shape (n_clusters,), float64
    """
    dtype = np.dtype(dtype)
    exps = [
        _auto_density_exponent(m) if exponent is None else exponent
        for m in class_counts
    ]
    with np.errstate(all="ignore"):
        direct = np.array(
            [(dtype.type(md) ** e) / m for md, e, m in zip(mean_distances, exps, class_counts)]
        )
        total = direct.sum()
        log_sparsity = np.empty(len(class_counts), dtype=np.float64)
        for i, (md, e, m) in enumerate(zip(mean_distances, exps, class_counts)):
            md = float(md)
            if md > 0:
                log_sparsity[i] = e * math.log(md) - math.log(m)
            elif e > 0:
                log_sparsity[i] = -np.inf
            elif e == 0:
                log_sparsity[i] = -math.log(m)
            else:
                log_sparsity[i] = np.inf
        if np.all(np.isfinite(direct)) and np.isfinite(total) and total > 0:
            return direct / total, log_sparsity
    if np.all(log_sparsity == -np.inf):
        weights = np.full(len(class_counts), 1.0 / len(class_counts))
    elif np.any(log_sparsity == np.inf):
        top = log_sparsity == np.inf
        weights = top / top.sum()
    else:
        with np.errstate(under="ignore"):
            shifted = np.exp(log_sparsity - log_sparsity.max())
        weights = shifted / shifted.sum()
    return weights.astype(dtype), log_sparsity


def _allocate(n_samples, weights, mode):
    """Samples per kept cluster: the reference's ceil, or largest remainder."""
    if mode == "ceil":
        return [int(math.ceil(n_samples * w)) for w in weights]
    quotas = n_samples * np.asarray(weights, dtype=np.float64)
    quotas *= n_samples / quotas.sum() if quotas.sum() > 0 else 0.0
    counts = np.floor(quotas).astype(np.int64)
    short = int(n_samples - counts.sum())
    if short > 0:
        order = np.argsort(-(quotas - counts), kind="stable")
        counts[order[:short]] += 1
    return counts.tolist()


def _may_tie(sq_norms, nn, dist, k, n_features, float32_distances=False):
    """True when scikit-learn might order the first k neighbours of some
    member otherwise than our exact search: two of the self, the k
    neighbours and the next one (if found) are equally far, or so nearly
    that scikit-learn's brute force (the norm expansion
    ``|x|^2 - 2 x.y + |y|^2``) could swap them.

    ``nn`` and ``dist`` (exact distances, nearest first) hold k or k + 1
    neighbours of each member; ``sq_norms`` are the members' squared norms.
    ``float32_distances``: scikit-learn stores the squared distances it
    computed in float64 as float32 (``_Data.reference_rounds_to_float32``).
    """
    if nn.size == 0:
        return False
    d2 = np.square(dist)
    # A bound on the rounding error of the expansion of one squared
    # distance, relative to |x|^2 + |y|^2 (generous: a false alarm only
    # costs speed).
    rel = (2.0 * n_features + 8.0) * np.finfo(np.float64).eps
    # Storing a squared distance in float32 moves it by up to half an ulp:
    # 2^-24 of its size (bounded here by 2^-23), or half the subnormal
    # spacing 2^-149 below 2^-126 (bounded by 2^-149).  Two distances that
    # close may come out equal, and scikit-learn's sort (not stable) then
    # orders them by its own rule.  Beyond float32's range all become inf.
    if float32_distances:
        f32 = np.finfo(np.float32)
        if np.any(d2 >= float(f32.max) * (1.0 - f32.eps)):
            return True
        rel32, tiny32 = float(f32.eps), float(f32.smallest_subnormal)
    else:
        rel32, tiny32 = 0.0, 0.0
    own = sq_norms[:, None]
    # Self (at distance 0) against the nearest neighbour.
    if np.any(d2[:, 0] * (1.0 - rel32)
              <= rel * (2.0 * own[:, 0] + sq_norms[nn[:, 0]]) + 2.0 * tiny32):
        return True
    last = min(k + 1, nn.shape[1])
    if last < 2:
        return False
    gap = d2[:, 1:last] - d2[:, :last - 1]
    bound = rel * (2.0 * own + sq_norms[nn[:, 1:last]] + sq_norms[nn[:, :last - 1]])
    if float32_distances:
        bound += rel32 * (d2[:, 1:last] + d2[:, :last - 1]) + 2.0 * tiny32
    return bool(np.any(gap <= bound))


def _draw(rs, n_choices, count):
    """The reference's draws for one kept cluster: the base sample and
    neighbour (a flat index into the (m, k) neighbour table), then the step."""
    sample_idx = rs.randint(low=0, high=n_choices, size=count).astype(np.int64, copy=False)
    return sample_idx, rs.uniform(size=count)


class _Reseeder:
    """np.random.RandomState(seed) for many clusters: after the first, the
    same generator put back into the seeded state (a third of the cost of
    seeding anew, the same draws).  One per call: not shared between
    threads."""

    def __init__(self):
        self._rs = self._seed = self._state = None

    def __call__(self, seed):
        if self._rs is None or seed != self._seed:
            self._rs, self._seed = np.random.RandomState(seed), seed
            self._state = self._rs.get_state()
        else:
            self._rs.set_state(self._state)
        return self._rs


def draws(kc, reseed=np.random.RandomState):
    """(sample_idx, steps) of a kept cluster: stored, or drawn now from a
    fresh generator seeded with the user's int (the same values each call;
    reseed(seed) gives that generator, e.g. a _Reseeder)."""
    if "draws" in kc:
        return kc["draws"]
    return _draw(reseed(kc["seed"]), kc["nn"].size, kc["count"])


def _malloc_trim():
    """glibc's malloc_trim, or None where there is none (macOS, Windows, musl)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None


_TRIM = _malloc_trim()


# Rows from which the planning steps' freed arrays (a few int64 per row) are
# worth returning before the output is allocated: below it they come to a
# couple of MB, and malloc_trim's walk of the heap (0.6-0.9 ms at 100k rows)
# costs more than they weigh.
_TRIM_MIN_ROWS = 1 << 18


def _release_freed_memory(n_rows):
    """Give the memory that the planning steps freed back to the system
    before the output is allocated.  glibc keeps freed blocks of a few MB
    (argsort orders, masks, per-cluster arrays) in its heap, where they
    would add to the peak; malloc_trim returns their pages."""
    if _TRIM is not None and n_rows >= _TRIM_MIN_ROWS:
        _TRIM(0)


def _check_y_finite(y):
    values = np.asarray(y)
    if values.dtype.kind == "f":
        if not np.all(np.isfinite(values)):
            raise ValueError(
                "Input y contains NaN or infinity: every sample needs a class "
                "label. Drop the unlabelled rows first."
            )


# ---------------------------------------------------------------------------


class KMeansSMOTE(_CategoricalMixin, OneToOneFeatureMixin, BaseEstimator):
    """Over-sample with SMOTE inside k-means clusters (compiled).

    A drop-in replacement for ``imblearn.over_sampling.KMeansSMOTE``: same
    parameters, attributes, errors and results.  The whole data set is
    clustered; clusters where the class to over-sample is dense enough
    (``cluster_balance_threshold``) are kept; each kept cluster receives a
    share of the new samples that grows with the sparsity of the class in it
    (mean pairwise distance to the power ``density_exponent``, over the
    count); new samples are SMOTE interpolations ``x + u * (neighbour - x)``
    between a class sample and one of its ``k_neighbors`` nearest same-class
    neighbours of the same cluster.  Neighbours, mean distances and
    interpolation run in C, without any quadratic distance matrix.

    With an explicit scikit-learn clusterer and an int ``random_state`` the
    output is identical, bit for bit, to imbalanced-learn 0.14's.

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default='auto'
        How many samples each class should have after resampling:

        - float: the minority/majority ratio to reach (binary targets only);
        - ``'minority'``, ``'not minority'``, ``'not majority'``, ``'all'``,
          ``'auto'`` (= ``'not majority'``): which classes are brought up to
          the size of the majority class;
        - dict ``{class: wanted count}``;
        - callable ``f(y) -> dict`` of the same form.
    random_state : int, RandomState instance or None, default=None
        Controls the clustering seed (for the default clusterer) and the
        random choice of sample, neighbour and interpolation step.
    k_neighbors : int or object, default=2
        Same-class neighbours to interpolate with, or a fitted-on-demand
        nearest-neighbours estimator with ``kneighbors`` and
        ``kneighbors_graph`` (its ``n_neighbors`` counts the sample itself).
        A plain Euclidean :class:`~sklearn.neighbors.NearestNeighbors` is
        served by the compiled search; any other object is used as given.
    n_jobs : int, default=None
        Threads of the compiled kernels (``None``: OpenMP's default, ``-1``:
        all cores).  Results do not depend on it.
    kmeans_estimator : int or object, default=None
        ``None``: :class:`kmsmote.KMeans` with 8 clusters; an int: that many
        clusters; otherwise any clusterer with ``fit`` and ``predict`` and an
        ``n_clusters`` attribute, cloned and used through ``fit_predict``.
    cluster_balance_threshold : "auto" or float, default="auto"
        Minimum fraction of the class in a cluster for the cluster to be
        used.  ``"auto"`` is half the class's share of the samples to
        generate.
    density_exponent : "auto", "n_features" or float, default="auto"
        Exponent of the mean distance in the sparsity; ``"auto"`` is
        ``log(m, 1.6) ** 1.8 * 0.16`` for ``m`` class samples in the cluster;
        ``"n_features"`` is the number of features (the paper's default),
        computed in log space when the powers overflow.
    allocation : {"ceil", "exact"}, default="ceil"
        ``"ceil"`` rounds each cluster's share up, as imbalanced-learn does
        (a class may get up to one extra sample per kept cluster);
        ``"exact"`` uses largest-remainder rounding so every class gets
        exactly what ``sampling_strategy`` asks.
    no_cluster_policy : {"raise", "smote", "relax"}, default="raise"
        What to do for a class when no cluster qualifies:

        - ``"raise"``: the reference's ``RuntimeError``;
        - ``"smote"``: plain SMOTE over all samples of the class (neighbours
          among the whole class, uniform choice of base sample), with a
          warning; ``k_neighbors`` is lowered to the class count minus one
          if the class is smaller than ``k_neighbors + 1``;
        - ``"relax"``: relax that class's threshold so that enough of the
          class is kept, with a warning: of the clusters with enough class
          samples, keep those where the class is at least as frequent as in
          the whole data set (one-vs-rest), then more, most favourable first,
          until they hold 90 % of the class's samples (or all of them).
          If no cluster has enough class samples, fall back to ``"smote"``
          (with a warning) when the class has at least 2 samples (1 with
          ``small_clusters="reduce_k_duplicate"``); otherwise raise.

        The path each class took is in ``class_paths_`` and in the ``path``
        field of its ``cluster_stats_`` records.
    small_clusters : {"skip", "reduce_k", "reduce_k_duplicate"}, default="skip"
        Clusters that pass the filter but hold fewer than ``k_neighbors + 1``
        class samples: ``"skip"`` drops them (the reference); ``"reduce_k"``
        keeps those with ``m >= 2`` class samples, interpolating with their
        ``m - 1`` other class samples; ``"reduce_k_duplicate"`` also keeps
        clusters with a single class sample, whose synthetic samples are
        copies of it (random over-sampling, the paper's ``k = 0`` limit).
        The random draws follow the same per-cluster convention (an index in
        ``[0, m * k)``, then a uniform step).
    cluster_filter : {"fraction", "imbalance_ratio"}, default="fraction"
        Rule that decides which clusters are used.  ``"fraction"`` (the
        reference): keep a cluster when ``class_count / size >=
        cluster_balance_threshold``.  ``"imbalance_ratio"`` (the paper): keep
        it when ``(n_other + 1) / (class_count + 1) < cluster_balance_threshold``
        where ``n_other`` counts the samples of all other classes in the
        cluster (for multiclass targets: the one-vs-rest ratio).  Under this
        rule ``cluster_balance_threshold="auto"`` is the class's global
        one-vs-rest ratio ``(n - n_class + 1) / (n_class + 1)``.
    categorical_features : "auto", array-like or None, default=None
        Columns to treat as categorical, as in imbalanced-learn's
        ``SMOTENC``: indices, a boolean mask, column names (DataFrame input),
        or ``"auto"`` for the category, object and string columns of a
        DataFrame.  An element that is itself a list names the one-hot
        columns of one categorical feature (each row holds a single 1 among
        them, or none for a dropped category): the form to use when the
        categories arrive one-hot encoded, as in a sparse matrix.  Clustering
        and neighbour distances see the categories one-hot encoded with the
        value ``median_std / sqrt(2)``, so that a mismatch adds one median
        standard deviation of the continuous features (over the whole data
        set for clustering, over the class for its neighbours); a synthetic
        sample takes, per categorical feature, the most frequent category
        among the base sample's neighbours (ties broken at random as
        ``SMOTENC`` does) and the interpolated continuous values.  Categories
        come back with their original values and dtypes; one-hot groups come
        back one-hot.  Dense, DataFrame and sparse input (a sparse matrix
        holds numeric category codes, or one-hot groups).  With one cluster
        and a binary target the result equals ``SMOTENC``'s for the same int
        ``random_state``.

    Attributes
    ----------
    sampling_strategy_ : OrderedDict
        Samples to generate per class, in sorted class order.
    kmeans_estimator_ : estimator
        The fitted clusterer.
    nn_k_ : estimator
        The nearest-neighbours estimator (fitted on the last kept cluster, as
        in imbalanced-learn).
    cluster_balance_threshold_ : "auto" or float
        The threshold used (``-inf`` with a single cluster).
    cluster_stats_ : list of dict
        One record per class and non-empty cluster: ``class``, ``cluster``,
        ``size``, ``class_count``, ``class_fraction``, ``threshold`` (the
        one applied), ``requested_threshold`` (the one asked for: differs
        under ``"relax"``), ``kept``, ``reason``, ``mean_distance``, ``log_sparsity``,
        ``weight``, ``n_generated`` and ``path`` (the class's entry of
        ``class_paths_``).  With the ``"smote"`` path a single record with
        ``cluster=-1`` stands for the whole class.
    class_paths_ : dict
        For every class over-sampled: ``"clusters"`` (the reference's
        path), ``"relax"`` (threshold lowered), ``"smote"`` (whole-class
        SMOTE by ``no_cluster_policy="smote"``) or ``"relax-smote"`` (the
        ``"relax"`` policy found no cluster with enough class samples).
    categorical_features_, continuous_features_ : ndarray of int
        Column indices of each kind (with ``categorical_features`` only;
        every column of a one-hot group is categorical).
    categories_ : list of ndarray
        Categories of each categorical feature, sorted (idem); for a one-hot
        group, the column holding the 1 (``-1``: none).
    median_std_ : dict
        Per class to over-sample, median standard deviation of its
        continuous features (idem).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features, when X has string column names.

    Examples
    --------
    >>> from collections import Counter
    >>> from sklearn.datasets import make_classification
    >>> from kmsmote import KMeansSMOTE
    >>> X, y = make_classification(n_classes=2, class_sep=2, weights=[0.1, 0.9],
    ...     n_informative=3, n_redundant=1, flip_y=0, n_features=20,
    ...     n_clusters_per_class=3, n_samples=1000, random_state=10)
    >>> X_res, y_res = KMeansSMOTE(random_state=42, kmeans_estimator=10).fit_resample(X, y)
    >>> counts = Counter(y_res.tolist())
    >>> counts[1], counts[0] >= counts[1]
    (897, True)
    """

    _sampling_type = "over-sampling"
    _estimator_type = "sampler"

    _parameter_constraints: dict = {
        "sampling_strategy": [
            Interval(numbers.Real, 0, 1, closed="right"),
            StrOptions({"auto", "minority", "not minority", "not majority", "all"}),
            Mapping,
            callable,
        ],
        "random_state": ["random_state"],
        "k_neighbors": [
            Interval(numbers.Integral, 1, None, closed="left"),
            HasMethods(["kneighbors", "kneighbors_graph"]),
        ],
        "kmeans_estimator": [
            HasMethods(["fit", "predict"]),
            Interval(numbers.Integral, 1, None, closed="left"),
            None,
        ],
        "cluster_balance_threshold": [StrOptions({"auto"}), numbers.Real],
        # "n_features" is left out of the error message, which stays the
        # reference's word for word (tests/test_api.py compares them).
        "density_exponent": [
            StrOptions({"auto"}), Hidden(StrOptions({"n_features"})), numbers.Real,
        ],
        "n_jobs": [numbers.Integral, None],
        "allocation": [StrOptions({"ceil", "exact"})],
        "no_cluster_policy": [StrOptions({"raise", "smote", "relax"})],
        "small_clusters": [StrOptions({"skip", "reduce_k", "reduce_k_duplicate"})],
        "cluster_filter": [StrOptions({"fraction", "imbalance_ratio"})],
        "categorical_features": [None, StrOptions({"auto"}), "array-like"],
    }

    def __init__(
        self,
        *,
        sampling_strategy="auto",
        random_state=None,
        k_neighbors=2,
        n_jobs=None,
        kmeans_estimator=None,
        cluster_balance_threshold="auto",
        density_exponent="auto",
        allocation="ceil",
        no_cluster_policy="raise",
        small_clusters="skip",
        cluster_filter="fraction",
        categorical_features=None,
    ):
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.k_neighbors = k_neighbors
        self.n_jobs = n_jobs
        self.kmeans_estimator = kmeans_estimator
        self.cluster_balance_threshold = cluster_balance_threshold
        self.density_exponent = density_exponent
        self.allocation = allocation
        self.no_cluster_policy = no_cluster_policy
        self.small_clusters = small_clusters
        self.cluster_filter = cluster_filter
        self.categorical_features = categorical_features

    # -- scikit-learn / imbalanced-learn plumbing ---------------------------

    def __sklearn_tags__(self):
        base = super().__sklearn_tags__()
        tags = Tags(
            estimator_type="sampler",
            target_tags=TargetTags(required=True),
            sampler_tags=SamplerTags(),
        )
        tags.input_tags = InputTags(two_d_array=True, sparse=True, dataframe=True)
        tags.non_deterministic = base.non_deterministic
        return tags

    def _check_X_y(self, X, y):
        """(X, y, one_vs_all, peak): peak is the largest |X| when it was
        found while checking (a C-contiguous float32/float64 array), else
        None."""
        y, one_vs_all = check_target_type(y)
        if (isinstance(X, np.ndarray) and X.dtype in (np.float32, np.float64)
                and X.flags.c_contiguous):
            # One compiled pass gives both the finiteness scikit-learn checks
            # and the magnitude _Data needs; scikit-learn's own check (and
            # its message) only when something is not finite.
            Xv, yv = validate_fit_data(self, X, y, accept_sparse=["csr", "csc"],
                                       ensure_all_finite=False)
            peak = _generate.abs_max(Xv, resolve_n_threads(self.n_jobs))
            if math.isfinite(peak):
                return Xv, yv, one_vs_all, peak
        # scikit-learn's finiteness check sums X first (a fast path that
        # overflows near the float64 limit, then checks element-wise): the
        # overflow warning it would emit says nothing about the data.
        with np.errstate(over="ignore", invalid="ignore"):
            X, y = validate_fit_data(self, X, y, accept_sparse=["csr", "csc"])
        if X.dtype == np.bool_:
            raise ValueError(
                "X has boolean dtype: SMOTE interpolates between samples, which "
                "has no meaning for booleans. Convert X to float "
                "(X.astype(float)) to treat the values as 0/1."
            )
        return X, y, one_vs_all, None

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Check the inputs and compute ``sampling_strategy_``.

        Use :meth:`fit_resample` to resample.

        Parameters
        ----------
        X : {array-like, dataframe, sparse matrix} of shape (n_samples, n_features)
            Data.
        y : array-like of shape (n_samples,)
            Targets.

        Returns
        -------
        self : KMeansSMOTE
            The estimator.
        """
        _check_y_finite(y)
        if self.categorical_features is not None:
            _, y, _ = self._check_X_y_nc(X, y)
        else:
            X, y, _, _ = self._check_X_y(X, y)
        self.sampling_strategy_ = check_sampling_strategy(self.sampling_strategy, y)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_resample(self, X, y):
        """Resample the data set.

        Parameters
        ----------
        X : {array-like, dataframe, sparse matrix} of shape (n_samples, n_features)
            Data to over-sample.
        y : array-like of shape (n_samples,)
            Class of each row.

        Returns
        -------
        X_resampled : {ndarray, dataframe, sparse matrix} of shape (n_samples_new, n_features)
            The original rows, unchanged and first, then the synthetic rows
            (by sorted class, then by cluster index).  Same container and
            dtype as ``X``.
        y_resampled : {ndarray, series} of shape (n_samples_new,)
            The matching classes, in the container of ``y``.
        """
        _check_y_finite(y)
        if not is_integer_labels(y):
            check_classification_targets(y)
        if self.categorical_features is not None:
            return self._fit_resample_nc(X, y)
        formatter = OutputFormatter(X, y)
        X, y, one_vs_all, peak = self._check_X_y(X, y)
        self.sampling_strategy_ = check_sampling_strategy(self.sampling_strategy, y)
        X_res, y_res, _ = self._fit_resample(X, y, peak=peak)
        if one_vs_all:
            y_res = label_binarize(y_res, classes=np.unique(y))
        return formatter.transform(X_res, y_res)

    # -- the algorithm --------------------------------------------------------

    # nn_k_ is fitted on the last kept cluster's rows, as imbalanced-learn
    # leaves it, but only when first read: scikit-learn's fit asks the
    # dataframe libraries' plugins whether its input is theirs, which loads
    # them (5-15 ms) on a process's first call.
    @property
    def nn_k_(self):
        state = self.__dict__
        if "_nn_k" not in state:
            raise AttributeError(f"'{type(self).__name__}' object has no attribute 'nn_k_'")
        rows = state.pop("_nn_k_rows", None)
        if rows is not None:
            state["_nn_k"].fit(rows)
        return state["_nn_k"]

    @nn_k_.setter
    def nn_k_(self, estimator):
        self.__dict__.pop("_nn_k_rows", None)
        self._nn_k = estimator

    def _validate_estimator(self):
        self.nn_k_ = check_neighbors_object(self.k_neighbors)
        if self.kmeans_estimator is None:
            self.kmeans_estimator_ = KMeans(random_state=self.random_state, n_jobs=self.n_jobs)
        elif isinstance(self.kmeans_estimator, numbers.Integral):
            self.kmeans_estimator_ = KMeans(
                n_clusters=int(self.kmeans_estimator),
                random_state=self.random_state,
                n_jobs=self.n_jobs,
            )
        else:
            self.kmeans_estimator_ = clone(self.kmeans_estimator)
        n_neighbors = getattr(self.nn_k_, "n_neighbors", None)
        if not isinstance(n_neighbors, numbers.Integral) or n_neighbors < 2:
            raise ValueError(
                "k_neighbors: the nearest-neighbours estimator has "
                f"n_neighbors={n_neighbors!r}; it counts the sample itself, so "
                "at least 2 are needed to leave a neighbour to interpolate with."
            )
        n_clusters = getattr(self.kmeans_estimator_, "n_clusters", None)
        if not isinstance(n_clusters, numbers.Integral) or n_clusters < 1:
            raise ValueError(
                "kmeans_estimator must expose a positive integer `n_clusters` "
                f"attribute; {type(self.kmeans_estimator_).__name__} has "
                f"n_clusters={n_clusters!r}."
            )
        # One cluster: no filter (-inf for fractions, +inf for ratios).
        no_filter = np.inf if self.cluster_filter == "imbalance_ratio" else -np.inf
        self.cluster_balance_threshold_ = (
            self.cluster_balance_threshold if n_clusters != 1 else no_filter
        )

    def _refit_per_class(self):
        # The reference refits the clusterer for every class.  That matters
        # only when the fit is random without a fixed seed (None or a shared
        # RandomState): then refit, to draw exactly what the reference draws.
        if self.kmeans_estimator is None or isinstance(self.kmeans_estimator, numbers.Integral):
            return False
        params = self.kmeans_estimator_.get_params(deep=False)
        return not isinstance(params.get("random_state", 0), numbers.Integral)

    def _cluster_labels(self, X, X_fit):
        """The clusterer's label of every row (int32 or int64), checked, and
        every cluster's size."""
        n_clusters = int(self.kmeans_estimator_.n_clusters)
        labels = np.asarray(self.kmeans_estimator_.fit_predict(X_fit))
        if labels.shape != (X.shape[0],):
            raise ValueError(
                f"kmeans_estimator.fit_predict returned labels of shape {labels.shape}; "
                f"expected ({X.shape[0]},), one label per row of X."
            )
        if labels.size and (
            not np.issubdtype(labels.dtype, np.integer)
            or labels.min() < 0
            or labels.max() >= n_clusters
        ):
            raise ValueError(
                "kmeans_estimator.fit_predict returned labels outside "
                f"[0, n_clusters={n_clusters}); every row must get a cluster index "
                "(noise labels such as -1 are not supported)."
            )
        if labels.dtype not in (np.int32, np.int64):
            labels = labels.astype(np.int64)
        return labels, np.bincount(labels, minlength=n_clusters)

    def _min_class_count(self, n_neighbors):
        """Fewest class samples a cluster needs under ``small_clusters``."""
        return {"skip": n_neighbors, "reduce_k": 2, "reduce_k_duplicate": 1}[
            self.small_clusters]

    def _passes(self, record, threshold):
        if self.cluster_filter == "imbalance_ratio":
            ratio = (record["size"] - record["class_count"] + 1) / (record["class_count"] + 1)
            return ratio < threshold
        return not record["class_fraction"] < threshold

    def _rejection(self, record, threshold, n_neighbors):
        """Why a cluster is not used for its class (None: it is kept).

        Decided from the counts of ``record`` alone (``size``,
        ``class_count``, ``class_fraction``), so that a caller holding only
        counts (kmsmote.dask) takes the same decisions.
        """
        if not self._passes(record, threshold):
            return (
                "imbalance ratio not below threshold"
                if self.cluster_filter == "imbalance_ratio"
                else "class fraction below threshold"
            )
        # The reference's float expression, evaluated the same way.
        too_few = record["class_fraction"] * record["size"] < n_neighbors
        if self.small_clusters != "skip":
            too_few = record["class_count"] < self._min_class_count(n_neighbors)
        if too_few:
            return (
                f"fewer than {self._min_class_count(n_neighbors)} class samples"
                + (" (k_neighbors + 1)" if self.small_clusters == "skip" else "")
            )
        return None

    def _class_threshold(self, n_samples, total_to_generate, n_class, n_total):
        """The cluster filter's threshold for one class."""
        threshold = self.cluster_balance_threshold_
        if threshold == "auto":
            if self.cluster_filter == "imbalance_ratio":
                threshold = (n_total - n_class + 1) / (n_class + 1)
            else:
                threshold = n_samples / total_to_generate / 2
        return threshold

    def _allocation(self, mean_distances, class_counts, n_samples, dtype):
        """(weights, log sparsities, samples per kept cluster) of one class."""
        if self.density_exponent == "auto":
            exponent = None
        elif self.density_exponent == "n_features":
            exponent = float(self.n_features_in_)
        else:
            exponent = float(self.density_exponent)
        weights, log_sparsity = cluster_weights(mean_distances, class_counts, exponent, dtype)
        return weights, log_sparsity, _allocate(n_samples, weights, self.allocation)

    def _groups(self, data, sets, n_neighbors, fast_nn):
        """_group of every set of class rows, in order.  With the compiled
        search and kmsmote's own clusterer, one call serves all the sets, so
        that the threads share them out (a set per thread, or all threads on
        a large set) instead of waiting on each other at the end of every
        set; the results are those of one call per set."""
        check_ties = fast_nn and not isinstance(self.kmeans_estimator_, KMeans)
        if not fast_nn or check_ties:
            return [self._group(data, rows, n_neighbors, fast_nn) for rows in sets]
        sets = [np.ascontiguousarray(rows, dtype=np.int64) for rows in sets]
        results = [self._group(data, rows, n_neighbors, fast_nn) if rows.size == 1 else None
                   for rows in sets]
        multi = [i for i, rows in enumerate(sets) if rows.size > 1]
        found = data.neighbours_sets([sets[i] for i in multi],
                                     [min(n_neighbors - 1, sets[i].size - 1) for i in multi])
        for i, (nn, mean_distance) in zip(multi, found):
            results[i] = {"rows": sets[i], "nn": nn, "m": sets[i].size}, mean_distance
        return results

    def _group(self, data, rows, n_neighbors, fast_nn):
        """Neighbours and mean distance of one set of class rows.

        ``k`` is ``n_neighbors - 1``, lowered to ``m - 1`` for a smaller set;
        a single row is its own neighbour, so its synthetic rows copy it.
        """
        rows = np.ascontiguousarray(rows, dtype=np.int64)
        m = rows.size
        if m == 1:
            return {"rows": rows, "nn": np.zeros((1, 1), dtype=np.int64), "m": 1}, 0.0
        k = min(n_neighbors - 1, m - 1)
        # Our search breaks exact ties by position; scikit-learn's (trees,
        # or the norm expansion of brute force) may order them otherwise.
        # With a user's clusterer (the way to the reference's exact output),
        # where ties may matter, ask scikit-learn itself as the reference
        # does.  With kmsmote's own clusterer there is no reference output to
        # follow: the compiled search decides, which keeps dense and sparse
        # input identical.
        check_ties = fast_nn and not isinstance(self.kmeans_estimator_, KMeans)
        if check_ties:
            # One neighbour more than needed shows a tie at the k-th place.
            nn, dist, mean_distance = data.neighbours(rows, min(k + 1, m - 1),
                                                      return_distance=True)
            tied = _may_tie(data.squared_norms(rows), nn, dist, k, data.dist.shape[1],
                            float32_distances=data.reference_rounds_to_float32())
            nn = None if tied else np.ascontiguousarray(nn[:, :k])
        elif fast_nn:
            nn, mean_distance = data.neighbours(rows, k)
        else:
            nn, (_, mean_distance) = None, data.neighbours(rows, 0)
        if nn is None:
            # A user-supplied neighbour search, or ties: use scikit-learn as
            # the reference does (a copy with fewer neighbours when k had to
            # be lowered).
            estimator = self.nn_k_
            if k < n_neighbors - 1:
                estimator = clone(self.nn_k_).set_params(n_neighbors=k + 1)
            X_class = data.rows(rows)
            estimator.fit(X_class)
            nn = np.ascontiguousarray(
                estimator.kneighbors(X_class, return_distance=False)[:, 1:],
                dtype=np.int64,
            )
        return {"rows": rows, "nn": nn, "m": m}, mean_distance

    @staticmethod
    def _cluster_record(class_label, cluster, size, class_count, threshold):
        """The cluster_stats_ record of one class in one cluster, undecided."""
        size, class_count = int(size), int(class_count)
        return {
            "class": class_label, "cluster": cluster, "size": size,
            "class_count": class_count, "class_fraction": class_count / size,
            "threshold": float(threshold), "kept": False, "reason": "",
            "mean_distance": np.nan, "log_sparsity": np.nan,
            "weight": 0.0, "n_generated": 0, "path": "clusters",
        }

    def _decide(self, base, threshold, n_neighbors):
        """(records, kept records) under one threshold, from counts alone."""
        records, kept = [], []
        for record in base:
            record = dict(record, threshold=float(threshold))
            records.append(record)
            reason = self._rejection(record, threshold, n_neighbors)
            if reason is None:
                record.update(kept=True, reason="kept")
                kept.append(record)
            else:
                record["reason"] = reason
        return records, kept

    def _decide_class(self, class_label, n_class, n_total, threshold, base, n_neighbors,
                      stacklevel):
        """(records, kept records, path) of one class: the clusters that pass
        the filter, else what ``no_cluster_policy`` does (a kept record with
        cluster -1 stands for the whole class).  Counts alone decide, so that
        kmsmote.dask applies the same rules with the same messages."""
        records, kept = self._decide(base, threshold, n_neighbors)
        path = "clusters"
        if not kept:
            policy = self.no_cluster_policy
            if policy == "raise":
                raise self._no_cluster_error(class_label, records, threshold, n_neighbors)
            path = "smote"
            relaxed = None
            if policy == "relax":
                relaxed = self._relaxed_threshold(records, threshold, n_neighbors)
                path = "relax" if relaxed is not None else "relax-smote"
            if relaxed is not None:
                records, kept = self._decide(base, relaxed, n_neighbors)
                self._warn_relaxed(class_label, threshold, relaxed, kept, n_class, stacklevel)
            else:
                self._check_smote_fallback(class_label, n_class, n_neighbors)
                kept = [self._smote_record(class_label, n_class, n_total, threshold, path)]
                records = records + kept
        for record in records:
            record.update(path=path, requested_threshold=float(threshold))
        self.class_paths_[class_label] = path
        return records, kept, path

    def _plan_class(self, class_label, n_samples, total_to_generate, data, y,
                    labels, sizes, rng_source):
        """Kept clusters, neighbours, weights and random draws for one class
        (labels: every row's cluster; sizes: every cluster's row count)."""
        n_clusters = int(self.kmeans_estimator_.n_clusters)
        n_neighbors = int(self.nn_k_.n_neighbors)
        is_class = y == class_label
        n_class = int(is_class.sum())
        threshold = self._class_threshold(n_samples, total_to_generate, n_class, y.shape[0])
        # The class rows grouped by cluster, in row order inside each cluster
        # (a stable sort of the class rows' labels alone; 16-bit keys let
        # NumPy use its radix sort).
        in_class = np.flatnonzero(is_class)
        class_labels = labels[in_class]
        keys = class_labels.astype(np.uint16) if n_clusters <= 65536 else class_labels
        order = in_class[np.argsort(keys, kind="stable")]
        bounds = np.zeros(n_clusters + 1, dtype=np.int64)
        np.cumsum(np.bincount(class_labels, minlength=n_clusters), out=bounds[1:])
        fast_nn = is_plain_euclidean_nn(self.nn_k_)
        base, class_rows = [], {}
        for c in range(n_clusters):
            if sizes[c] == 0:
                continue
            class_rows[c] = order[bounds[c]:bounds[c + 1]]
            base.append(self._cluster_record(class_label, c, sizes[c],
                                             class_rows[c].size, threshold))
        records, kept_records, path = self._decide_class(
            class_label, n_class, y.shape[0], threshold, base, n_neighbors, stacklevel=5)
        kept = []
        sets = [class_rows[record["cluster"]] if record["cluster"] >= 0 else
                np.flatnonzero(is_class) for record in kept_records]
        for record, (group, mean_distance) in zip(
                kept_records, self._groups(data, sets, n_neighbors, fast_nn)):
            record["mean_distance"] = mean_distance
            group["record"] = record
            kept.append(group)
        if path in ("smote", "relax-smote"):
            k = kept[0]["nn"].shape[1] if n_class > 1 else 0
            self._warn_smote(class_label, path, n_class, k, n_neighbors, stacklevel=4)
        weights, log_sparsity, counts = self._allocation(
            [kc["record"]["mean_distance"] for kc in kept],
            [kc["m"] for kc in kept],
            n_samples, data.weight_dtype,
        )
        for kc, w, ls, count in zip(kept, weights, log_sparsity, counts):
            # An int seed gives every cluster a fresh generator with that seed,
            # as in the reference; a RandomState is one shared stream.
            kc["count"] = int(count)
            if isinstance(rng_source, numbers.Integral):
                # A fresh generator per cluster: drawn when the cluster's
                # rows are generated, so that only one cluster's draws are
                # held at a time.
                kc["seed"] = rng_source
            else:
                kc["draws"] = _draw(check_random_state(rng_source), kc["nn"].size, count)
            kc["record"].update(weight=float(w), log_sparsity=float(ls), n_generated=int(count))
        return records, kept

    # The pieces of the no-cluster policies, decided from counts alone so
    # that kmsmote.dask applies the same rules with the same messages.

    def _no_cluster_error(self, class_label, records, threshold, n_neighbors):
        min_count = self._min_class_count(n_neighbors)
        best = max((r["class_fraction"] for r in records), default=0.0)
        return NoClusterError(
            "No clusters found with sufficient samples of "
            f"class {class_label}. Try lowering the "
            "cluster_balance_threshold or increasing the number of "
            "clusters. (Highest fraction of this class in a cluster: "
            f"{best:.4g}; threshold used: {float(threshold):.4g}; "
            f"a cluster also needs at least {min_count} samples of the class. "
            "no_cluster_policy='smote' or 'relax' over-samples such a class "
            "anyway.)"
        )

    def _relaxed_threshold(self, records, threshold, n_neighbors):
        """The threshold of 'relax' for one class, or None when no cluster
        holds enough class samples.

        Only clusters with enough class samples count (``eligible``); they
        are ranked by the filter's own statistic, most favourable to the class
        first.  The relaxed threshold keeps the clusters where the class is at
        least as frequent as in the whole data set (fraction at least
        ``n_class / n``; imbalance ratio at most the global one-vs-rest
        ratio), and, in rank order, as many more as needed for the kept
        clusters to hold ``_RELAX_COVER`` of the class's samples (every
        eligible cluster if they hold less).  It always keeps the best one.
        Counts alone decide (records cover every non-empty cluster, so they
        give ``n_class`` and ``n``).
        """
        min_count = self._min_class_count(n_neighbors)
        eligible = [r for r in records if r["class_count"] >= min_count]
        if not eligible:
            return None
        n_class = sum(r["class_count"] for r in records)
        n_total = sum(r["size"] for r in records)
        if self.cluster_filter == "imbalance_ratio":
            def stat(r):
                return (r["size"] - r["class_count"] + 1) / (r["class_count"] + 1)
            # A cluster passes when its ratio is below the threshold: the
            # next float above a ratio keeps the clusters at that ratio.
            ranked = sorted(eligible, key=stat)
            share = float(np.nextafter((n_total - n_class + 1) / (n_class + 1), np.inf))
            cover = _cover_statistic(ranked, stat, n_class)
            return max(share, float(np.nextafter(cover, np.inf)))
        ranked = sorted(eligible, key=lambda r: r["class_fraction"], reverse=True)
        cover = _cover_statistic(ranked, lambda r: r["class_fraction"], n_class)
        return min(n_class / n_total, cover)

    def _warn_relaxed(self, class_label, threshold, relaxed, kept, n_class, stacklevel):
        if self.cluster_filter == "imbalance_ratio":
            rule = f"imbalance ratio threshold raised from {float(threshold):.4g} to {relaxed:.4g}"
        else:
            rule = f"class fraction threshold lowered from {float(threshold):.4g} to {relaxed:.4g}"
        held = sum(r["class_count"] for r in kept)
        warnings.warn(
            f"KMeansSMOTE: no cluster qualified for class {class_label}; "
            f"no_cluster_policy='relax' {rule}, keeping {len(kept)} cluster(s) that "
            f"hold {held} of its {n_class} samples ({held / n_class:.0%}). To avoid "
            "this, lower cluster_balance_threshold or change the number of clusters; "
            "no_cluster_policy='smote' uses every sample of the class.",
            UserWarning, stacklevel=stacklevel,
        )

    def _check_smote_fallback(self, class_label, n_class, n_neighbors):
        min_count = self._min_class_count(n_neighbors)
        if n_class < max(min(min_count, 2), 1) or n_class < 1:
            raise NoClusterError(
                f"No clusters found with sufficient samples of class {class_label}, "
                f"and the class has only {n_class} sample(s): SMOTE needs at least 2 "
                "(or small_clusters='reduce_k_duplicate' to copy a single sample)."
            )

    def _smote_record(self, class_label, n_class, n_total, threshold, path):
        return {
            "class": class_label, "cluster": -1, "size": int(n_total),
            "class_count": int(n_class), "class_fraction": n_class / n_total,
            "threshold": float(threshold), "kept": True,
            "reason": f"no cluster qualified: SMOTE over the whole class ({path})",
            "mean_distance": np.nan, "log_sparsity": np.nan,
            "weight": 0.0, "n_generated": 0, "path": path,
        }

    def _warn_smote(self, class_label, path, n_class, k, n_neighbors, stacklevel):
        min_count = self._min_class_count(n_neighbors)
        why = ("no_cluster_policy='smote' falls back to" if path == "smote" else
               f"no_cluster_policy='relax' found no cluster with at least {min_count} "
               "samples of the class, so it fell back to")
        warnings.warn(
            f"KMeansSMOTE: no cluster qualified for class {class_label}; {why} "
            f"plain SMOTE over all {n_class} samples of the class (k={k}). To keep "
            "the clustering, lower cluster_balance_threshold or change the number "
            "of clusters.",
            UserWarning, stacklevel=stacklevel,
        )

    def _fit_resample(self, X, y, class_matrix=None, peak=None):
        try:
            return self._resample(X, y, class_matrix, peak)
        except MemoryError as exc:
            n_new = sum(self.sampling_strategy_.values())
            d = X.shape[1]
            itemsize = np.dtype(X.dtype).itemsize
            size = (X.shape[0] + n_new) * d * itemsize
            raise MemoryError(
                f"kmsmote cannot allocate the resampled data: {X.shape[0] + n_new} "
                f"rows x {d} features of {np.dtype(X.dtype).name} "
                f"({size / 2**30:.3g} GiB) plus the synthetic samples' bookkeeping. "
                "Ask for fewer samples (sampling_strategy) or pass float32 data."
            ) from exc

    def _resample(self, X, y, class_matrix=None, peak=None):
        """(X_res, y_res, kept groups); ``class_matrix(label)`` gives the
        matrix for one class's neighbours when it differs from X's; ``peak``
        is the largest |X| if already known."""
        self._validate_estimator()
        n_threads = resolve_n_threads(self.n_jobs)
        data = _Data(X, n_threads, peak=peak)
        total = sum(self.sampling_strategy_.values())
        rng_source = self.random_state
        if isinstance(rng_source, np.random.RandomState) or rng_source is None:
            rng_source = check_random_state(rng_source)
        labels = None
        plans, self.cluster_stats_, self.class_paths_ = [], [], {}
        for class_label, n_samples in self.sampling_strategy_.items():
            if n_samples == 0:
                continue
            if labels is None or self._refit_per_class():
                own = isinstance(self.kmeans_estimator_, KMeans)
                self._report_phase("clustering")
                labels, sizes = self._cluster_labels(X, data.for_clustering() if own else X)
            class_data = data if class_matrix is None else _Data(
                class_matrix(class_label), n_threads)
            self._report_phase("neighbours")
            records, kept = self._plan_class(
                class_label, n_samples, total, class_data, y, labels, sizes, rng_source
            )
            self.cluster_stats_.extend(records)
            plans.append((class_label, kept, class_data))
        if labels is None:
            # Nothing to generate: the reference never fits the clusterer.
            return X.copy(), y.copy(), []
        del labels  # not needed from here on: its memory is free for the output
        if is_plain_euclidean_nn(self.nn_k_):
            # The reference leaves nn_k_ fitted on the last kept cluster
            # (the nn_k_ property fits it when first read).
            self._nn_k_rows = plans[-1][2].rows(plans[-1][1][-1]["rows"])
        kept_all = [kc for _, kept, _ in plans for kc in kept]
        y_res = np.concatenate(
            [np.asarray(y)]
            + [np.full(kc["count"], label, dtype=y.dtype)
               for label, kept, _ in plans for kc in kept]
        )
        # Interpolation reads only the columns that every matrix shares.
        self._report_phase("generation")
        return data.resample(kept_all), y_res, kept_all

    def _report_phase(self, name):
        # kmsmote.report_phases; the instance attribute _phase_callback is
        # the command line's older way, until it uses report_phases.
        report_phase(name)
        callback = getattr(self, "_phase_callback", None)
        if callback is not None:
            callback(name)


# ---------------------------------------------------------------------------
# The data as the kernels see it.

# Squared distances overflow double beyond about 1e154 and vanish below
# 1e-154; outside [2^-500, 2^500] the distance computations work on a copy
# scaled by a power of two (exact), which changes no neighbour, no cluster
# and no weight.
_SCALE_LIMIT = 500


class _Data:
    """X in the form each step needs: dense or CSR, float32 or float64.

    Neighbours and distances may use a copy scaled by a power of two when the
    magnitudes would overflow or underflow squared distances; generation
    always interpolates the user's values.
    """

    def __init__(self, X, n_threads, exponent=None, peak=None):
        self.X = X
        self.n_threads = n_threads
        self.sparse = sparse.issparse(X)
        if self.sparse:
            work = X.tocsr()
            if work.dtype not in (np.float32, np.float64):
                work = work.astype(np.float64)
            if not work.has_canonical_format:
                work = work.copy()
                work.sum_duplicates()
            values = work.data
        else:
            if X.dtype in (np.float32, np.float64):
                work = np.ascontiguousarray(X)
            else:
                # Integers (any width) are interpolated in float64 and cast
                # back at the end: no wrap-around.
                work = np.ascontiguousarray(X, dtype=np.float64)
            values = work
        self.work = work
        self.weight_dtype = np.float32 if work.dtype == np.float32 else np.float64
        # exponent: the power of two to scale by, when a caller holding one
        # part of a larger data set (kmsmote.dask) decided it for the whole.
        self.exponent = 0 if exponent is None else int(exponent)
        if exponent is None and values.size:
            if peak is None:
                peak = _generate.abs_max(np.ascontiguousarray(values), n_threads)
            if peak > 0:
                e = math.frexp(peak)[1]
                if abs(e) > _SCALE_LIMIT:
                    self.exponent = e
        if self.exponent:
            scaled = work.copy()
            if self.sparse:
                scaled.data = np.ldexp(scaled.data, -self.exponent).astype(work.dtype)
            else:
                np.ldexp(scaled, -self.exponent, out=scaled, casting="unsafe")
            self.dist = scaled
        else:
            self.dist = work

    def for_clustering(self):
        return self.dist

    def rows(self, rows):
        """The user's values of the given rows, in X's dtype and format: what
        the reference hands scikit-learn's neighbour search (which may order
        exact ties otherwise for integers than for their float64 copy)."""
        return self.X[rows]

    def neighbours(self, rows, k, return_distance=False):
        """(nn positions[, their distances], mean pairwise distance) of one
        set of rows."""
        if self.sparse:
            from . import _sparse

            found = _sparse.csr_knn_sparsity(self.dist, rows, k, self.n_threads,
                                             return_distance=return_distance)
        else:
            found = _neighbors.knn_sparsity(self.dist, rows, k, self.n_threads,
                                            return_distance=return_distance)
        return (*found[:-1], self._mean(found[-1], rows.size))

    def _mean(self, pair_sum, m):
        mean = 2.0 * pair_sum / (m * m - m)
        return math.ldexp(mean, self.exponent) if self.exponent else mean

    def neighbours_sets(self, sets, ks):
        """[(nn positions, mean pairwise distance)] of several sets of rows
        (at least 2 each), as neighbours() gives them one by one."""
        if not sets:
            return []
        sizes = np.array([rows.size for rows in sets], dtype=np.int64)
        offsets = np.zeros(len(sets) + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        if self.sparse:
            from . import _sparse

            search = _sparse.csr_knn_sparsity_sets
        else:
            search = _neighbors.knn_sparsity_sets
        nn, sums = search(self.dist, np.concatenate(sets), offsets,
                          np.asarray(ks, dtype=np.int64), self.n_threads)
        return [(nn_s, self._mean(float(sum_s), int(m))) for nn_s, sum_s, m in zip(nn, sums, sizes)]

    def reference_rounds_to_float32(self):
        """Whether scikit-learn's brute-force search over float32 rows
        stores their squared distances in float32: its pairwise-distance
        path (``euclidean_distances``, upcasting blocks to float64 and
        casting the result back), which it takes for sparse input always and
        for dense input when ``enable_cython_pairwise_dist`` is off.  Its
        Cython reduction (dense) and its trees (float64 copies) keep them in
        float64.  A float32 matrix is never scaled (its exponents stay far
        within _SCALE_LIMIT), so these distances are in the user's units."""
        if self.X.dtype != np.float32:
            return False
        return self.sparse or not get_config().get("enable_cython_pairwise_dist", True)

    def squared_norms(self, rows):
        """Squared Euclidean norms of the given rows (as the distances see
        them), in float64."""
        picked = self.dist[rows]
        if self.sparse:
            squares = picked.astype(np.float64)
            squares.data **= 2
            return np.asarray(squares.sum(axis=1)).ravel()
        picked = picked.astype(np.float64, copy=False)
        return np.einsum("ij,ij->i", picked, picked)

    def resample(self, kept):
        """Original rows first, then every kept cluster's synthetic rows."""
        n_new = sum(kc["count"] for kc in kept)
        _release_freed_memory(self.X.shape[0])
        if self.sparse:
            return self._resample_sparse(kept)
        X, work = self.X, self.work
        n, d = X.shape
        out = _memory.empty((n + n_new, d), X.dtype)
        # The first write to fresh memory costs a page fault per page: the
        # kernel copies with every thread (and stops on Ctrl-C).
        if X.flags.c_contiguous:
            _generate.copy_rows(X, out[:n], self.n_threads)
        else:
            step = max(1, (64 << 20) // max(1, d * out.itemsize))
            for start in range(0, n, step):
                stop = min(start + step, n)
                out[start:stop] = X[start:stop]
        if X.dtype.kind == "f" and X.dtype != work.dtype:
            # float16 (or long double): NumPy's arithmetic in that type, as
            # the reference does it (the difference rounded to the type).
            offset, reseed = n, _Reseeder()
            for kc in kept:
                count = kc["count"]
                sample_idx, steps = draws(kc, reseed)
                k = kc["nn"].shape[1]
                base = X[kc["rows"][sample_idx // k]]
                other = X[kc["rows"][kc["nn"].ravel()[sample_idx]]]
                out[offset:offset + count] = base + steps[:, None] * (other - base)
                offset += count
            return out
        if work.dtype == X.dtype:
            synth, offset = out, n
        else:
            synth, offset = np.empty((n_new, d), dtype=work.dtype), 0
        reseed = _Reseeder()
        for kc in kept:
            count = kc["count"]
            if count:
                _generate.generate(
                    work, kc["rows"], kc["nn"], *draws(kc, reseed),
                    synth[offset:offset + count], self.n_threads,
                )
            offset += count
        if synth is not out:
            out[n:] = synth.astype(X.dtype)
        return out

    def _resample_sparse(self, kept):
        from . import _sparse

        X = self.X
        top = self.work if X.format == "csr" else X.tocsr()
        if not top.has_sorted_indices:
            # The user's rows may come with unsorted indices; sort a copy.
            top = top.copy()
            top.sort_indices()
        reseed = _Reseeder()
        groups = [(kc["rows"], kc["nn"], *draws(kc, reseed)) for kc in kept if kc["count"]]
        arrays = None
        if self.work.dtype == X.dtype:
            # One allocation per array, the synthetic rows written in place.
            arrays = _sparse.csr_resample(self.work, top, groups, self.n_threads)
        if arrays is not None:
            data, indices, indptr = arrays
            n_rows = indptr.shape[0] - 1
        else:
            data, indices, indptr, n_rows = self._stack_sparse(top, groups)
        csr_type = sparse.csr_array if isinstance(X, sparse.sparray) else sparse.csr_matrix
        out = csr_type((data, indices, indptr), shape=(n_rows, X.shape[1]))
        out.has_sorted_indices = True
        return out if X.format == "csr" else out.asformat(X.format)

    def _stack_sparse(self, top, groups):
        """(data, indices, indptr, n_rows) of top stacked over the groups'
        synthetic rows, each generated on its own (the general case)."""
        from . import _sparse

        X = self.X
        blocks = [_sparse.csr_generate(self.work, *g, self.n_threads) for g in groups]
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
