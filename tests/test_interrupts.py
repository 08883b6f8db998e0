"""Interrupts reach every long-running kernel promptly.

The C kernels run without the GIL and poll for signals at chunk boundaries
(and at least every 20 ms of wall time, from the calling thread).  Each
case starts a kernel that would run for seconds, lets a signal arrive
after 50 ms and checks that the signal handler's exception comes out
within LIMIT seconds, with 1 and 2 threads; then that the same kernel
still works in the same process.  One case sends a real SIGINT to a child
process (the KeyboardInterrupt of Ctrl-C).  bench/interrupt.py measures
the latency of a whole fit_resample on 3,000,000 rows.
"""

import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from scipy import sparse

from kmsmote import _kmeans, _neighbors, _threads

signal = pytest.importorskip("signal")
pytestmark = pytest.mark.skipif(
    not hasattr(signal, "setitimer") or sys.platform == "win32",
    reason="needs POSIX signals and signal.setitimer",
)

# Generous for shared CI machines: the kernels poll every 20 ms.
LIMIT = 0.5
DELAY = 0.05
THREADS = [1, 2] if _threads.openmp_enabled() else [1]


class Alarm(Exception):
    pass


def _alarm(signum, frame):
    raise Alarm


def _interrupt_after(fn, delay=DELAY):
    """Run fn with SIGALRM raising Alarm after `delay` s; the latency."""
    old = signal.signal(signal.SIGALRM, _alarm)
    try:
        start = time.monotonic()
        signal.setitimer(signal.ITIMER_REAL, delay)
        try:
            fn()
        except Alarm:
            return time.monotonic() - (start + delay)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    finally:
        signal.signal(signal.SIGALRM, old)
    pytest.fail(f"the kernel finished within {time.monotonic() - start:.3f} s, before "
                f"the signal: make the case larger")


@pytest.fixture(scope="module")
def dense():
    return np.random.RandomState(0).normal(size=(300_000, 20))


def _random_csr(n, seed=0):
    """n x 1000 CSR, 10 entries per row (one per band of 100 columns, so the
    columns are sorted and distinct); scipy.sparse.random is slow at this
    size."""
    rng = np.random.RandomState(seed)
    cols = np.arange(0, 1000, 100) + rng.randint(0, 100, size=(n, 10))
    return sparse.csr_matrix((rng.normal(size=10 * n), cols.ravel(),
                              np.arange(0, 10 * n + 1, 10)), shape=(n, 1000))


@pytest.fixture(scope="module")
def csr():
    return _random_csr(300_000)


def _cases(dense, csr):
    rows = np.arange(30_000, dtype=np.int64)
    srows = np.arange(30_000, dtype=np.int64)
    centers = np.ascontiguousarray(dense[:2000])
    scenters = np.ascontiguousarray(csr[:2000].toarray())
    return {
        # seconds of work each, if not interrupted
        "kmeans++": lambda nt: _kmeans.kmeans_plusplus(dense, 400, 5, 1, nt),
        "lloyd": lambda nt: _kmeans.lloyd(dense, centers[:300], 10_000, -1.0, nt),
        "assign": lambda nt: _kmeans.assign(dense, centers, nt),
        "knn": lambda nt: _neighbors.knn_sparsity(dense, rows, 5, nt),
        # Eight sets of 12,000 rows: one thread per set.
        "knn sets": lambda nt: _neighbors.knn_sparsity_sets(
            dense, np.arange(96_000, dtype=np.int64),
            np.arange(0, 96_001, 12_000, dtype=np.int64), np.full(8, 5, dtype=np.int64), nt),
        "csr kmeans++": lambda nt: _kmeans.csr_kmeans_plusplus(csr, 400, 5, 1, nt),
        "csr lloyd": lambda nt: _kmeans.csr_lloyd(csr, scenters[:300], 10_000, -1.0, nt),
        "csr assign": lambda nt: _kmeans.csr_assign(csr, scenters, nt),
        "csr knn": lambda nt: _neighbors.csr_knn_sparsity(csr, srows, 5, nt),
    }


