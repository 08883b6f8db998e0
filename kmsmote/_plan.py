"""The resampling plan: every decision of KMeans-SMOTE, from counts.

Pure functions and small immutable records, shared by every front end (the
estimator, kmsmote.dask, the categorical path).  From cluster sizes and
per-cluster class counts they decide, for each class to over-sample: the
threshold, which clusters pass the filter and the small-cluster rule, what a
``no_cluster_policy`` does when none does, the diagnostic record of every
cluster, and after the neighbour search (done by the kernels) the weights,
the samples per kept cluster and the random draws.  Nothing here touches the
data, emits a warning or knows which front end called: what needs saying
comes back as ``Note`` records, which the public method emits so that the
warning names the user's line.
"""

import math
import numbers
from dataclasses import dataclass, replace

import numpy as np
from sklearn.utils import check_random_state

from ._errors import NoClusterError

# kmeans_estimator=None: a k-means with this many clusters (the reference's).
DEFAULT_N_CLUSTERS = 8

# Part of a class's samples that the clusters kept by no_cluster_policy="relax"
# hold at least (when the clusters with enough class samples hold that much).
_RELAX_COVER = 0.9


@dataclass(frozen=True)
class Note:
    """A warning the plan wants the user to see (emitted by the front end)."""

    message: str
    category: type = UserWarning


@dataclass(frozen=True)
class PlanSettings:
    """The estimator's parameters as the plan reads them, fixed for one fit.

    ``threshold`` is ``cluster_balance_threshold_`` (``"auto"`` or a float);
    ``exponent`` the density exponent (``None``: the per-cluster 'auto'
    rule); ``n_neighbors`` counts the sample itself (``k_neighbors + 1``).
    """

    threshold: object = "auto"
    cluster_filter: str = "fraction"
    small_clusters: str = "skip"
    no_cluster_policy: str = "raise"
    allocation: str = "ceil"
    exponent: float | None = None
    n_neighbors: int = 3
    neighbors: str = "auto"

    @classmethod
    def from_estimator(cls, estimator):
        """From a KMeansSMOTE whose ``_validate_estimator`` ran."""
        density = estimator.density_exponent
        if density == "auto":
            exponent = None
        elif density == "n_features":
            exponent = float(estimator.n_features_in_)
        else:
            exponent = float(density)
        return cls(
            threshold=estimator.cluster_balance_threshold_,
            cluster_filter=estimator.cluster_filter,
            small_clusters=estimator.small_clusters,
            no_cluster_policy=estimator.no_cluster_policy,
            allocation=estimator.allocation,
            exponent=exponent,
            n_neighbors=int(estimator.nn_k_.n_neighbors),
            neighbors=estimator.neighbors,
        )

    @property
    def min_class_count(self):
        """Fewest class samples a cluster needs under ``small_clusters``."""
        return {"skip": self.n_neighbors, "reduce_k": 2, "reduce_k_duplicate": 1}[
            self.small_clusters]


def fitted_threshold(cluster_balance_threshold, cluster_filter, n_clusters):
    """``cluster_balance_threshold_``: the parameter, except with a single
    cluster, where nothing is filtered (-inf for fractions, +inf for ratios)."""
    if n_clusters != 1:
        return cluster_balance_threshold
    return np.inf if cluster_filter == "imbalance_ratio" else -np.inf


def class_threshold(settings, n_samples, total_to_generate, n_class, n_total):
    """The cluster filter's threshold for one class ("auto": half the
    class's share of the samples to generate, or under "imbalance_ratio" the
    class's global one-vs-rest ratio)."""
    threshold = settings.threshold
    if threshold == "auto":
        if settings.cluster_filter == "imbalance_ratio":
            threshold = (n_total - n_class + 1) / (n_class + 1)
        else:
            threshold = n_samples / total_to_generate / 2
    return threshold


def weight_dtype(dtype):
    """The dtype in which the reference computes the weights of data of
    ``dtype``: float32 for float32, float64 otherwise."""
    return np.float32 if np.dtype(dtype) == np.float32 else np.float64


# ---------------------------------------------------------------------------
# The records of one class.


@dataclass(frozen=True)
class ClusterRecord:
    """One entry of ``cluster_stats_``: a class in a cluster (``cluster=-1``
    stands for the whole class under the "smote" fall-back)."""

    label: object
    cluster: int
    size: int
    class_count: int
    class_fraction: float
    threshold: float
    kept: bool = False
    reason: str = ""
    mean_distance: float = math.nan
    log_sparsity: float = math.nan
    weight: float = 0.0
    n_generated: int = 0
    path: str = "clusters"
    requested_threshold: float = math.nan
    neighbors: str = ""
    mean_distance_se: float = math.nan

    def as_dict(self):
        """The public form: the keys of ``cluster_stats_``."""
        return {
            "class": self.label, "cluster": self.cluster, "size": self.size,
            "class_count": self.class_count, "class_fraction": self.class_fraction,
            "threshold": self.threshold, "kept": self.kept, "reason": self.reason,
            "mean_distance": self.mean_distance, "log_sparsity": self.log_sparsity,
            "weight": self.weight, "n_generated": self.n_generated, "path": self.path,
            "requested_threshold": self.requested_threshold,
            "neighbors": self.neighbors, "mean_distance_se": self.mean_distance_se,
        }


