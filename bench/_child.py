"""One measured run in a fresh process: prints a JSON line.

Run by bench/run.py; each run gets its own process so that its peak RSS is
its own.  Usage: python bench/_child.py LIB DATA.npz PARAMS_JSON
"""

import json
import os
import resource
import sys
import time

import numpy as np


def _rss_peak_bytes():
    # VmHWM is per address space (reset by exec); ru_maxrss would include the
    # parent's peak at fork time.
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _current_rss_bytes():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize()


def _float_or_none(value):
    return None if value is None else float(value)


def _clusterer(lib, params):
    kind = params.pop("clusterer", None)
    if kind is None:
        return
    k = params["kmeans_estimator"]
    if kind == "minibatch":
        from sklearn.cluster import MiniBatchKMeans

        params["kmeans_estimator"] = MiniBatchKMeans(n_clusters=k, random_state=0)


def main():
    lib, data_path, params_json = sys.argv[1:4]
    limit = os.environ.get("KMS_BENCH_MEM_LIMIT_GB")
    if limit:
        # An address-space cap turns an out-of-memory run into a MemoryError
        # instead of a machine-wide OOM kill.
        cap = int(float(limit) * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    params = json.loads(params_json)
    mode = params.pop("mode", "resample")
    threads = params.pop("threads", None)
    if threads is not None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads)
    if lib == "kmsmote":
        from kmsmote import KMeansSMOTE, _kmeans
    else:
        from imblearn.over_sampling import KMeansSMOTE
    data = np.load(data_path)
    y = data["y"]
    if "sparse" in data:
        from scipy import sparse

        X = sparse.load_npz(data_path[:-4] + "_X.npz").tocsr()
        input_bytes = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes + y.nbytes
    else:
        X = np.ascontiguousarray(data["X"])
        input_bytes = X.nbytes + y.nbytes
    base_rss = _current_rss_bytes()
    result = {"lib": lib, "n": int(X.shape[0]), "d": int(X.shape[1]),
              "input_bytes": int(input_bytes), "base_rss": base_rss}
    if mode == "resample":
        # bench/approx.py: per-cluster records in the result, no floor
        # measurement (it copies input and output once more), and
        # other values of the approximate path's constants (its stress variant).
        want_stats = params.pop("stats", False)
        want_floor = params.pop("floor", True)
        overrides = params.pop("approx_overrides", {})
        if overrides:
            from kmsmote import _approx

            for name, value in overrides.items():
                if not hasattr(_approx, name):
                    raise AttributeError(f"kmsmote._approx has no {name}")
                setattr(_approx, name, value)
        _clusterer(lib, params)
        if lib == "kmsmote" and threads is not None:
            params["n_jobs"] = threads
        sampler = KMeansSMOTE(**params)
        t0 = time.perf_counter()
        X_res, y_res = sampler.fit_resample(X, y)
        result["time"] = time.perf_counter() - t0
        result["peak_rss"] = _rss_peak_bytes()
        if hasattr(X_res, "tocsr"):
            out_bytes = X_res.data.nbytes + X_res.indices.nbytes + X_res.indptr.nbytes
        else:
            out_bytes = X_res.nbytes
        result["output_bytes"] = int(out_bytes + y_res.nbytes)
        result["n_out"] = int(X_res.shape[0])
        if lib == "kmsmote":
            # Pairs of class samples inside the kept clusters: the exact
            # neighbour search and mean distances visit each once.
            result["pairs"] = int(sum(r["class_count"] * (r["class_count"] - 1) // 2
                                      for r in sampler.cluster_stats_ if r["kept"]))
        if lib == "kmsmote" and want_stats:
            # One compact row per (class, cluster) record.
            result["clusters"] = [
                [int(r["class"]), int(r["cluster"]), int(r["class_count"]), bool(r["kept"]),
                 r.get("neighbors", ""), int(r.get("n_generated") or 0),
                 _float_or_none(r.get("mean_distance")), _float_or_none(r.get("mean_distance_se"))]
                for r in sampler.cluster_stats_]
        if lib == "kmsmote" and want_floor and not hasattr(X_res, "tocsr"):
            # The floor: copy input and output once, and one pass that assigns
            # every row to its nearest centre.
            centers = np.ascontiguousarray(sampler.kmeans_estimator_.cluster_centers_, dtype=X.dtype)
            t0 = time.perf_counter()
            out = np.empty_like(X_res)
            out[:] = X_res
            Xc = X.copy()
            _kmeans.assign(Xc, centers, threads or 2)
            result["floor_time"] = time.perf_counter() - t0
            del out, Xc
    elif mode in ("kmeans", "minibatch", "sk_kmeans"):
        k = params["n_clusters"]
        seed = params.get("random_state", 0)
        if mode == "kmeans":
            from kmsmote import KMeans as Est
            est = Est(n_clusters=k, random_state=seed, n_jobs=threads)
        elif mode == "minibatch":
            from sklearn.cluster import MiniBatchKMeans as Est
            est = Est(n_clusters=k, random_state=seed)
        else:
            from sklearn.cluster import KMeans as Est
            est = Est(n_clusters=k, random_state=seed, n_init=1)
        t0 = time.perf_counter()
        est.fit(X)
        result["time"] = time.perf_counter() - t0
        result["inertia"] = float(est.inertia_)
    result.setdefault("peak_rss", _rss_peak_bytes())
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
