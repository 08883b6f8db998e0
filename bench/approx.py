"""Benchmarks of the approximate neighbour path (issue 18), against the exact
path in the same run.

    python bench/approx.py                     # every section
    python bench/approx.py scaling recall      # some of them
    python bench/approx.py --quick             # small sizes, a smoke run

Sections:

- ``large``: 30,000,000 x 20 float32 rows, 10 % minority, KMeansSMOTE with
  its default clusters and ``neighbors="auto"``: fit_resample time and peak
  RSS against 1.25 x (input + output) + 200 MB, and which path each cluster
  took.  The exact path at 100k..3M rows in the same run (and ``auto`` at
  3M), and its time extrapolated to the 30M case: time = a + b * rows +
  c * pairs fitted over those sizes, pairs = sum over kept clusters of
  m (m - 1) / 2, evaluated at the 30M run's pairs.
- ``scaling``: the default settings at 300k, 1M, 3M and 10M rows (the time
  per row, 3M over 300k), median of ``--repeats``; the exact path beside.
- ``recall``: recall@k (k = 2 and 5) of ``kmsmote._approx.approximate_neighbours``
  against the exact lists of ``kmsmote._neighbors.knn_sparsity``, and the
  relative error of the mean pairwise distance against the exact one (with
  the standard error the estimate reports), per set of rows: W1's minority
  rows per cluster of 20, the 60k x 768 embeddings (per cluster of 10 and the
  whole minority class), the minority per cluster of 8 of the 3M rows (the
  largest ~70k rows, the only sets as shipped whose mean distance is
  sampled rather than exact), and the quality benchmark's data sets (standardised; the minority class, and
  its rows per cluster of 8); and the recall of 2,000 rows drawn from the
  30M case's largest minority cluster (~700k rows, two levels of cells as
  shipped) against a brute-force search of that cluster.  As shipped; with
  two levels of cells on sets of a few thousand rows already
  (``TWO_LEVEL``: ``FLAT_CELLS`` = 16); and as a stress variant (``STRESS``:
  ``kmsmote._approx.CELL_ROWS`` set to 16 so that small sets are split into
  many cells too.
- ``allocation``: W1 (1M rows, 20 clusters, threshold 0), ``neighbors="exact"``
  against ``"approximate"`` (and the stress variant): the per-cluster
  ``n_generated``.

The data: ``make_classification``-like rows as in bench/run.py (20 features,
10 informative, weights 0.9 / 0.1, three clusters per class), drawn here in
chunks of 2M rows from one fixed mixture (same centres, covariances and
feature order for every chunk; see ``_mixture``) so that 30M rows
never need a 30M float64 array.  Every size is drawn with the same mixture.

The "default settings" use ``cluster_balance_threshold=0.0``: on these rows
the default threshold (0.5 for two classes) keeps no cluster (the highest
minority share of a cluster is about 0.22) and KMeansSMOTE raises
NoClusterError; the issue's own measurements use threshold 0 for that
reason.  ``scaling`` records the literal default's outcome at 300k rows.

Every timed run is a fresh process (bench/_child.py), so that its peak RSS is
its own; ``recall`` runs in this process (it times the kernels only).  Data
are cached as .npz beside bench/run.py's (bench/results/data).  Results go to
bench/results/approx.txt and approx.json (approx-quick.* with --quick); a
section run alone replaces that section there and keeps the others, each
with the date, commit and machine of the run that made it.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from run import (CACHE, PYTHONS, MiB, _classification, _data, _embeddings, _median, _run,  # noqa: E402
                 _Tee)

SECTIONS = ("large", "scaling", "recall", "allocation")
CHUNK_ROWS = 2_000_000
# The stress variant of the approximate path: cells of 16 rows, so that
# small sets are split into many cells too, the mean distance sampled
# whatever the set's size (as shipped it is exact up to EXACT_MEAN_PAIRS),
# and in the estimator the drawn rows' lists from the cells even where so
# few are drawn that as shipped they are searched exhaustively
# (EXHAUSTIVE_PAIRS; approximate_neighbours lists every row from the cells
# anyway).
STRESS = {"CELL_ROWS": 16, "EXACT_MEAN_PAIRS": 0, "EXHAUSTIVE_PAIRS": 0}
STRESS_NAME = "stress (CELL_ROWS=16, mean always sampled)"
# Two levels of cells (as shipped above FLAT_CELLS cells, ~260k rows) on
# sets of a few thousand rows already.
TWO_LEVEL = {"FLAT_CELLS": 16}
TWO_LEVEL_NAME = "two-level cells (FLAT_CELLS=16)"
AS_SHIPPED = "as shipped"
# KMeansSMOTE's settings in "large" and "scaling": its defaults but the
# threshold (see the module docstring).
DEFAULTS = dict(random_state=0, cluster_balance_threshold=0.0)
W1_PARAMS = dict(kmeans_estimator=20, cluster_balance_threshold=0.0, random_state=0)


# --------------------------------------------------------------------------
# Data


def _mixture(seed, d=20, informative=10, redundant=2, weights=(0.9, 0.1),
             clusters_per_class=3, class_sep=1.0, flip_y=0.01):
    """The parameters of a make_classification-style mixture, drawn once.

    Gaussian clusters on distinct vertices of a hypercube of side
    ``2 * class_sep`` in the informative dimensions, each with its own random
    linear map; ``redundant`` features are random combinations of the
    informative ones, the rest pure noise; then a fixed feature order
    (make_classification's defaults: no shift, no scaling)."""
    rng = np.random.default_rng([seed, 0])
    n_classes = len(weights)
    n_clusters = n_classes * clusters_per_class
    codes = rng.choice(2 ** informative, size=n_clusters, replace=False)
    vertices = (codes[:, None] >> np.arange(informative)) & 1
    labels = np.arange(n_clusters) % n_classes
    return {
        "d": d, "informative": informative, "redundant": redundant,
        "flip_y": flip_y, "n_classes": n_classes,
        "labels": labels,
        "share": np.asarray(weights, dtype=np.float64)[labels] / clusters_per_class,
        "centres": class_sep * (2.0 * vertices - 1.0),
        "maps": rng.uniform(-1.0, 1.0, size=(n_clusters, informative, informative)),
        "combine": rng.uniform(-1.0, 1.0, size=(informative, redundant)),
        "order": rng.permutation(d),
    }


def _mixture_chunk(model, rows, rng):
    """``rows`` float64 rows of the mixture and their labels."""
    share = model["share"]
    counts = np.floor(rows * share).astype(np.int64)
    counts[: rows - counts.sum()] += 1
    cluster = rng.permutation(np.repeat(np.arange(share.size), counts))
    inf, red = model["informative"], model["redundant"]
    z = rng.standard_normal((rows, inf))
    for k in range(share.size):
        at = cluster == k
        z[at] = z[at] @ model["maps"][k] + model["centres"][k]
    X = np.empty((rows, model["d"]))
    X[:, :inf] = z
    X[:, inf:inf + red] = z @ model["combine"]
    X[:, inf + red:] = rng.standard_normal((rows, model["d"] - inf - red))
    y = model["labels"][cluster].astype(np.int64)
    flip = rng.uniform(size=rows) < model["flip_y"]
    y[flip] = rng.integers(model["n_classes"], size=int(flip.sum()))
    return X[:, model["order"]], y


def _mixture_data(n, seed=0, dtype=np.float32):
    """n rows of the mixture, built chunk by chunk into one ``dtype`` array
    (at most one chunk in float64 at a time)."""

    def make():
        model = _mixture(seed)
        X = np.empty((n, model["d"]), dtype=dtype)
        y = np.empty(n, dtype=np.int64)
        for i, start in enumerate(range(0, n, CHUNK_ROWS)):
            stop = min(n, start + CHUNK_ROWS)
            Xc, yc = _mixture_chunk(model, stop - start, np.random.default_rng([seed, 1, i]))
            X[start:stop] = Xc
            y[start:stop] = yc
            del Xc
        return X, y
    return make


def mixture_path(n):
    return _data(f"mix_{n}", _mixture_data(n))


# --------------------------------------------------------------------------
# Timed runs (fresh processes), shared between sections


class Runs:
    """Child runs of this invocation, kept by (data, params) so that a
    section reuses another's identical runs instead of repeating them."""

    def __init__(self, timeout):
        self.timeout = timeout
        self.done = {}

    def get(self, path, params, repeats):
        key = (path, json.dumps(params, sort_keys=True))
        runs = self.done.setdefault(key, [])
        while len(runs) < repeats:
            load = os.getloadavg()[0]
            r = _run("kmsmote", path, dict(params, stats=True, floor=False), self.timeout)
            r["load_before"] = load
            runs.append(r)
            if "error" in r:
                print(f"  error: {os.path.basename(path)} {params}: {r['error']}", flush=True)
                break
        return runs[:repeats]


def _ok(runs):
    return [r for r in runs if "error" not in r]


def _stat(runs):
    """Median time, peak RSS and budget of some runs of one configuration."""
    ok = _ok(runs)
    if not ok:
        return {"errors": [r["error"] for r in runs]}
    io = ok[0]["input_bytes"] + ok[0]["output_bytes"]
    return {
        "n": ok[0]["n"], "time": _median(ok, "time"),
        "times": [r["time"] for r in ok],
        "peak_rss_mib": _median(ok, "peak_rss") / MiB,
        "io_mib": io / MiB, "budget_mib": (1.25 * io + 200 * MiB) / MiB,
        "pairs": ok[0].get("pairs"), "n_out": ok[0].get("n_out"),
        "clusters": ok[0].get("clusters"),
        "load_before": [r.get("load_before") for r in ok],
        "errors": [r["error"] for r in runs if "error" in r],
    }


def _paths(stat):
    """Compact summary of which path the kept clusters took."""
    rows = [c for c in stat.get("clusters") or [] if c[3]]
    parts = []
    for path in sorted({c[4] for c in rows}):
        sizes = [c[2] for c in rows if c[4] == path]
        se = [c[7] / c[6] for c in rows if c[4] == path and c[7] and c[6]]
        parts.append(f"{path or '?'}: {len(sizes)} clusters, {sum(sizes):,} class rows "
                     f"(largest {max(sizes):,})"
                     + (f", relative s.e. of the mean distance <= {max(se):.1e}" if se else ""))
    return "; ".join(parts) or "no cluster records"


def _line(label, stat):
    if "time" not in stat:
        return f"{label}: {'; '.join(stat['errors'])}"
    return (f"{label}: {stat['time']:.2f} s ({stat['time'] / stat['n'] * 1e6:.3f} us/row), "
            f"peak RSS {stat['peak_rss_mib']:.0f} MiB (budget 1.25 x io + 200 MB = "
            f"{stat['budget_mib']:.0f} MiB, io {stat['io_mib']:.0f} MiB), "
            f"{stat['pairs']:.3g} pairs in kept clusters | {_paths(stat)}")


def _fit_cost(stats):
    """time ~ a + b rows + c pairs, least squares on relative errors, with
    a, b, c >= 0 (a cost; unconstrained, the few sizes can give a negative
    per-row cost)."""
    from scipy.optimize import nnls

    ns = sorted(stats)
    t = np.array([stats[n]["time"] for n in ns])
    A = np.array([[1.0, n, stats[n]["pairs"]] for n in ns]) / t[:, None]
    # Columns scaled to one magnitude for the solver, unscaled after.
    norm = np.abs(A).max(axis=0)
    coef = nnls(A / norm, np.ones(len(ns)))[0] / norm
    fitted = A @ coef * t
    return {"fixed_s": float(coef[0]), "s_per_row": float(coef[1]),
            "s_per_pair": float(coef[2]),
            "relative_residuals": {n: float(f / ti - 1) for n, f, ti in zip(ns, fitted, t)}}


def section_large(args, runs):
    q = args.quick
    big = 300_000 if q else 30_000_000
    small = (10_000, 30_000, 100_000) if q else (100_000, 300_000, 1_000_000, 3_000_000)
    mid = small[-1]
    out = {"rows": big, "settings": DEFAULTS}
    print(f"== large: {big:,} x 20 float32, {DEFAULTS}", flush=True)
    # The smaller runs first: the big data set is only loaded by its child.
    exact = {}
    for n in small:
        exact[n] = _stat(runs.get(mixture_path(n), dict(DEFAULTS, neighbors="exact"), args.repeats))
        print("  " + _line(f"exact {n:>10,}", exact[n]), flush=True)
    auto_mid = _stat(runs.get(mixture_path(mid), DEFAULTS, args.repeats))
    print("  " + _line(f"auto  {mid:>10,}", auto_mid), flush=True)
    path = mixture_path(big)
    auto_big = _stat(runs.get(path, DEFAULTS, args.large_repeats))
    print("  " + _line(f"auto  {big:>10,}", auto_big), flush=True)
    out.update(exact={str(n): s for n, s in exact.items()}, auto_mid=auto_mid, auto_big=auto_big)
    ok = [n for n in small if "time" in exact[n]]
    if len(ok) >= 3 and "time" in auto_big:
        fit = _fit_cost({n: exact[n] for n in ok})
        predicted = fit["fixed_s"] + fit["s_per_row"] * big + fit["s_per_pair"] * auto_big["pairs"]
        out["exact_fit"] = fit
        out["exact_predicted_s"] = predicted
        # A cross-check: the largest size's time scaled by the pairs alone.
        top = ok[-1]
        out["exact_pairs_ratio_s"] = exact[top]["time"] * auto_big["pairs"] / exact[top]["pairs"]
        print(f"  exact path: time ~ {fit['fixed_s']:.3f} s + {fit['s_per_row'] * 1e6:.3f} us x rows "
              f"+ {fit['s_per_pair'] * 1e9:.3f} ns x pairs (relative residuals "
              + ", ".join(f"{n:,}: {r:+.3f}" for n, r in fit["relative_residuals"].items())
              + f"); at {big:,} rows and {auto_big['pairs']:.3g} pairs: {predicted:.0f} s "
              f"({predicted / 60:.1f} min); by the pairs alone from {top:,} rows: "
              f"{out['exact_pairs_ratio_s']:.0f} s ({out['exact_pairs_ratio_s'] / 60:.1f} min)", flush=True)
    if "time" in auto_big:
        out["time_ok"] = auto_big["time"] < 60
        out["rss_ok"] = auto_big["peak_rss_mib"] <= auto_big["budget_mib"]
        print(f"  targets: time {auto_big['time']:.1f} s < 60 s: {out['time_ok']}; peak RSS "
              f"{auto_big['peak_rss_mib']:.0f} MiB <= {auto_big['budget_mib']:.0f} MiB: {out['rss_ok']}",
              flush=True)
    if "time" in auto_mid and "time" in exact[mid]:
        out["mid_exact_over_auto"] = exact[mid]["time"] / auto_mid["time"]
        print(f"  at {mid:,}: exact / auto time = {out['mid_exact_over_auto']:.2f}", flush=True)
    return out


def section_scaling(args, runs):
    sizes = (30_000, 100_000, 300_000) if args.quick else (300_000, 1_000_000, 3_000_000, 10_000_000)
    exact_sizes = sizes if args.quick else sizes[:3]
    print(f"== scaling: {DEFAULTS}, median of {args.repeats}", flush=True)
    out = {"settings": DEFAULTS, "auto": {}, "exact": {}}
    literal = runs.get(mixture_path(sizes[0]), dict(random_state=0), 1)
    errors = [r["error"] for r in literal if "error" in r]
    out["literal_defaults"] = errors[0] if errors else "ran"
    print(f"  KMeansSMOTE(random_state=0) at {sizes[0]:,}: "
          + (errors[0] if errors else f"ran, {literal[0]['time']:.2f} s"), flush=True)
    for n in sizes:
        out["auto"][str(n)] = s = _stat(runs.get(mixture_path(n), DEFAULTS, args.repeats))
        print("  " + _line(f"auto  {n:>10,}", s), flush=True)
    for n in exact_sizes:
        out["exact"][str(n)] = s = _stat(runs.get(mixture_path(n), dict(DEFAULTS, neighbors="exact"),
                                                  args.repeats))
        print("  " + _line(f"exact {n:>10,}", s), flush=True)
    for kind in ("auto", "exact"):
        per_row = {int(n): s["time"] / s["n"] for n, s in out[kind].items() if "time" in s}
        a, b = sizes[0], sizes[2]
        if a in per_row and b in per_row:
            ratio = per_row[b] / per_row[a]
            out[f"{kind}_ratio_{b}_over_{a}"] = ratio
            extra = ""
            if kind == "auto" and sizes[-1] != b and sizes[-1] in per_row:
                out[f"auto_ratio_{sizes[-1]}_over_{a}"] = per_row[sizes[-1]] / per_row[a]
                extra = f"; at {sizes[-1]:,} / at {a:,} = {per_row[sizes[-1]] / per_row[a]:.2f}"
            print(f"  {kind}: time per row at {b:,} / at {a:,} = {ratio:.2f}"
                  + (" (target <= 1.3)" if kind == "auto" else "") + extra, flush=True)
    return out


# --------------------------------------------------------------------------
# Recall and mean distance, in this process


def _sq_dist(A, who, nn):
    """Squared distances from the rows ``who`` of the set (its rows A, in
    float64) to their listed neighbours (positions in the set)."""
    diff = A[nn] - A[who][:, None, :]
    return np.einsum("ijk,ijk->ij", diff, diff)


def _recall(A, who, approx_nn, exact_nn):
    """Per-row recall@k of the rows ``who`` of the set (lists of those rows);
    an approximate neighbour at the exact k-th distance (a tie) counts as a
    hit.  Returns (recall per row, hits that were ties)."""
    k = exact_nn.shape[1]
    strict = np.array([np.intersect1d(a, e).size for a, e in zip(approx_nn, exact_nn)])
    kth = _sq_dist(A, who, exact_nn[:, -1:])[:, 0]
    da = _sq_dist(A, who, approx_nn)
    in_exact = (approx_nn[:, :, None] == exact_nn[:, None, :]).any(axis=2)
    tie = ~in_exact & (da <= kth[:, None] * (1 + 1e-12))
    hits = strict + tie.sum(axis=1)
    return hits / k, int(tie.sum())


def _brute_force(A, who, k):
    """The exact k nearest (positions, nearest first) of the rows ``who``
    of A among all rows of A but themselves, in float64."""
    sq = np.einsum("ij,ij->i", A, A)
    out = np.empty((who.size, k), dtype=np.int64)
    for start in range(0, who.size, 32):
        q = who[start:start + 32]
        d = sq[q][:, None] - 2.0 * (A[q] @ A.T) + sq[None, :]
        d[np.arange(q.size), q] = np.inf
        part = np.argpartition(d, k, axis=1)[:, :k]
        order = np.argsort(np.take_along_axis(d, part, axis=1), axis=1, kind="stable")
        out[start:start + q.size] = np.take_along_axis(part, order, axis=1)
    return out


def _exact(X, rows, k, threads):
    from kmsmote import _neighbors

    m = rows.size
    t0 = time.perf_counter()
    nn, pair_sum = _neighbors.knn_sparsity(X, rows, k, threads)
    seconds = time.perf_counter() - t0
    return np.asarray(nn), 2.0 * pair_sum / (m * (m - 1)), seconds


def _approx_call(X, rows, k, seed, threads):
    from kmsmote import _approx

    t0 = time.perf_counter()
    nn, mean, se = _approx.approximate_neighbours(X, rows, k, seed, threads)
    return np.asarray(nn), float(mean), float(se), time.perf_counter() - t0


class _Overrides:
    """Temporarily other values of kmsmote._approx's module constants."""

    def __init__(self, values):
        self.values = values or {}

    def __enter__(self):
        from kmsmote import _approx

        missing = [name for name in self.values if not hasattr(_approx, name)]
        if missing:
            raise AttributeError(f"kmsmote._approx has no {', '.join(missing)}: update STRESS")
        self.saved = {name: getattr(_approx, name) for name in self.values}
        for name, value in self.values.items():
            setattr(_approx, name, value)

    def __exit__(self, *exc):
        from kmsmote import _approx

        for name, value in self.saved.items():
            setattr(_approx, name, value)


def measure_set(X, rows, ks, threads, variants, queries=None):
    """Recall and mean-distance error of one set of rows, every k, seed and
    variant (name -> (overrides of kmsmote._approx's constants or None,
    seeds)).  ``queries``: recall over that many rows of the set drawn at
    random, against a brute-force search of the whole set, and no exact
    mean (for a set too large for the exact kernel)."""
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    out = {"m": int(rows.size), "k": {}}
    A = X[rows].astype(np.float64)
    who = np.arange(rows.size)
    if queries is not None and queries < rows.size:
        who = np.sort(np.random.default_rng(12345).choice(rows.size, queries, replace=False))
        out["queries"] = int(queries)
    for k in ks:
        if rows.size < k + 1:
            continue
        if who.size < rows.size:
            t0 = time.perf_counter()
            exact_nn, exact_mean, exact_s = _brute_force(A, who, k), None, None
            exact_s = time.perf_counter() - t0
        else:
            exact_nn, exact_mean, exact_s = _exact(X, rows, k, threads)
        rec = {"exact_mean": exact_mean, "exact_s": exact_s, "variants": {}}
        for name, (overrides, seeds) in variants.items():
            per_seed = []
            with _Overrides(overrides):
                from kmsmote import _approx

                # By the documented rules: split into cells, mean sampled.
                if hasattr(_approx, "cells_and_probes"):
                    n_cells, n_probe = _approx.cells_and_probes(rows.size)
                else:
                    n_cells, n_probe = max(1, round(rows.size / _approx.CELL_ROWS)), _approx.N_PROBE
                rec.setdefault("split", {})[name] = n_cells > n_probe
                rec.setdefault("sampled_mean", {})[name] = (
                    rows.size * (rows.size - 1) // 2 > getattr(_approx, "EXACT_MEAN_PAIRS", -1))
                for seed in seeds:
                    nn, mean, se, secs = _approx_call(X, rows, k, seed, threads)
                    r, ties = _recall(A, who, nn[who], exact_nn)
                    per_seed.append({
                        "seed": seed, "recall": float(r.mean()), "rows_below_1": int((r < 1).sum()),
                        "ties": ties, "seconds": secs, "mean": mean, "se": se,
                        "rel_err": None if exact_mean is None else (mean - exact_mean) / exact_mean,
                        "rel_se": se / (mean if exact_mean is None else exact_mean)})
            rec["variants"][name] = per_seed
        out["k"][str(k)] = rec
    return out


def _minority(y):
    labels, counts = np.unique(y, return_counts=True)
    return labels[np.argmin(counts)]


def _cluster_sets(X, y, n_clusters, min_rows):
    """Minority rows of each cluster of kmsmote.KMeans(n_clusters, random_state=0)."""
    from kmsmote import KMeans

    labels = KMeans(n_clusters=n_clusters, random_state=0).fit(X).labels_
    minority = y == _minority(y)
    sets = {}
    for c in range(n_clusters):
        rows = np.flatnonzero(minority & (labels == c))
        if rows.size >= min_rows:
            sets[f"cluster {c}"] = rows
    return sets


def _load_npz(path):
    data = np.load(path)
    return np.ascontiguousarray(data["X"]), data["y"]


def recall_groups(quick):
    """The groups of sets, built lazily: dicts with the group's name, X,
    ``sets`` {set name: rows}, ``detail`` (print per set), ``variants``
    (names, None: all), ``seeds`` (at most that many) and ``queries`` (see
    measure_set)."""
    s = 10 if quick else 1
    two_level = [AS_SHIPPED, TWO_LEVEL_NAME, STRESS_NAME]
    # bench/run.py's W1 and W6 data (the same cache files).
    X, y = _load_npz(_data(f"w1_{s}", _classification(1_000_000 // s)))
    yield dict(name="W1 (1M x 20 float64), minority per cluster of 20", X=X,
               sets=_cluster_sets(X, y, 20, 3), variants=two_level)
    X, y = _load_npz(_data(f"w6_{s}", _embeddings(60_000 // s, 768)))
    sets = _cluster_sets(X, y, 10, 3)
    sets["whole minority"] = np.flatnonzero(y == _minority(y))
    yield dict(name="embeddings (60k x 768 float32, unit norm), minority per cluster of 10 and whole",
               X=X, sets=sets, variants=two_level)
    # The large clusters: every minority cluster of the 3M rows (the default
    # 8 clusters), the largest of them (~70k rows) among them.
    n = 300_000 if quick else 3_000_000
    X, y = _load_npz(mixture_path(n))
    yield dict(name=f"{n:,}-row mixture (20 float32), minority per cluster of 8", X=X,
               sets=_cluster_sets(X, y, 8, 3), detail=True, variants=two_level)
    del X, y
    # The 30M case's largest minority cluster (~700k rows, two levels of
    # cells as shipped): recall of 2,000 of its rows drawn at random,
    # against a brute-force search of the whole cluster (the exact kernel
    # would take most of an hour on it); no exact mean.
    n = 1_000_000 if quick else 30_000_000
    X, y = _load_npz(mixture_path(n))
    sets = _cluster_sets(X, y, 8, 3)
    largest = max(sets, key=lambda name: sets[name].size)
    yield dict(name=f"largest minority cluster of the {n:,}-row mixture, 2,000 rows' lists",
               X=X, sets={largest: sets[largest]}, detail=True, variants=[AS_SHIPPED], seeds=3,
               queries=2000)
    del X, y
    from quality import DATASETS, load
    from sklearn.preprocessing import StandardScaler

    for name in DATASETS[:3] if quick else DATASETS:
        X, y = load(name)
        X = np.ascontiguousarray(StandardScaler().fit_transform(X))
        sets = {"minority": np.flatnonzero(y == 1)}
        sets.update(_cluster_sets(X, y, 8, 3))
        yield dict(name=f"quality set {name} (standardised), minority and per cluster of 8", X=X,
                   sets=sets, variants=[AS_SHIPPED, STRESS_NAME])


def _group_summary(sets, variant, k):
    recs = [s["k"][k]["variants"][variant] for s in sets.values() if k in s["k"]]
    if not recs:
        return None
    set_recall = [np.mean([r["recall"] for r in per_seed]) for per_seed in recs]
    flat = [r for per_seed in recs for r in per_seed]
    known = [r for r in flat if r["rel_err"] is not None] or [{"rel_err": np.nan, "rel_se": np.nan}]
    err = np.abs([r["rel_err"] for r in known])
    se = np.array([r["rel_se"] for r in known])
    z = err[se > 0] / se[se > 0]
    split = sum(s["k"][k]["split"][variant] for s in sets.values() if k in s["k"])
    sampled = sum(s["k"][k]["sampled_mean"][variant] for s in sets.values() if k in s["k"])
    return {
        "sets": len(recs), "runs": len(flat), "sets_split": split, "sets_mean_sampled": sampled,
        "recall_mean": float(np.mean([r["recall"] for r in flat])),
        "recall_min_set": float(min(set_recall)),
        "recall_min_run": float(min(r["recall"] for r in flat)),
        "ties": int(sum(r["ties"] for r in flat)),
        "rel_err_median": float(np.median(err)), "rel_err_p95": float(np.percentile(err, 95)),
        "rel_err_max": float(err.max()),
        "rel_se_median": float(np.median(se)), "rel_se_max": float(se.max()),
        "err_over_se_median": float(np.median(z)) if z.size else None,
        "err_over_se_p95": float(np.percentile(z, 95)) if z.size else None,
        "exact_err_runs": int((se == 0).sum()),
        "approx_s": float(sum(r["seconds"] for r in flat) / len(recs[0])),
    }


def section_recall(args, runs):
    from kmsmote import _approx, _plan

    ks = (2, 5)
    seeds = tuple(range(2 if args.quick else 5))
    # The stress variant samples up to MAX_PAIRS pairs per set for its mean:
    # fewer seeds.
    stress_seeds = seeds[:3]
    all_variants = {AS_SHIPPED: (None, seeds), TWO_LEVEL_NAME: (TWO_LEVEL, stress_seeds),
                    STRESS_NAME: (STRESS, stress_seeds)}
    auto_min_rows = getattr(_plan, "AUTO_MIN_ROWS", getattr(_approx, "AUTO_MIN_ROWS", None))
    shipped = {name: getattr(_approx, name, None)
               for name in ("CELL_ROWS", "N_PROBE", "EXACT_MEAN_PAIRS", "FLAT_CELLS", "NEAR_CELLS")}
    print(f"== recall: k in {ks}, seeds {seeds} (variants: {stress_seeds}); as shipped: "
          + ", ".join(f"{k}={v}" for k, v in shipped.items()) + f", AUTO_MIN_ROWS={auto_min_rows}",
          flush=True)
    out = {"ks": ks, "seeds": seeds, "variant_seeds": stress_seeds, "shipped": shipped,
           "auto_min_rows": auto_min_rows, "variants": {TWO_LEVEL_NAME: TWO_LEVEL, STRESS_NAME: STRESS},
           "groups": {}}
    for group in recall_groups(args.quick):
        t0 = time.perf_counter()
        X, sets = group["X"], group["sets"]
        variants = {v: (o, sd[:group.get("seeds", len(sd))]) for v, (o, sd) in all_variants.items()
                    if v in (group.get("variants") or all_variants)}
        measured = {name: measure_set(X, rows, ks, args.threads, variants, group.get("queries"))
                    for name, rows in sets.items()}
        exact_s = sum(s["k"][str(k)]["exact_s"] for s in measured.values() for k in ks
                      if str(k) in s["k"])
        summary = {v: {str(k): _group_summary(measured, v, str(k)) for k in ks} for v in variants}
        out["groups"][group["name"]] = {"sets": measured, "summary": summary,
                                        "seconds": time.perf_counter() - t0, "exact_s": exact_s}
        sizes = sorted(s["m"] for s in measured.values())
        print(f"  {group['name']}: {len(sizes)} sets of {sizes[0]:,}..{sizes[-1]:,} rows; "
              f"exact {'brute force on the drawn rows' if group.get('queries') else 'kernels'} "
              f"{exact_s:.2f} s", flush=True)
        for v in variants:
            for k in ks:
                g = summary[v][str(k)]
                if g is None:
                    continue
                print(f"    {v} k={k} ({g['sets_split']} sets split into cells, "
                      f"{g['sets_mean_sampled']} with a sampled mean): recall mean {g['recall_mean']:.4f}, "
                      f"min over sets {g['recall_min_set']:.4f} (min run {g['recall_min_run']:.4f}, "
                      f"ties {g['ties']}); "
                      + ("no exact mean distance to compare with" if np.isnan(g["rel_err_max"]) else
                         f"|rel. err.| of the mean distance median {g['rel_err_median']:.1e}, "
                         f"p95 {g['rel_err_p95']:.1e}, max {g['rel_err_max']:.1e}; reported rel. s.e. "
                         f"median {g['rel_se_median']:.1e}, max {g['rel_se_max']:.1e}; |err|/s.e. median "
                         + (f"{g['err_over_se_median']:.2f}, p95 {g['err_over_se_p95']:.2f}"
                            if g["err_over_se_median"] is not None else "-"))
                      + f"; approx {g['approx_s']:.2f} s per seed", flush=True)
        for name, m in measured.items() if group.get("detail") else ():
            print(f"    {name} ({m['m']:,} rows): " + "; ".join(
                f"{v.split(' (')[0]} k={k} recall {np.mean([r['recall'] for r in per_seed]):.4f}, "
                + ("rel. err. " + "/".join(f"{r['rel_err']:+.1e}" for r in per_seed)
                   if per_seed[0]["rel_err"] is not None else "mean " + "/".join(
                       f"{r['mean']:.6g}" for r in per_seed))
                + f" (s.e. {np.mean([r['rel_se'] for r in per_seed]):.1e})"
                for k, rec in m["k"].items() for v, per_seed in rec["variants"].items()), flush=True)
        del X, sets, group
    every = {v: {str(k): [g["summary"][v][str(k)] for g in out["groups"].values()
                          if g["summary"].get(v, {}).get(str(k))] for k in ks} for v in all_variants}
    out["overall"] = {
        v: {k: {"recall_min_set": min(g["recall_min_set"] for g in gs),
                "rel_err_max": float(np.nanmax([g["rel_err_max"] for g in gs]))}
            for k, gs in per_k.items() if gs}
        for v, per_k in every.items()}
    for v, per_k in out["overall"].items():
        print(f"  overall, {v}: " + "; ".join(
            f"k={k}: lowest set recall {g['recall_min_set']:.4f} (target >= 0.95), largest "
            f"|rel. err.| {g['rel_err_max']:.1e} (target <= 1e-3)" for k, g in per_k.items()), flush=True)
    return out


# --------------------------------------------------------------------------
# Allocation on W1


def section_allocation(args, runs):
    s = 10 if args.quick else 1
    path = _data(f"w1_{s}", _classification(1_000_000 // s))
    print(f"== allocation: W1 {W1_PARAMS}", flush=True)
    configs = {"exact": dict(W1_PARAMS, neighbors="exact"),
               "approximate": dict(W1_PARAMS, neighbors="approximate"),
               f"approximate, {STRESS_NAME}":
                   dict(W1_PARAMS, neighbors="approximate", approx_overrides=STRESS),
               "auto": dict(W1_PARAMS)}
    stats = {name: _stat(runs.get(path, p, 1)) for name, p in configs.items()}
    out = {"settings": W1_PARAMS, "runs": stats}
    for name, st in stats.items():
        print("  " + _line(f"{name:<32}", st), flush=True)
    base = stats["exact"].get("clusters")
    if not base:
        return out
    gen = {tuple(c[:2]): c[5] for c in base}
    for name, st in stats.items():
        if name == "exact" or not st.get("clusters"):
            continue
        other = {tuple(c[:2]): c[5] for c in st["clusters"]}
        diff = {f"{c}/{k}": other.get((c, k), 0) - v for (c, k), v in gen.items()}
        worst = max(abs(d) for d in diff.values())
        out[name] = {"differences": diff, "max_abs_difference": worst,
                     "within_one": worst <= 1,
                     "total_exact": sum(gen.values()), "total": sum(other.values())}
        print(f"  {name} - exact, n_generated per cluster: max |difference| {worst} "
              f"(target <= 1); nonzero: "
              + (", ".join(f"{key} {d:+d}" for key, d in diff.items() if d) or "none"), flush=True)
    return out


# --------------------------------------------------------------------------


def _git(*argv):
    try:
        return subprocess.run(["git", "-C", HERE, *argv], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sections", nargs="*", metavar="section",
                    help=f"sections to run (default: all): {', '.join(SECTIONS)}")
    ap.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per configuration (median)")
    ap.add_argument("--large-repeats", type=int, default=1, help="runs of the 30M case")
    ap.add_argument("--threads", type=int, default=2, help="threads of the kernels in 'recall'")
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--python", metavar="PYTHON",
                    help="interpreter of the timed runs (default: this one); e.g. a wrapper "
                         "around a kmsmote built from one commit, away from a checkout in flux")
    ap.add_argument("--code", metavar="LABEL",
                    help="what kmsmote is measured (e.g. the commit it was built from), recorded")
    args = ap.parse_args(argv)
    if args.python:
        PYTHONS["kmsmote"] = args.python
    unknown = [s for s in args.sections if s not in SECTIONS]
    if unknown:
        ap.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    # The 30M run needs about 10 GB; the cap turns a runaway into a MemoryError.
    os.environ.setdefault("KMS_BENCH_MEM_LIMIT_GB", "20")
    sys.stdout = _Tee(sys.stdout)
    import kmsmote

    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    meta = {"date": stamp, "argv": sys.argv[1:], "commit": _git("rev-parse", "HEAD"),
            # Uncommitted changes to the measured code, if any.
            "modified": (_git("status", "--porcelain", "--", "kmsmote", "csrc") or "").splitlines(),
            "nproc": os.cpu_count(), "loadavg_start": os.getloadavg(),
            "python": platform.python_version(), "kmsmote": kmsmote.__version__, "cache": CACHE,
            "kmsmote_file": kmsmote.__file__, "child_python": PYTHONS["kmsmote"],
            "code": args.code}
    header = (f"# python bench/approx.py {' '.join(sys.argv[1:])}  ({stamp}; commit {meta['commit']}; "
              + (f"kmsmote measured: {args.code}; " if args.code else "")
              + f"{meta['nproc']} cores; load {meta['loadavg_start'][0]:.1f})"
              + (f"; uncommitted changes: {', '.join(meta['modified'])}"
                 if meta["modified"] and not args.code else ""))
    print(header, flush=True)
    stem = os.path.join(HERE, "results", "approx" + ("-quick" if args.quick else ""))
    os.makedirs(os.path.dirname(stem), exist_ok=True)
    # Sections run separately accumulate in one file: a section replaces its
    # previous result, each with the header of the run that made it.
    try:
        with open(stem + ".json") as fh:
            saved = json.load(fh)["sections"]
    except (OSError, ValueError, KeyError):
        saved = {}
    runs = Runs(args.timeout)
    handlers = {"large": section_large, "scaling": section_scaling, "recall": section_recall,
                "allocation": section_allocation}
    for name in args.sections or SECTIONS:
        t0 = time.perf_counter()
        start = len(sys.stdout.text())
        result = handlers[name](args, runs)
        result["section_seconds"] = time.perf_counter() - t0
        result["meta"] = dict(meta, loadavg_end=os.getloadavg(), commit_end=_git("rev-parse", "HEAD"),
                              modified_end=(_git("status", "--porcelain", "--", "kmsmote", "csrc")
                                            or "").splitlines())
        result["header"] = header
        result["text"] = sys.stdout.text()[start:]
        saved[name] = result
        with open(stem + ".json", "w") as fh:
            json.dump({"sections": saved}, fh, separators=(",", ":"), default=str)
        with open(stem + ".txt", "w") as fh:
            for section in SECTIONS:
                if section in saved:
                    fh.write(saved[section]["header"] + "\n" + saved[section]["text"] + "\n")
    sys.stdout = sys.stdout.stream
    print("results:", stem + ".txt", stem + ".json")


if __name__ == "__main__":
    main()
