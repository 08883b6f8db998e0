"""KMeans-SMOTE: the estimator users call."""

import numbers
import warnings
from collections.abc import Mapping

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, _fit_context, clone
from sklearn.preprocessing import label_binarize
from sklearn.utils._param_validation import HasMethods, Hidden, Interval, StrOptions
from sklearn.utils._tags import TargetTags
from sklearn.utils.multiclass import check_classification_targets

from ._categorical import CategoricalEncoding
from ._data import _Data, approximate_nn, search_groups
from ._kmeans_estimator import KMeans
from ._output import OutputFormatter, resample
from ._plan import (
    DEFAULT_N_CLUSTERS,
    PlanSettings,
    allocate_class,
    decide_class,
    fitted_threshold,
    group_class_rows,
    group_draws,
    kept_group,
    random_source,
    search_path,
    search_seed,
)
from ._progress import report_phase
from ._sampling_strategy import check_sampling_strategy, is_integer_labels
from ._tags import InputTags, SamplerTags, Tags
from ._threading import resolve_n_threads
from ._validation import (
    check_cluster_labels,
    check_fit_data,
    check_neighbors_object,
    check_y_finite,
    is_plain_euclidean_nn,
)


class KMeansSMOTE(OneToOneFeatureMixin, BaseEstimator):
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

        - ``"raise"``: the reference's ``RuntimeError``, as
          :class:`kmsmote.NoClusterError` (a subclass);
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
    neighbors : {"auto", "exact", "approximate"}, default="auto"
        How each kept cluster's neighbours and mean pairwise distance are
        found.  ``"exact"``: an exact search over all pairs of the
        cluster's class samples (time quadratic in their number), the
        reference's results.  ``"approximate"``: time near-linear in their
        number.  The class samples are split into cells of about 256 by a
        k-means of their own (two levels of cells for the largest
        clusters); each sample joins its 4 nearest cells, and its
        neighbours come from an exact search among the members of its
        cells (a true neighbour is missed only when no cell holds both;
        recall of 0.96-1.0 measured in ``bench/approx.py``).  The mean
        pairwise distance stays exact below 20,000 class samples; above,
        it comes from a seeded random sample of pairs corrected by the
        exactly known mean squared distance, with a standard error of about
        1e-4 of the mean.  Lists are computed for the samples the draws
        use.  Synthetic samples still join two class samples of one
        cluster; results depend on ``random_state``, never on ``n_jobs``.
        ``"auto"``: exact for clusters with fewer than 20,000 class samples
        (an exact search of at most about 2e8 distances: every comparison
        with imbalanced-learn stays exact), approximate above.  A
        neighbours estimator passed as ``k_neighbors`` that is not plain
        Euclidean is always used as is (exact); ``"approximate"`` with one
        raises.  ``cluster_stats_`` records the path and the mean's
        standard error of each cluster.

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
        ``weight``, ``n_generated``, ``path`` (the class's entry of
        ``class_paths_``), ``neighbors`` (``"exact"`` or ``"approximate"``:
        how a kept cluster was searched; ``""`` if not kept) and
        ``mean_distance_se`` (the standard error of an estimated
        ``mean_distance``; 0 when exact).  With the ``"smote"`` path a single record with
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
        "neighbors": [StrOptions({"auto", "exact", "approximate"})],
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
        neighbors="auto",
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
        self.neighbors = neighbors

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
        check_y_finite(y)
        if self.categorical_features is not None:
            _, y, _ = CategoricalEncoding(self.categorical_features,
                                          self.random_state).check(self, X, y)
        else:
            X, y, _, _ = check_fit_data(self, X, y)
        self.sampling_strategy_ = check_sampling_strategy(self.sampling_strategy, y)
        return self

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
        X_res, y_res, notes = self._fit_resample_checked(X, y)
        # What the plan had to say, reported at the caller's line.
        for note in notes:
            warnings.warn(note.message, note.category, stacklevel=2)
        return X_res, y_res

    @_fit_context(prefer_skip_nested_validation=True)
    def _fit_resample_checked(self, X, y):
        """(X_res, y_res, notes) in the user's containers."""
        check_y_finite(y)
        if not is_integer_labels(y):
            check_classification_targets(y)
        formatter = OutputFormatter(X, y)
        encoding = class_matrix = None
        if self.categorical_features is not None:
            # Categorical features: encoded before, decoded after.
            encoding = CategoricalEncoding(self.categorical_features, self.random_state)
            Xv, y, one_vs_all = encoding.check(self, X, y)
            peak = None
        else:
            Xv, y, one_vs_all, peak = check_fit_data(self, X, y)
        self.sampling_strategy_ = check_sampling_strategy(self.sampling_strategy, y)
        X_fit = Xv
        if encoding is not None:
            X_fit, class_matrix = encoding.encode(X, Xv, y, self.sampling_strategy_)
            for name in ("categorical_features_", "continuous_features_", "categories_",
                         "median_std_"):
                setattr(self, name, getattr(encoding, name))
        X_res, y_res, groups, notes = self._fit_resample(X_fit, y, class_matrix, peak)
        if one_vs_all:
            y_res = label_binarize(y_res, classes=np.unique(y))
        if encoding is not None:
            return (*encoding.decode(X, Xv, X_res, y_res, groups, formatter), notes)
        return (*formatter.transform(X_res, y_res), notes)

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
            self.kmeans_estimator_ = KMeans(n_clusters=DEFAULT_N_CLUSTERS,
                                            random_state=self.random_state, n_jobs=self.n_jobs)
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
        self.cluster_balance_threshold_ = fitted_threshold(
            self.cluster_balance_threshold, self.cluster_filter, n_clusters)
        if self.neighbors == "approximate" and not is_plain_euclidean_nn(self.nn_k_):
            raise ValueError(
                "neighbors='approximate' searches Euclidean neighbours with kmsmote's "
                f"own index, but k_neighbors is a {type(self.nn_k_).__name__} of its "
                "own; pass an int k_neighbors (or a plain Euclidean NearestNeighbors), "
                "or neighbors='exact' to keep your estimator."
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
        labels = check_cluster_labels(self.kmeans_estimator_.fit_predict(X_fit), X.shape[0],
                                      n_clusters, "fit_predict", "X")
        return labels, np.bincount(labels, minlength=n_clusters)

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
        """(X_res, y_res, kept groups, notes): _plan decides, the kernels
        search and generate.  ``class_matrix(label)`` gives the matrix for one
        class's neighbours when it differs from X's; ``peak`` is the largest
        |X| if already known."""
        self._validate_estimator()
        settings = PlanSettings.from_estimator(self)
        n_threads = resolve_n_threads(self.n_jobs)
        data = _Data(X, n_threads, peak=peak)
        total = sum(self.sampling_strategy_.values())
        source = random_source(self.random_state)
        own = isinstance(self.kmeans_estimator_, KMeans)
        fast_nn = is_plain_euclidean_nn(self.nn_k_)
        labels = None
        groups, y_parts, notes = [], [np.asarray(y)], []
        self.cluster_stats_, self.class_paths_ = [], {}
        for class_index, (label, n_samples) in enumerate(self.sampling_strategy_.items()):
            if n_samples == 0:
                continue
            if labels is None or self._refit_per_class():
                report_phase("clustering")
                labels, sizes = self._cluster_labels(X, data.for_clustering() if own else X)
            class_data = data if class_matrix is None else _Data(class_matrix(label), n_threads)
            report_phase("neighbours")
            is_class = y == label
            order, bounds = group_class_rows(labels, is_class, sizes.size)
            decision = decide_class(settings, label, n_samples, total, sizes, np.diff(bounds))
            self.class_paths_[label] = decision.path
            sets = [order[bounds[r.cluster]:bounds[r.cluster + 1]] if r.cluster >= 0
                    else np.flatnonzero(is_class) for r in decision.kept]
            # A user's own neighbour search stays exact.
            paths = [search_path(settings, rows.size) if fast_nn else "exact" for rows in sets]
            seeds = [search_seed(source, class_index, r.cluster) if path == "approximate"
                     else None for r, path in zip(decision.kept, paths)]
            found = search_groups(class_data, sets, paths, seeds, settings.n_neighbors,
                                  self.nn_k_, fast_nn, reference_order=fast_nn and not own)
            records, counts = allocate_class(settings, decision,
                                             [md for _, md, _, _ in found],
                                             class_data.weight_dtype,
                                             [(path, se) for _, _, se, path in found])
            self.cluster_stats_.extend(r.as_dict() for r in records)
            notes.extend(decision.notes)
            for rows, (nn, _, _, _), seed, count in zip(sets, found, seeds, counts):
                rows = np.ascontiguousarray(rows, dtype=np.int64)
                stored = None
                if nn is None:
                    # Approximate: the lists of the rows drawn only (all of
                    # them when the draws reach most rows anyway).
                    k = min(settings.n_neighbors - 1, rows.size - 1)
                    needed = None
                    if count < rows.size:
                        stored = group_draws(source, rows.size * k, count)
                        needed = np.unique(stored[0] // k)
                    nn = approximate_nn(class_data, rows, settings.n_neighbors, seed, needed)
                groups.append(kept_group(rows, nn, count, source, stored))
                y_parts.append(np.full(count, label, dtype=y.dtype))
            last = class_data, groups[-1].rows
        if labels is None:
            # Nothing to generate: the reference never fits the clusterer.
            return X.copy(), y.copy(), [], notes
        del labels  # not needed from here on: its memory is free for the output
        if fast_nn:
            # The reference leaves nn_k_ fitted on the last kept cluster
            # (the nn_k_ property fits it when first read).
            self._nn_k_rows = last[0].rows(last[1])
        report_phase("generation")
        return resample(data, groups), np.concatenate(y_parts), groups, notes
