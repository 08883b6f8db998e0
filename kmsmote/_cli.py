"""Command line: ``kmsmote demo`` (and ``python -m kmsmote demo``)."""

import argparse
import sys
import time
from collections import Counter


def _summary(stats, before, after, out):
    print("class counts before:", dict(sorted(before.items())), file=out)
    print("class counts after: ", dict(sorted(after.items())), file=out)
    print(f"{'class':>6} {'cluster':>7} {'size':>6} {'fraction':>8} {'kept':>5} "
          f"{'weight':>8} {'new':>6}  reason", file=out)
    for r in stats:
        print(f"{r['class']!s:>6} {r['cluster']:>7} {r['size']:>6} "
              f"{r['class_fraction']:>8.3f} {('yes' if r['kept'] else 'no'):>5} "
              f"{r['weight']:>8.4f} {r['n_generated']:>6}  {r['reason']}", file=out)


def _demo(args, out):
    import numpy as np
    from sklearn.datasets import make_classification

    from . import KMeansSMOTE

    X, y = make_classification(
        n_classes=2, weights=[0.1, 0.9], n_samples=args.n_samples,
        n_clusters_per_class=3, n_informative=3, n_redundant=1,
        flip_y=0, class_sep=2, n_features=20, random_state=10,
    )
    sampler = KMeansSMOTE(random_state=args.random_state, kmeans_estimator=args.clusters)
    start = time.perf_counter()
    X_res, y_res = sampler.fit_resample(X, y)
    elapsed = time.perf_counter() - start
    print(f"kmsmote demo: make_classification({args.n_samples} x {X.shape[1]}, "
          f"10% minority), {args.clusters} clusters", file=out)
    _summary(sampler.cluster_stats_, Counter(y.tolist()), Counter(y_res.tolist()), out)
    print(f"resampled {X.shape[0]} -> {X_res.shape[0]} rows in {elapsed * 1e3:.1f} ms; "
          f"original rows unchanged: {bool(np.array_equal(X_res[: len(X)], X))}", file=out)
    return 0


def main(argv=None, out=None):
    """Entry point of the ``kmsmote`` command; returns the exit code."""
    out = sys.stdout if out is None else out
    parser = argparse.ArgumentParser(prog="kmsmote", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="resample built-in data and print what happened")
    demo.add_argument("--n-samples", type=int, default=1000)
    demo.add_argument("--clusters", type=int, default=10)
    demo.add_argument("--random-state", type=int, default=42)
    args = parser.parse_args(argv)
    if args.command == "demo":
        return _demo(args, out)
    return 2  # pragma: no cover - argparse rejects unknown commands