KERNELS = ["kmeans++", "lloyd", "assign", "knn", "knn sets", "csr kmeans++",
           "csr lloyd", "csr assign", "csr knn"]


@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("kernel", KERNELS)
def test_signal_stops_the_kernel_quickly(kernel, n_threads, dense, csr):
    run = _cases(dense, csr)[kernel]
    latency = _interrupt_after(lambda: run(n_threads))
    assert latency < LIMIT, f"{kernel}: {latency * 1000:.0f} ms from the signal to the exception"


def _os_threads():
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:  # not Linux
        return None


def test_kernels_work_after_an_interrupt(dense, csr):
    small = np.ascontiguousarray(dense[:5000])
    before = _kmeans.kmeans_plusplus(small, 8, 3, 7, 2)
    knn_before = _neighbors.csr_knn_sparsity(csr[:3000], np.arange(3000), 3, 2)
    _interrupt_after(lambda: _kmeans.kmeans_plusplus(dense, 400, 5, 1, 2))
    threads = _os_threads()
    for _ in range(3):
        _interrupt_after(lambda: _neighbors.csr_knn_sparsity(csr, np.arange(30_000), 5, 2))
        _interrupt_after(lambda: _kmeans.lloyd(dense, dense[:300], 10_000, -1.0, 2))
    # Interrupted parallel regions end normally: OpenMP's thread pool does
    # not grow.
    assert _os_threads() == threads
    np.testing.assert_array_equal(_kmeans.kmeans_plusplus(small, 8, 3, 7, 2), before)
    nn, pair_sum = _neighbors.csr_knn_sparsity(csr[:3000], np.arange(3000), 3, 2)
    np.testing.assert_array_equal(nn, knn_before[0])
    assert pair_sum == knn_before[1]


def test_ctrl_c_in_a_child_process(tmp_path):
    """A real SIGINT: KeyboardInterrupt out of k-means++ on 300,000 rows and
    out of a CSR knn, and the same kernels still give their results."""
    script = textwrap.dedent(
        """
        import sys, time
        import numpy as np
        from scipy import sparse
        from kmsmote import _kmeans, _neighbors

        X = np.random.RandomState(0).normal(size=(300_000, 20))
        rng = np.random.RandomState(0)
        cols = np.arange(0, 1000, 100) + rng.randint(0, 100, size=(300_000, 10))
        S = sparse.csr_matrix((rng.normal(size=3_000_000), cols.ravel(),
                               np.arange(0, 3_000_001, 10)), shape=(300_000, 1000))
        small = (_kmeans.kmeans_plusplus(X[:5000], 8, 3, 7, 2),
                 _neighbors.csr_knn_sparsity(S[:3000], np.arange(3000), 3, 2)[0])
        for name, run in [
            ("kmeans++", lambda: _kmeans.kmeans_plusplus(X, 400, 5, 1, 2)),
            ("csr knn", lambda: _neighbors.csr_knn_sparsity(S, np.arange(30_000), 5, 2)),
        ]:
            print("ready", name, flush=True)
            try:
                run()
                print("finished", name, flush=True)
            except KeyboardInterrupt:
                print("interrupted", time.monotonic(), flush=True)
        again = (_kmeans.kmeans_plusplus(X[:5000], 8, 3, 7, 2),
                 _neighbors.csr_knn_sparsity(S[:3000], np.arange(3000), 3, 2)[0])
        same = all(np.array_equal(a, b) for a, b in zip(small, again))
        print("same" if same else "different", flush=True)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                            text=True, cwd=tmp_path)
    try:
        for name in ("kmeans++", "csr knn"):
            assert proc.stdout.readline().split() == ["ready", *name.split()]
            time.sleep(0.2)
            sent = time.monotonic()
            proc.send_signal(signal.SIGINT)
            words = proc.stdout.readline().split()
            assert words[:1] == ["interrupted"], f"{name}: {words}"
            latency = float(words[1]) - sent
            assert latency < LIMIT, f"{name}: {latency * 1000:.0f} ms"
        assert proc.stdout.readline().strip() == "same"
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