def cluster_record(label, cluster, size, class_count, threshold):
    """The record of one class in one cluster, undecided."""
    size, class_count = int(size), int(class_count)
    return ClusterRecord(label, cluster, size, class_count, class_count / size,
                         float(threshold))


def group_class_rows(labels, is_class, n_clusters):
    """``(order, bounds)``: the class's row indices grouped by cluster, in
    row order inside each cluster; cluster ``c``'s rows are
    ``order[bounds[c]:bounds[c + 1]]``."""
    # A stable sort of the class rows' labels alone; 16-bit keys let NumPy
    # use its radix sort.
    in_class = np.flatnonzero(is_class)
    class_labels = labels[in_class]
    keys = class_labels.astype(np.uint16) if n_clusters <= 65536 else class_labels
    order = in_class[np.argsort(keys, kind="stable")]
    bounds = np.zeros(n_clusters + 1, dtype=np.int64)
    np.cumsum(np.bincount(class_labels, minlength=n_clusters), out=bounds[1:])
    return order, bounds


def _ratio(record):
    return (record.size - record.class_count + 1) / (record.class_count + 1)


def passes(settings, record, threshold):
    """Whether the cluster passes the filter for its class."""
    if settings.cluster_filter == "imbalance_ratio":
        return _ratio(record) < threshold
    return not record.class_fraction < threshold


def rejection(settings, record, threshold):
    """Why a cluster is not used for its class (None: it is kept)."""
    if not passes(settings, record, threshold):
        return (
            "imbalance ratio not below threshold"
            if settings.cluster_filter == "imbalance_ratio"
            else "class fraction below threshold"
        )
    # The reference's float expression, evaluated the same way.
    too_few = record.class_fraction * record.size < settings.n_neighbors
    if settings.small_clusters != "skip":
        too_few = record.class_count < settings.min_class_count
    if too_few:
        return (
            f"fewer than {settings.min_class_count} class samples"
            + (" (k_neighbors + 1)" if settings.small_clusters == "skip" else "")
        )
    return None


def decide(settings, base, threshold):
    """(records, kept records) under one threshold."""
    records, kept = [], []
    for record in base:
        reason = rejection(settings, record, threshold)
        record = replace(record, threshold=float(threshold), kept=reason is None,
                         reason="kept" if reason is None else reason)
        records.append(record)
        if reason is None:
            kept.append(record)
    return records, kept


@dataclass(frozen=True)
class ClassDecision:
    """The kept clusters of one class, before the neighbour search.

    ``records`` are its ``cluster_stats_`` entries; ``kept`` (a subset, in
    the same order) the clusters to generate in; ``path`` its entry of
    ``class_paths_``; ``notes`` the warnings to emit.
    """

    label: object
    n_samples: int
    records: tuple
    kept: tuple
    path: str
    notes: tuple = ()


def decide_class(settings, label, n_samples, total_to_generate, sizes, class_counts):
    """The decision for one class from every cluster's size and class count
    (NumPy arrays indexed by cluster): the clusters that pass the filter,
    else what ``no_cluster_policy`` does (a kept record with cluster -1
    stands for the whole class).  Raises NoClusterError when nothing can be
    kept."""
    n_class = int(np.sum(class_counts))
    n_total = int(np.sum(sizes))
    threshold = class_threshold(settings, n_samples, total_to_generate, n_class, n_total)
    base = [cluster_record(label, c, sizes[c], class_counts[c], threshold)
            for c in range(len(sizes)) if sizes[c]]
    records, kept = decide(settings, base, threshold)
    path, notes = "clusters", ()
    if not kept:
        policy = settings.no_cluster_policy
        if policy == "raise":
            raise no_cluster_error(settings, label, records, threshold)
        path = "smote"
        relaxed = None
        if policy == "relax":
            relaxed = relaxed_threshold(settings, records)
            path = "relax" if relaxed is not None else "relax-smote"
        if relaxed is not None:
            records, kept = decide(settings, base, relaxed)
            notes = (_relax_note(settings, label, threshold, relaxed, kept, n_class),)
        else:
            _check_smote_fallback(settings, label, n_class)
            kept = [_smote_record(label, n_class, n_total, threshold, path)]
            records = records + kept
            k = min(settings.n_neighbors - 1, n_class - 1) if n_class > 1 else 0
            notes = (_smote_note(settings, label, path, n_class, k),)
    final = tuple(replace(r, path=path, requested_threshold=float(threshold)) for r in records)
    kept_final = tuple(r for r in final if r.kept)
    return ClassDecision(label, n_samples, final, kept_final, path, notes)


