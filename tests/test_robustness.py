"""Threads, interrupts, memory: the estimator inside a production pipeline."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
from sklearn.datasets import make_classification

from kmsmote import KMeansSMOTE, _neighbors


def _dataset(seed):
    return make_classification(n_samples=3000, n_features=8, n_informative=5,
                               weights=[0.8, 0.2], random_state=seed)


def _params(seed):
    return dict(random_state=seed, kmeans_estimator=5, cluster_balance_threshold=0.0)


def test_eight_threads_at_once_give_the_sequential_results():
    data = [_dataset(s) for s in range(8)]
    sequential = [KMeansSMOTE(**_params(s)).fit_resample(X, y) for s, (X, y) in enumerate(data)]
    results = [None] * 8
    errors = []
    barrier = threading.Barrier(8)

    def work(i):
        try:
            barrier.wait()
            X, y = data[i]
            results[i] = KMeansSMOTE(**_params(i)).fit_resample(X, y)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for (Xs, ys), (Xt, yt) in zip(sequential, results):
        assert np.array_equal(Xs, Xt) and np.array_equal(ys, yt)


def test_the_gil_is_released_during_the_c_work():
    # While one thread runs a long compiled call, another Python thread keeps
    # running: it could not if the call held the GIL.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(12_000, 16))
    rows = np.arange(X.shape[0], dtype=np.int64)
    start = time.perf_counter()
    _neighbors.knn_sparsity(X, rows, 2, 1)
    alone = time.perf_counter() - start
    ticks = []
    done = threading.Event()

    def kernel():
        _neighbors.knn_sparsity(X, rows, 2, 1)
        done.set()

    t = threading.Thread(target=kernel)
    t.start()
    while not done.is_set():
        ticks.append(time.perf_counter())
        time.sleep(0.001)
    t.join()
    assert alone > 0.05  # the call is long enough to observe
    # Python code ran all along the call (a held GIL would give ~1 tick).
    assert len(ticks) >= 10
    assert max(np.diff(ticks)) < max(0.5 * alone, 0.05)


def test_repeated_calls_do_not_leak():
    X, y = _dataset(0)
    X, y = X[:600], y[:600]

    def rss():
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    sampler = KMeansSMOTE(**_params(0))
    for _ in range(50):  # warm up allocator pools and caches
        sampler.fit_resample(X, y)
    before = rss()
    for _ in range(1000):
        sampler.fit_resample(X, y)
    grown = rss() - before
    assert grown < 10 * 1024 * 1024, f"RSS grew by {grown / 2**20:.1f} MiB"


def test_an_output_that_cannot_be_allocated_names_its_size():
    X, y = _dataset(1)
    huge = {1: 10**15}
    with pytest.raises(MemoryError, match=r"rows x 8 features"):
        KMeansSMOTE(sampling_strategy=huge, **_params(0)).fit_resample(X, y)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_interrupts_a_long_run_quickly(tmp_path):
    script = textwrap.dedent(
        """
        import sys, time
        import numpy as np
        from kmsmote import _neighbors
        X = np.random.RandomState(0).normal(size=(120_000, 20))
        rows = np.arange(X.shape[0], dtype=np.int64)
        print("ready", flush=True)
        start = time.perf_counter()
        try:
            _neighbors.knn_sparsity(X, rows, 2, 2)
        except KeyboardInterrupt:
            print(f"interrupted {time.perf_counter() - start:.3f}", flush=True)
            sys.exit(0)
        print("finished", flush=True)
        """
    )
    # cwd outside the source tree, so that the installed package is imported.
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                            text=True, cwd=tmp_path)
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(0.5)
    sent = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    latency = time.perf_counter() - sent
    assert out.startswith("interrupted"), out
    assert latency < 1.0, f"took {latency:.2f} s to stop"
