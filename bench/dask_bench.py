"""kmsmote.dask on a LocalCluster: data larger than a worker's memory.

    python bench/dask_bench.py                      # 20M rows x 20 float32
    python bench/dask_bench.py --rows 2_000_000     # a quick run
    python bench/dask_bench.py --clusters 8 --threshold 0 --max-cluster-bytes 8MiB
        # the default clusters, all kept, each too large for a task of
        # 8 MiB: handled in pieces and cell tasks (kmsmote/_dask_cells.py)

Writes Parquet partitions of a clustered, imbalanced data set to a temporary
folder; starts a LocalCluster (2 worker processes, 1 thread each, a memory
limit per worker smaller than the data set); reads the data with
dask.dataframe.read_parquet; runs kmsmote.dask.KMeansSMOTE.fit_resample and
writes the result back to Parquet.  Reports wall time (fit_resample, writing
the result, total), rows per second, the peak RSS of every worker (VmHWM)
and of this client process.  Then, in a fresh process, single-machine
kmsmote.KMeansSMOTE on the largest prefix of the same data that fits in the
memory available (20M, 10M, 5M ... rows tried in turn), and its time.
Results go to bench/results/dask-<timestamp>.json and .txt.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
GiB = 1024**3
MiB = 1024**2
N_BLOBS, N_MINORITY_BLOBS, MINORITY = 40, 10, 0.02


def _peak_rss():
    """Peak resident set size of this process (VmHWM), in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def _centres(d, seed=0):
    return np.random.RandomState(seed).normal(scale=4.0, size=(N_BLOBS, d))


def _partition(i, rows, d, seed=0):
    """Rows of partition i: blobs, the first ones for the rare class."""
    import pandas as pd

    rng = np.random.RandomState([seed, i])
    y = (rng.uniform(size=rows) < MINORITY).astype(np.int8)
    blob = np.where(y == 1, rng.randint(0, N_MINORITY_BLOBS, size=rows),
                    rng.randint(N_MINORITY_BLOBS, N_BLOBS, size=rows))
    X = (_centres(d, seed)[blob] + rng.normal(size=(rows, d))).astype(np.float32)
    frame = pd.DataFrame(X, columns=[f"x{j:02d}" for j in range(d)])
    frame["y"] = y
    return frame


def write_data(folder, n_rows, d, part_rows):
    import pyarrow as pa
    import pyarrow.parquet as pq

    for i, start in enumerate(range(0, n_rows, part_rows)):
        frame = _partition(i, min(part_rows, n_rows - start), d)
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False),
                       os.path.join(folder, f"part-{i:05d}.parquet"))


def _hash_sum(frame):
    """Sum (mod 2**64) of the rows' hashes: equal for the same rows in the
    same dtypes, whatever the partitioning."""
    import pandas as pd

    return np.sum(pd.util.hash_pandas_object(frame, index=False).to_numpy(), dtype=np.uint64)


def _partition_hash(frame):
    import pandas as pd

    return pd.Series([_hash_sum(frame)], dtype=np.uint64)


def _worker_peak():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def _import_kmsmote():
    import kmsmote.dask  # noqa: F401


def run_dask(args, data_dir, out_dir):
    import dask
    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    from kmsmote.dask import KMeansSMOTE

    cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=None,
                           memory_limit=args.memory_limit)
    client = Client(cluster)
    try:
        # Import kmsmote in the workers before the clock starts (an editable
        # install rebuilds on import).
        client.run(_import_kmsmote)
        baseline = client.run(_worker_peak)
        t0 = time.perf_counter()
        frame = dd.read_parquet(data_dir)
        columns = [c for c in frame.columns if c != "y"]
        X, y = frame[columns], frame["y"]
        est = KMeansSMOTE(random_state=0, kmeans_estimator=args.clusters,
                          max_cluster_bytes=args.max_cluster_bytes,
                          cluster_balance_threshold=args.threshold)
        X_res, y_res = est.fit_resample(X, y)
        t_fit = time.perf_counter() - t0
        t1 = time.perf_counter()
        # Every output row computed and hashed (no write): our cost alone, and
        # a fingerprint to compare with the single-machine output.
        meta = ("h", np.uint64)
        hx, hy = dask.compute(X_res.map_partitions(_partition_hash, meta=meta),
                              y_res.map_partitions(_partition_hash, meta=meta))
        fingerprint = [str(np.sum(hx.to_numpy(), dtype=np.uint64)),
                       str(np.sum(hy.to_numpy(), dtype=np.uint64))]
        t_reduce = time.perf_counter() - t1
        t1 = time.perf_counter()
        dask.compute(
            X_res.to_parquet(os.path.join(out_dir, "X"), compute=False),
            y_res.to_frame().to_parquet(os.path.join(out_dir, "y"), compute=False),
        )
        t2 = time.perf_counter()
        peaks = client.run(_worker_peak)
        info = client.scheduler_info(n_workers=-1)["workers"]
        limit = next(iter(info.values()))["memory_limit"]
        n_out = len(dd.read_parquet(os.path.join(out_dir, "y")))
        generated = {str(k): int(v) for k, v in est.sampling_strategy_.items()}
        kept = sum(1 for r in est.cluster_stats_ if r["kept"])
        row_bytes = 2 * len(columns) * 4 + 8 * 5 + 16  # float32, k_neighbors=5
        split = [r["class_count"] for r in est.cluster_stats_
                 if r["kept"] and r["class_count"] * row_bytes > est.max_cluster_bytes_]
        np.save(os.path.join(out_dir, "..", "dask_centres.npy"),
                est.kmeans_estimator_.cluster_centers_)
        return {
            "n_partitions": int(X.npartitions),
            "worker_memory_limit_bytes": int(limit),
            "fit_resample_s": t_fit,
            "reduce_result_s": t_reduce,
            "write_result_s": t2 - t1,
            "total_s": t_fit + t2 - t1,
            "rows_per_s": args.rows / (t_fit + t2 - t1),
            "output_rows": int(n_out),
            "generated_per_class": generated,
            "output_fingerprint": fingerprint,
            "kept_clusters": kept,
            "max_cluster_bytes": int(est.max_cluster_bytes_),
            "split_cluster_rows": split,
            "neighbors_paths": sorted({r["neighbors"] for r in est.cluster_stats_
                                       if r["kept"]}),
            "worker_peak_rss_bytes": {w: int(v) for w, v in peaks.items()},
            "worker_start_rss_bytes": {w: int(v) for w, v in baseline.items()},
            "client_peak_rss_bytes": _peak_rss(),
        }
    finally:
        client.close()
        cluster.close()


