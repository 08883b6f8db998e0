"""Benchmarks: kmsmote against imbalanced-learn, in the same run.

    python bench/run.py                 # every workload
    python bench/run.py W3 W4           # some of them
    python bench/run.py --quick         # smaller sizes, for a smoke test
    python bench/run.py --baseline /path/to/other/venv/bin/python W1 W3
                                        # also time another kmsmote build

Every measurement runs in a fresh process (bench/_child.py) so that peak
RSS is per run; kmsmote and imbalanced-learn alternate, pair by pair, and
the table reports medians and the ratio.  With --baseline, a third run per
round uses kmsmote as installed for that interpreter (an older build, say),
and each row also gives kmsmote's time over the baseline's: a before/after
comparison measured in the same run as the reference.  The latest run is
kept in bench/results/run.txt and run.json (a new run replaces them).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.path.join(HERE, "results", "data")
MiB = 1024 * 1024


def _data(name, maker):
    os.makedirs(CACHE, exist_ok=True)
    path = os.path.join(CACHE, name + ".npz")
    if not os.path.exists(path):
        X, y = maker()
        if hasattr(X, "tocsr"):
            from scipy import sparse

            sparse.save_npz(path[:-4] + "_X.npz", X.tocsr())
            np.savez(path, y=y, sparse=True)
        else:
            np.savez(path, X=X, y=y)
    return path


def _sparse_classification(n, d, density, minority, seed=0):
    """CSR data whose rare class prefers a fifth of the columns."""

    def make():
        from scipy import sparse

        rng = np.random.RandomState(seed)
        y = (rng.uniform(size=n) < minority).astype(np.int64)
        nnz_per_row = max(1, int(round(d * density)))
        cols = rng.randint(0, d, size=(n, nnz_per_row))
        rare = y == 1
        cols[rare] = rng.randint(0, d // 5, size=(int(rare.sum()), nnz_per_row))
        indptr = np.arange(0, n * nnz_per_row + 1, nnz_per_row)
        data = rng.uniform(0.1, 1.0, size=n * nnz_per_row)
        X = sparse.csr_matrix((data, cols.ravel(), indptr), shape=(n, d))
        X.sum_duplicates()
        return X, y
    return make


def _embeddings(n, d, topics=12, minority=0.1, seed=0):
    """Unit-norm float32 rows around a few topic directions, like sentence
    embeddings; the rare class leans towards two of the topics."""

    def make():
        rng = np.random.RandomState(seed)
        topic_dirs = rng.normal(size=(topics, d))
        y = (rng.uniform(size=n) < minority).astype(np.int64)
        topic = rng.randint(0, topics, size=n)
        topic[y == 1] = rng.randint(0, 2, size=int(y.sum()))
        X = topic_dirs[topic] + 0.8 * rng.normal(size=(n, d))
        X /= np.linalg.norm(X, axis=1, keepdims=True)
        return X.astype(np.float32), y
    return make


def _classification(n, d=20, informative=10, weights=(0.9, 0.1), classes=2,
                    dtype=np.float64, seed=0):
    from sklearn.datasets import make_classification

    def make():
        X, y = make_classification(
            n_samples=n, n_features=d, n_informative=informative,
            n_classes=classes, weights=list(weights), n_clusters_per_class=3,
            random_state=seed,
        )
        return X.astype(dtype), y
    return make


# lib -> interpreter; "baseline" is kmsmote as another interpreter has it.
PYTHONS = {"kmsmote": sys.executable, "imblearn": sys.executable}


def _run(lib, data_path, params, timeout):
    child_lib = "kmsmote" if lib == "baseline" else lib
    cmd = [PYTHONS[lib], os.path.join(HERE, "_child.py"), child_lib, data_path, json.dumps(params)]
    env = dict(os.environ)
    env.setdefault("KMS_BENCH_MEM_LIMIT_GB", "18")
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"lib": lib, "error": f"timeout after {timeout} s"}
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    if proc.returncode < 0:
        err = f"killed by signal {-proc.returncode}"
        if proc.returncode == -11:
            err += " (segmentation fault)"
        elif proc.returncode == -9:
            err += " (out of memory?)"
    else:
        tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
        err = f"exit {proc.returncode}: {tail[:200]}"
    return {"lib": lib, "error": err}


def _median(runs, key):
    vals = [r[key] for r in runs if key in r]
    return statistics.median(vals) if vals else None


def _pairs(data_path, params, repeats, timeout, ref_params=None, libs=("kmsmote", "imblearn")):
    runs = {lib: [] for lib in libs}
    for _ in range(repeats):
        for lib in libs:
            p = dict(params if lib != "imblearn" or ref_params is None else ref_params)
            runs[lib].append(_run(lib, data_path, p, timeout))
    return runs


def _summary(name, runs):
    row = {"workload": name}
    for lib, rs in runs.items():
        ok = [r for r in rs if "error" not in r]
        row[lib] = {
            "time": _median(ok, "time"),
            "peak_rss_mib": (_median(ok, "peak_rss") or 0) / MiB if ok else None,
            "errors": [r["error"] for r in rs if "error" in r],
            "runs": rs,
        }
        if ok and "floor_time" in ok[0]:
            row[lib]["floor_time"] = _median(ok, "floor_time")
        if ok and "input_bytes" in ok[0] and "output_bytes" in ok[0]:
            row[lib]["io_mib"] = (ok[0]["input_bytes"] + ok[0]["output_bytes"]) / MiB
            row[lib]["rss_budget_mib"] = 1.25 * row[lib]["io_mib"] + 100
            row[lib]["base_rss_mib"] = _median(ok, "base_rss") / MiB
    k, r, b = row.get("kmsmote", {}), row.get("imblearn", {}), row.get("baseline", {})
    if k.get("time") and r.get("time"):
        row["speedup"] = r["time"] / k["time"]
    if k.get("time") and b.get("time"):
        row["vs_baseline"] = k["time"] / b["time"]
        if b.get("peak_rss_mib"):
            row["rss_vs_baseline"] = k["peak_rss_mib"] / b["peak_rss_mib"]
        if r.get("time"):
            row["baseline_speedup"] = r["time"] / b["time"]
    return row


def _print_row(row):
    k, r = row.get("kmsmote", {}), row.get("imblearn", {})

    def fmt(v, spec):
        return format(v, spec) if isinstance(v, (int, float)) else "-"

    ref_time = fmt(r.get("time"), ".2f") if r.get("time") else ("; ".join(r.get("errors", [])) or "-")
    print(f"{row['workload']:<28} kmsmote {fmt(k.get('time'), '8.3f')} s "
          f"{fmt(k.get('peak_rss_mib'), '7.0f')} MiB | ref {ref_time:>8} s "
          f"{fmt(r.get('peak_rss_mib'), '7.0f')} MiB | x{fmt(row.get('speedup'), '.1f')}"
          + (f" | floor {k['floor_time']:.3f} s (x{k['time'] / k['floor_time']:.1f})"
             if k.get("floor_time") and k.get("time") else "")
          + (f" | io {k['io_mib']:.0f} MiB, budget 1.25*io+100 = {k['rss_budget_mib']:.0f} MiB,"
             f" base {k['base_rss_mib']:.0f} MiB" if k.get("io_mib") else "")
          + (f" | baseline {row['baseline']['time']:.3f} s {row['baseline']['peak_rss_mib']:.0f} MiB"
             f" (x{fmt(row.get('baseline_speedup'), '.1f')} vs ref): time now/baseline "
             f"{row['vs_baseline']:.3f}, peak RSS now/baseline {row.get('rss_vs_baseline', float('nan')):.3f}"
             if row.get("vs_baseline") else ""), flush=True)


def workloads(quick):
    s = 10 if quick else 1
    common = dict(random_state=0, cluster_balance_threshold=0.0)
    W1 = _data(f"w1_{s}", _classification(1_000_000 // s))
    W3 = _data(f"w3_{s}", _classification(100_000 // s))
    W4 = _data(f"w4_{s}", _classification(200_000 // s, d=200, informative=40, dtype=np.float32))
    W4_64 = _data(f"w4f64_{s}", _classification(200_000 // s, d=200, informative=40))
    W5 = _data(f"w5_{s}", _classification(300_000 // s, d=30, informative=15, classes=5,
                                          weights=(0.5, 0.25, 0.13, 0.08, 0.04)))
    W6 = _data(f"w6_{s}", _embeddings(60_000 // s, 768))
    S1 = _data(f"s1_{s}", _sparse_classification(200_000 // s, 20_000, 0.001, 0.05))
    S2 = _data(f"s2_{s}", _sparse_classification(1_000_000 // s, 20_000, 0.001, 0.10, seed=1))
    return {
        "W1": (W1, dict(kmeans_estimator=20, **common)),
        "W2": (W1, dict(kmeans_estimator=4, **common)),
        "W3": (W3, dict(kmeans_estimator=20, **common)),
        "W4": (W4, dict(kmeans_estimator=10, **common)),
        "W4-float64": (W4_64, dict(kmeans_estimator=10, **common)),
        "W5": (W5, dict(kmeans_estimator=20, sampling_strategy="not majority", **common)),
        # Beyond the issue: wide rows, 60,000 unit-norm 768-d float32
        # "embeddings", 10 clusters.
        "W6-wide": (W6, dict(kmeans_estimator=10, **common)),
        # Sparse: 200,000 x 20,000 CSR at 0.1 %, 5 % minority, 10 clusters.
        "S1": (S1, dict(kmeans_estimator=10, **common)),
        # Sparse, large: 1,000,000 x 20,000, 10 % minority in 2 clusters; the
        # reference builds a dense m x m matrix per cluster (m ~ 50,000).
        "S2": (S2, dict(kmeans_estimator=2, **common)),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help="workloads (default: all): W1..W5, W4-float64, W6-wide, scaling, threads, clusterer, S1, S2")
    ap.add_argument("--quick", action="store_true", help="sizes divided by 10")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--baseline", metavar="PYTHON",
                    help="an interpreter with another kmsmote installed: timed in the same rounds")
    args = ap.parse_args(argv)
    if args.baseline:
        PYTHONS["baseline"] = args.baseline
    sys.stdout = _Tee(sys.stdout)
    names = args.names or ["W1", "W2", "W3", "W4", "W4-float64", "W5", "W6-wide", "threads", "scaling",
                           "clusterer", "S1", "S2"]
    wl = workloads(args.quick)
    rows = []
    for name in names:
        if name in wl:
            path, params = wl[name]
            repeats = 1 if name in ("W2", "S2") else args.repeats
            libs = ("kmsmote", "baseline", "imblearn") if args.baseline else ("kmsmote", "imblearn")
            row = _summary(name, _pairs(path, params, repeats, args.timeout, libs=libs))
        elif name == "threads":
            path, params = wl["W1"]
            runs = {"1 thread": [], "2 threads": []}
            for _ in range(args.repeats):
                runs["1 thread"].append(_run("kmsmote", path, dict(params, threads=1), args.timeout))
                runs["2 threads"].append(_run("kmsmote", path, dict(params, threads=2), args.timeout))
                if args.baseline:
                    runs.setdefault("baseline 1 thread", []).append(
                        _run("baseline", path, dict(params, threads=1), args.timeout))
                    runs.setdefault("baseline 2 threads", []).append(
                        _run("baseline", path, dict(params, threads=2), args.timeout))
            t1, t2 = _median(runs["1 thread"], "time"), _median(runs["2 threads"], "time")
            row = {"workload": "threads (W1)", "time_1": t1, "time_2": t2, "speedup": t1 / t2, "runs": runs}
            line = f"threads (W1): 1 thread {t1:.3f} s, 2 threads {t2:.3f} s, x{t1 / t2:.2f}"
            if args.baseline:
                b1 = _median(runs["baseline 1 thread"], "time")
                b2 = _median(runs["baseline 2 threads"], "time")
                row["baseline_speedup"] = b1 / b2
                line += f" | baseline 1 thread {b1:.3f} s, 2 threads {b2:.3f} s, x{b1 / b2:.2f}"
            print(line, flush=True)
            rows.append(row)
            continue
        elif name == "scaling":
            s = 10 if args.quick else 1
            per_row, pairs, times = {}, {}, {}
            for n in (100_000, 300_000, 1_000_000, 3_000_000):
                n //= s
                path = _data(f"scale_{n}", _classification(n))
                rs = [_run("kmsmote", path, dict(kmeans_estimator=20, random_state=0,
                                                 cluster_balance_threshold=0.0), args.timeout)
                      for _ in range(args.repeats)]
                t = _median(rs, "time")
                per_row[n] = t / n * 1e6
                pairs[n] = _median(rs, "pairs")
                times[n] = t
                print(f"scaling n={n:>9}: {t:.3f} s, {per_row[n]:.3f} us/row, "
                      f"{pairs[n]:.3g} pairs searched ({pairs[n] / n:.0f} per row)", flush=True)
            ns = sorted(per_row)
            row = {"workload": "scaling", "us_per_row": per_row, "pairs": pairs,
                   "ratio_largest_vs_300k": per_row[ns[-1]] / per_row[ns[1]]}
            print(f"scaling: time per row at {ns[-1]} / at {ns[1]} = {row['ratio_largest_vs_300k']:.2f}")
            # With 20 clusters whatever n, the exact search's pairs grow as
            # n^2: split the time into a fixed, a per-row and a per-pair cost
            # (least squares on relative errors over the sizes) to show which
            # part grows.
            t_obs = np.array([times[n] for n in ns])
            A = np.array([[1.0, n, pairs[n]] for n in ns]) / t_obs[:, None]
            (fixed, per_n, per_pair), *_ = np.linalg.lstsq(A, np.ones(len(ns)), rcond=None)
            row["fit_fixed_s"] = fixed
            row["fit_us_per_row"], row["fit_ns_per_pair"] = per_n * 1e6, per_pair * 1e9
            print(f"scaling: time ~ {fixed:.3f} s + {per_n * 1e6:.3f} us x rows + "
                  f"{per_pair * 1e9:.3f} ns x pairs; "
                  f"pairs per row at {ns[-1]} / at {ns[1]} = "
                  f"{pairs[ns[-1]] / ns[-1] / (pairs[ns[1]] / ns[1]):.1f}")
            rows.append(row)
            continue
        elif name == "clusterer":
            path, _ = wl["W1"]
            res = {"kmeans": [], "minibatch": [], "sk_kmeans": []}
            for seed in range(5):
                for mode in res:
                    if mode == "sk_kmeans" and seed > 0:
                        continue
                    res[mode].append(_run("kmsmote", path, dict(mode=mode, n_clusters=20,
                                                                random_state=seed), args.timeout))
            row = {"workload": "clusterer (W1 data, k=20)"}
            for mode, rs in res.items():
                row[mode] = {"time": _median(rs, "time"), "inertia": _median(rs, "inertia"), "runs": rs}
            row["speedup_vs_minibatch"] = row["minibatch"]["time"] / row["kmeans"]["time"]
            row["inertia_ratio_vs_minibatch"] = row["kmeans"]["inertia"] / row["minibatch"]["inertia"]
            print(f"clusterer: kmsmote.KMeans {row['kmeans']['time']:.3f} s inertia {row['kmeans']['inertia']:.6g} | "
                  f"MiniBatchKMeans {row['minibatch']['time']:.3f} s inertia {row['minibatch']['inertia']:.6g} | "
                  f"sklearn KMeans {row['sk_kmeans']['time']:.3f} s inertia {row['sk_kmeans']['inertia']:.6g} | "
                  f"x{row['speedup_vs_minibatch']:.1f} vs MBK, inertia ratio {row['inertia_ratio_vs_minibatch']:.4f}",
                  flush=True)
            rows.append(row)
            continue
        else:
            ap.error(f"unknown workload {name!r}")
        _print_row(row)
        rows.append(row)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    stem = os.path.join(HERE, "results", "run" + ("-quick" if args.quick else ""))
    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    with open(stem + ".json", "w") as fh:
        json.dump({"date": stamp, "argv": sys.argv[1:], "rows": rows}, fh, indent=1, default=str)
    with open(stem + ".txt", "w") as fh:
        fh.write(f"# python bench/run.py {' '.join(sys.argv[1:])}  ({stamp})\n")
        fh.write(sys.stdout.text())
    sys.stdout = sys.stdout.stream
    print("results:", stem + ".txt", stem + ".json")


class _Tee:
    """stdout that also keeps what was printed, for results/run.txt."""

    def __init__(self, stream):
        self.stream, self._parts = stream, []

    def write(self, text):
        self._parts.append(text)
        return self.stream.write(text)

    def flush(self):
        self.stream.flush()

    def text(self):
        return "".join(self._parts)


if __name__ == "__main__":
    main()