# ---------------------------------------------------------------------------
# No cluster qualifies.


def no_cluster_error(settings, label, records, threshold):
    best = max((r.class_fraction for r in records), default=0.0)
    return NoClusterError(
        "No clusters found with sufficient samples of "
        f"class {label}. Try lowering the "
        "cluster_balance_threshold or increasing the number of "
        "clusters. (Highest fraction of this class in a cluster: "
        f"{best:.4g}; threshold used: {float(threshold):.4g}; "
        f"a cluster also needs at least {settings.min_class_count} samples of the class. "
        "no_cluster_policy='smote' or 'relax' over-samples such a class "
        "anyway.)"
    )


def _cover_statistic(ranked, stat, n_class):
    """The filter statistic of the first cluster, in ``ranked`` order, at
    which the clusters so far hold ``_RELAX_COVER`` of the ``n_class``
    samples; the last cluster's if they never do."""
    held = 0
    for record in ranked:
        held += record.class_count
        if held >= _RELAX_COVER * n_class:
            break
    return stat(record)


def relaxed_threshold(settings, records):
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
    eligible = [r for r in records if r.class_count >= settings.min_class_count]
    if not eligible:
        return None
    n_class = sum(r.class_count for r in records)
    n_total = sum(r.size for r in records)
    if settings.cluster_filter == "imbalance_ratio":
        # A cluster passes when its ratio is below the threshold: the
        # next float above a ratio keeps the clusters at that ratio.
        ranked = sorted(eligible, key=_ratio)
        share = float(np.nextafter((n_total - n_class + 1) / (n_class + 1), np.inf))
        cover = _cover_statistic(ranked, _ratio, n_class)
        return max(share, float(np.nextafter(cover, np.inf)))
    ranked = sorted(eligible, key=lambda r: r.class_fraction, reverse=True)
    cover = _cover_statistic(ranked, lambda r: r.class_fraction, n_class)
    return min(n_class / n_total, cover)


def _relax_note(settings, label, threshold, relaxed, kept, n_class):
    if settings.cluster_filter == "imbalance_ratio":
        rule = f"imbalance ratio threshold raised from {float(threshold):.4g} to {relaxed:.4g}"
    else:
        rule = f"class fraction threshold lowered from {float(threshold):.4g} to {relaxed:.4g}"
    held = sum(r.class_count for r in kept)
    return Note(
        f"KMeansSMOTE: no cluster qualified for class {label}; "
        f"no_cluster_policy='relax' {rule}, keeping {len(kept)} cluster(s) that "
        f"hold {held} of its {n_class} samples ({held / n_class:.0%}). To avoid "
        "this, lower cluster_balance_threshold or change the number of clusters; "
        "no_cluster_policy='smote' uses every sample of the class."
    )


def _check_smote_fallback(settings, label, n_class):
    if n_class < max(min(settings.min_class_count, 2), 1) or n_class < 1:
        raise NoClusterError(
            f"No clusters found with sufficient samples of class {label}, "
            f"and the class has only {n_class} sample(s): SMOTE needs at least 2 "
            "(or small_clusters='reduce_k_duplicate' to copy a single sample)."
        )


def _smote_record(label, n_class, n_total, threshold, path):
    return ClusterRecord(
        label, -1, int(n_total), int(n_class), n_class / n_total, float(threshold),
        kept=True, reason=f"no cluster qualified: SMOTE over the whole class ({path})",
        path=path)


def _smote_note(settings, label, path, n_class, k):
    why = ("no_cluster_policy='smote' falls back to" if path == "smote" else
           f"no_cluster_policy='relax' found no cluster with at least "
           f"{settings.min_class_count} samples of the class, so it fell back to")
    return Note(
        f"KMeansSMOTE: no cluster qualified for class {label}; {why} "
        f"plain SMOTE over all {n_class} samples of the class (k={k}). To keep "
        "the clustering, lower cluster_balance_threshold or change the number "
        "of clusters."
    )


# ---------------------------------------------------------------------------
# Weights and allocation.


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


def allocate(n_samples, weights, mode):
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


def _draw(rs, n_choices, count):
    """The reference's draws for one kept cluster: the base sample and
    neighbour (a flat index into the (m, k) neighbour table), then the step."""
    sample_idx = rs.randint(low=0, high=n_choices, size=count).astype(np.int64, copy=False)
    return sample_idx, rs.uniform(size=count)