def run_single(n_rows, data_dir, clusters, threshold):
    """In this (fresh) process: read the first n_rows, time fit_resample."""
    import pyarrow.parquet as pq

    from kmsmote import KMeansSMOTE

    files = sorted(os.listdir(data_dir))
    t0 = time.perf_counter()
    blocks, ys, have = [], [], 0
    for name in files:
        if have >= n_rows:
            break
        table = pq.read_table(os.path.join(data_dir, name))
        frame = table.to_pandas()
        take = min(len(frame), n_rows - have)
        ys.append(frame["y"].to_numpy()[:take])
        blocks.append(frame.drop(columns="y").to_numpy(dtype=np.float32)[:take])
        have += take
    X, y = np.concatenate(blocks), np.concatenate(ys)
    del blocks, ys
    t1 = time.perf_counter()
    est = KMeansSMOTE(random_state=0, kmeans_estimator=clusters,
                      cluster_balance_threshold=threshold)
    X_res, y_res = est.fit_resample(X, y)
    t2 = time.perf_counter()
    peak = _peak_rss()  # before the fingerprint's copies
    np.save(os.path.join(data_dir, "..", f"single_centres_{n_rows}.npy"),
            est.kmeans_estimator_.cluster_centers_)
    import pandas as pd

    columns = [f"x{j:02d}" for j in range(X.shape[1])]
    fingerprint = [str(_hash_sum(pd.DataFrame(X_res, columns=columns))),
                   str(_hash_sum(pd.Series(y_res, name="y")))]
    return {
        "output_fingerprint": fingerprint,
        "rows": int(n_rows), "read_s": t1 - t0, "fit_resample_s": t2 - t1,
        "rows_per_s": n_rows / (t2 - t1), "output_rows": int(y_res.size),
        "peak_rss_bytes": peak,
    }


def single_machine(args, data_dir):
    """The largest prefix (the full size, then halves) whose estimated need
    (input, output and working copies) fits in the memory available."""
    import psutil

    available = psutil.virtual_memory().available
    rows = args.rows
    while rows >= 100_000:
        # Input, resampled output (~2x with a 5% rare class) and scratch.
        need = rows * args.features * 4 * 5
        if need < 0.6 * available:
            out = subprocess.run(
                [sys.executable, __file__, "--single", str(rows), "--data", data_dir,
                 "--clusters", str(args.clusters), "--threshold", str(args.threshold)],
                capture_output=True, text=True)
            if out.returncode == 0:
                result = json.loads(out.stdout.strip().splitlines()[-1])
                result["memory_available_bytes"] = int(available)
                return result
            print(out.stderr[-2000:], file=sys.stderr)
        rows //= 2
    return None