class Reseeder:
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


def seeded_draws(seed, n_choices, count, reseed=np.random.RandomState):
    """The draws of one kept cluster from a fresh generator seeded with
    ``seed`` (the reference's scheme for an int ``random_state``)."""
    return _draw(reseed(seed), n_choices, count)


# Under neighbors="auto", a kept cluster with at least this many class rows
# is searched by the approximate path (kmsmote/_approx.py): below it the
# exact search costs at most about 2e8 pair distances, a few tenths of a
# second on one core, and the results stay the reference's.
AUTO_MIN_ROWS = 20_000


def search_path(settings, m):
    """``"exact"`` or ``"approximate"``: how the neighbours and the mean
    distance of a kept set of ``m`` class rows are found."""
    if m < 2 or settings.neighbors == "exact":
        return "exact"
    if settings.neighbors == "approximate" or m >= AUTO_MIN_ROWS:
        return "approximate"
    return "exact"


def search_seed(source, class_index, cluster):
    """The seed of one approximate search (``source`` from random_source):
    from an int, a function of (int, class, cluster) alone, so that every
    front end and every order of work finds the same; from a RandomState,
    the next draws of it (only approximate searches draw)."""
    if isinstance(source, numbers.Integral):
        state = np.random.SeedSequence([int(source) % 2**64, class_index, cluster + 1])
        return int(state.generate_state(1, np.uint64)[0])
    return int(check_random_state(source).randint(0, 2**62, dtype=np.int64))


def random_source(random_state):
    """An int seed (a fresh generator per kept cluster, as the reference),
    or the one RandomState every cluster draws from in turn."""
    if isinstance(random_state, np.random.RandomState) or random_state is None:
        return check_random_state(random_state)
    return random_state


# ---------------------------------------------------------------------------
# After the neighbour search.


@dataclass(frozen=True)
class KeptGroup:
    """A kept cluster ready for generation.

    ``rows``: its class rows (indices into X), ``nn``: their neighbour table
    (positions in ``rows``, shape (m, k)), ``count``: samples to generate;
    the draws come from ``seed`` (drawn when the rows are generated, so that
    only one cluster's draws are held at a time) or are ``stored``
    ``(sample_idx, steps)`` when every cluster shares one RandomState.
    """

    rows: np.ndarray
    nn: np.ndarray
    count: int
    seed: object = None
    stored: tuple | None = None


def allocate_class(settings, decision, mean_distances, dtype, searches=None):
    """``(records, counts)`` of one class: its ``cluster_stats_`` records
    completed with the kept clusters' mean distances, log sparsities,
    weights and samples to generate, and those samples per kept cluster.
    ``searches``: per kept cluster, ``(path, standard error of the mean
    distance)`` (default: exact, 0)."""
    weights, log_sparsity = cluster_weights(
        mean_distances, [r.class_count for r in decision.kept], settings.exponent, dtype)
    counts = [int(c) for c in allocate(decision.n_samples, weights, settings.allocation)]
    if searches is None:
        searches = [("exact", 0.0)] * len(decision.kept)
    done = iter([
        replace(r, mean_distance=md, weight=float(w), log_sparsity=float(ls), n_generated=c,
                neighbors=path, mean_distance_se=float(se))
        for r, md, w, ls, c, (path, se) in zip(decision.kept, mean_distances, weights,
                                                log_sparsity, counts, searches)
    ])
    records = tuple(next(done) if r.kept else r for r in decision.records)
    return records, counts


def kept_group(rows, nn, count, source, stored=None):
    """The KeptGroup of one cluster; ``source`` from random_source.  Called
    for the kept clusters in output order: a shared RandomState is drawn
    from in that order, as the reference does (``stored``: those draws,
    when group_draws took them already)."""
    if isinstance(source, numbers.Integral):
        return KeptGroup(rows, nn, count, seed=source)
    if stored is None:
        stored = _draw(check_random_state(source), nn.size, count)
    return KeptGroup(rows, nn, count, stored=stored)


def group_draws(source, n_choices, count):
    """The draws kept_group gives a cluster with ``n_choices`` neighbour
    slots, taken before its neighbour table exists (to know which rows are
    drawn); pass them to kept_group as ``stored``.  From an int, the same
    draws draws() makes again later."""
    if isinstance(source, numbers.Integral):
        return seeded_draws(source, n_choices, count)
    return _draw(check_random_state(source), n_choices, count)


def draws(group, reseed=np.random.RandomState):
    """``(sample_idx, steps)`` of a kept group: stored, or drawn now from a
    fresh generator seeded with the user's int (the same values each call;
    ``reseed(seed)`` gives that generator, e.g. a Reseeder)."""
    if group.stored is not None:
        return group.stored
    return _draw(reseed(group.seed), group.nn.size, group.count)