def report(res):
    d, s = res["dask"], res.get("single")
    lines = [
        f"kmsmote.dask benchmark ({res['timestamp']})",
        f"data: {res['rows']:,} rows x {res['features']} float32 "
        f"({res['rows'] * res['features'] * 4 / GiB:.2f} GiB in memory), "
        f"{d['n_partitions']} Parquet partitions; {MINORITY:.0%} rare class",
        f"cluster: LocalCluster, {res['workers']} worker processes x 1 thread, "
        f"memory limit {d['worker_memory_limit_bytes'] / GiB:.2f} GiB per worker; "
        f"kmeans_estimator={res['clusters']}, cluster_balance_threshold="
        f"{res.get('cluster_balance_threshold', 'auto')}, {d['kept_clusters']} kept clusters "
        f"(neighbours: {', '.join(d.get('neighbors_paths', []))})",
        f"max_cluster_bytes={d.get('max_cluster_bytes', 0) / MiB:.1f} MiB: "
        + (f"{len(d['split_cluster_rows'])} kept clusters above it, handled in pieces and "
           f"cell tasks ({', '.join(f'{m:,}' for m in d['split_cluster_rows'])} class rows)"
           if d.get("split_cluster_rows") else "every kept cluster in one task"),
        "",
        "| step | wall time (s) |",
        "|---|---|",
        f"| fit_resample (stats, k-means, counts, shuffle + neighbours) | {d['fit_resample_s']:.1f} |",
        f"| computing the result, every row hashed (no write) | {d['reduce_result_s']:.1f} |",
        f"| computing the result and writing it to Parquet | {d['write_result_s']:.1f} |",
        f"| total: fit_resample + writing the result | {d['total_s']:.1f} |",
        "",
        f"throughput (total): {d['rows_per_s']:,.0f} input rows/s; output {d['output_rows']:,} rows",
        "peak RSS per worker (VmHWM): " + ", ".join(
            f"{v / GiB:.2f} GiB" for v in d["worker_peak_rss_bytes"].values()),
        f"client peak RSS: {d['client_peak_rss_bytes'] / GiB:.2f} GiB",
    ]
    if s:
        lines += [
            "",
            f"single machine (kmsmote.KMeansSMOTE, n_jobs=None, same machine) on the "
            f"first {s['rows']:,} rows (the largest size tried that fits): "
            f"fit_resample {s['fit_resample_s']:.1f} s ({s['rows_per_s']:,.0f} rows/s), "
            f"reading {s['read_s']:.1f} s, peak RSS {s['peak_rss_bytes'] / GiB:.2f} GiB; "
            f"output {s['output_rows']:,} rows",
        ]
        if "centres_equal" in s:
            lines.append(
                "cluster centres, distributed vs single machine (same data, same seed): "
                + ("identical" if s["centres_equal"] else
                   f"max |difference| {s['centres_max_abs_diff']:.3g}")
                + "; resampled output (sum of row hashes of X and y): "
                + ("identical" if s["output_equal"] else "different"))
    return "\n".join(lines)


def _size(text):
    """max_cluster_bytes from the command line: "auto", bytes or "<n>MiB"."""
    if text == "auto":
        return text
    if text.lower().endswith("mib"):
        return int(float(text[:-3]) * MiB)
    return int(text)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=20_000_000)
    p.add_argument("--features", type=int, default=20)
    p.add_argument("--partition-rows", type=int, default=200_000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--memory-limit", default="1GiB")
    # Neighbour search and mean distances are quadratic in a cluster's class
    # rows (as on one machine): more clusters for more rows.
    p.add_argument("--clusters", type=int, default=128)
    p.add_argument("--threshold", default="auto",
                   type=lambda v: v if v == "auto" else float(v),
                   help="cluster_balance_threshold")
    p.add_argument("--max-cluster-bytes", default="auto",
                   type=_size,
                   help='max_cluster_bytes: "auto", bytes, or e.g. 8MiB')
    p.add_argument("--no-single", action="store_true")
    p.add_argument("--single", type=int, help=argparse.SUPPRESS)
    p.add_argument("--data", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.single:
        print(json.dumps(run_single(args.single, args.data, args.clusters, args.threshold)))
        return
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    tmp = tempfile.mkdtemp(prefix="kmsmote-dask-bench-")
    try:
        data_dir, out_dir = os.path.join(tmp, "data"), os.path.join(tmp, "out")
        os.makedirs(data_dir)
        t = time.perf_counter()
        write_data(data_dir, args.rows, args.features, args.partition_rows)
        print(f"wrote the data in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        res = {"timestamp": stamp, "rows": args.rows, "features": args.features,
               "workers": args.workers, "clusters": args.clusters,
               "cluster_balance_threshold": args.threshold,
               "memory_limit": args.memory_limit, "machine_cores": os.cpu_count()}
        res["dask"] = run_dask(args, data_dir, out_dir)
        shutil.rmtree(out_dir, ignore_errors=True)
        res["single"] = None if args.no_single else single_machine(args, data_dir)
        single = res["single"]
        if single and single["rows"] == args.rows:
            # Same data, same seed: the k-means sample stage is the same; the
            # refinement sums differ in rounding (exact fixed point here,
            # float64 there), hence the centres may differ in the last bits.
            a = np.load(os.path.join(tmp, "dask_centres.npy"))
            b = np.load(os.path.join(tmp, f"single_centres_{args.rows}.npy"))
            single["centres_max_abs_diff"] = float(np.max(np.abs(a - b)))
            single["centres_equal"] = bool(np.array_equal(a, b))
            single["output_equal"] = (single["output_fingerprint"]
                                      == res["dask"]["output_fingerprint"])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    text = report(res)
    print(text)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    base = os.path.join(HERE, "results", f"dask-{stamp}")
    with open(base + ".json", "w") as f:
        json.dump(res, f, indent=2)
    with open(base + ".txt", "w") as f:
        f.write(text + "\n")


if __name__ == "__main__":
    main()
