"""A downstream Cython extension built against the installed kmsmote.

It cimports the public kernels from kmsmote.ckernels, calls them without the
GIL, and its results must equal the Python API's.  Without a working C
compiler (a wheel installed where none is) these tests skip and say why.
"""

import functools
import os
import shlex
import subprocess
import sys
import sysconfig
import tempfile
import textwrap

import numpy as np
import pytest

import kmsmote
from kmsmote import _generate, _kmeans, _neighbors

pytest.importorskip("Cython")
pytest.importorskip("setuptools")

EXT = textwrap.dedent(
    """
    # cython: language_level=3, boundscheck=False, wraparound=False
    import numpy as np
    from kmsmote.ckernels cimport (
        KMS_OK, assign_f64, assign_f32, generate_f64, kms_idx, knn_sparsity_f64,
        knn_sparsity_sets_f64, status_message,
    )


    def assign(double[:, ::1] X, double[:, ::1] C, int n_threads):
        cdef kms_idx[::1] labels = np.empty(X.shape[0], dtype=np.int64)
        cdef double[::1] dist2 = np.empty(X.shape[0], dtype=np.float64)
        cdef int status
        with nogil:
            status = assign_f64(&X[0, 0], X.shape[0], X.shape[1], &C[0, 0],
                                C.shape[0], &labels[0], &dist2[0], n_threads)
        if status != KMS_OK:
            raise RuntimeError(status_message(status).decode())
        return np.asarray(labels), np.asarray(dist2)


    def assign32(float[:, ::1] X, float[:, ::1] C):
        cdef kms_idx[::1] labels = np.empty(X.shape[0], dtype=np.int64)
        cdef int status
        with nogil:
            status = assign_f32(&X[0, 0], X.shape[0], X.shape[1], &C[0, 0],
                                C.shape[0], &labels[0], NULL, 1)
        return status, np.asarray(labels)


    def knn(double[:, ::1] X, kms_idx[::1] rows, kms_idx k):
        cdef kms_idx m = rows.shape[0]
        cdef kms_idx[:, ::1] nn = np.empty((m, k), dtype=np.int64)
        cdef double total = 0
        cdef int status
        with nogil:
            status = knn_sparsity_f64(&X[0, 0], X.shape[0], X.shape[1], &rows[0],
                                      m, k, &nn[0, 0], NULL, &total, 2)
        if status != KMS_OK:
            raise ValueError(status_message(status).decode())
        return np.asarray(nn), total


    def knn_sets(double[:, ::1] X, kms_idx[::1] rows, kms_idx[::1] offsets,
                 kms_idx[::1] ks):
        cdef kms_idx[::1] nn = np.empty(
            int((np.diff(np.asarray(offsets)) * np.asarray(ks)).sum()), dtype=np.int64)
        cdef double[::1] sums = np.empty(ks.shape[0])
        cdef int status
        with nogil:
            status = knn_sparsity_sets_f64(&X[0, 0], X.shape[0], X.shape[1], &rows[0],
                                           &offsets[0], ks.shape[0], &ks[0], &nn[0],
                                           &sums[0], 2)
        if status != KMS_OK:
            raise ValueError(status_message(status).decode())
        return np.asarray(nn), np.asarray(sums)


    def generate(double[:, ::1] X, kms_idx[::1] rows, kms_idx[:, ::1] nn,
                 kms_idx[::1] sample_idx, double[::1] steps):
        cdef double[:, ::1] out = np.empty((sample_idx.shape[0], X.shape[1]))
        cdef int status
        with nogil:
            status = generate_f64(&X[0, 0], X.shape[0], X.shape[1], &rows[0],
                                  rows.shape[0], &nn[0, 0], nn.shape[1],
                                  &sample_idx[0], &steps[0], sample_idx.shape[0],
                                  &out[0, 0], 2)
        if status != KMS_OK:
            raise ValueError(status_message(status).decode())
        return np.asarray(out)
    """
)

SETUP = textwrap.dedent(
    """
    import sys
    import numpy
    from Cython.Build import cythonize
    from setuptools import Extension, setup

    pkg_parent, include = sys.argv.pop(1), sys.argv.pop(1)
    setup(
        name="downstream",
        ext_modules=cythonize(
            [Extension("downstream", ["downstream.pyx"],
                       include_dirs=[include, numpy.get_include()])],
            include_path=[pkg_parent],
            quiet=True,
        ),
    )
    """
)


def _build_cc(environ=os.environ):
    """The C compiler command setuptools' build_ext uses on POSIX: $CC, else
    the one Python was built with (sysconfig's CC); None where there is none
    (Windows, where setuptools looks for MSVC itself)."""
    return environ.get("CC") or sysconfig.get_config_var("CC")


@functools.lru_cache(maxsize=None)
def _c_compiler_problem(cc):
    """None if ``cc`` compiles a trivial C file, else why not (one line).
    Cached: one try per compiler and session."""
    if not cc:
        return None
    argv = shlex.split(cc)
    with tempfile.TemporaryDirectory() as work:
        src = os.path.join(work, "probe.c")
        with open(src, "w") as fh:
            fh.write("int kms_probe(void) { return 0; }\n")
        try:
            proc = subprocess.run(
                argv + ["-c", src, "-o", os.path.join(work, "probe.o")],
                capture_output=True, text=True, timeout=120,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            outcome = f"could not run ({type(exc).__name__}: {exc})"
        else:
            if proc.returncode == 0:
                return None
            last = (proc.stderr or proc.stdout).strip().splitlines()[-1:]
            outcome = f"failed with exit status {proc.returncode}" + (
                f" ({last[0]})" if last else "")
    return (f"no working C compiler: CC={cc!r} (from $CC, else Python's sysconfig) "
            f"{outcome} on a trivial C file; set CC to a working compiler to run "
            "the downstream-build tests")


posix_only = pytest.mark.skipif(sys.platform == "win32", reason="uses /bin/false")


@posix_only
def test_compiler_probe_reports_a_broken_or_missing_compiler(tmp_path):
    assert _build_cc({"CC": "/bin/false"}) == "/bin/false"
    assert _build_cc({}) == sysconfig.get_config_var("CC")
    reason = _c_compiler_problem("/bin/false")
    assert reason.startswith("no working C compiler: CC='/bin/false'")
    assert "failed with exit status 1" in reason
    missing = str(tmp_path / "no-such-cc")
    reason = _c_compiler_problem(missing)
    assert f"CC={missing!r}" in reason and "could not run (FileNotFoundError" in reason


def _skip_without_compiler():
    """Skip the calling test or fixture, saying why, when the compiler the
    downstream build would use does not work."""
    problem = _c_compiler_problem(_build_cc())
    if problem:
        pytest.skip(problem)


@posix_only
def test_downstream_build_skips_without_a_compiler(monkeypatch):
    monkeypatch.setenv("CC", "/bin/false")
    with pytest.raises(pytest.skip.Exception, match=r"no working C compiler: CC='/bin/false'"):
        _skip_without_compiler()


@pytest.fixture(scope="module")
def downstream(tmp_path_factory):
    _skip_without_compiler()
    work = tmp_path_factory.mktemp("downstream")
    (work / "downstream.pyx").write_text(EXT)
    (work / "setup.py").write_text(SETUP)
    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(kmsmote.__file__)))
    proc = subprocess.run(
        [sys.executable, "setup.py", pkg_parent, kmsmote.get_include(),
         "build_ext", "--inplace"],
        cwd=work, capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    sys.path.insert(0, str(work))
    try:
        import downstream as mod
    finally:
        sys.path.remove(str(work))
    return mod


def test_downstream_kernels_match_python_api(downstream):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(500, 6))
    C = X[:7].copy()
    labels, dist2 = downstream.assign(X, C, 2)
    ref_labels, ref_dist2 = _kmeans.assign(X, C, 1)
    assert np.array_equal(labels, ref_labels) and np.array_equal(dist2, ref_dist2)

    rows = np.arange(3, 400, 2, dtype=np.int64)
    nn, total = downstream.knn(X, rows, 3)
    ref_nn, ref_total = _neighbors.knn_sparsity(X, rows, 3, 1)
    assert np.array_equal(nn, ref_nn) and total == ref_total

    offsets = np.array([0, 60, 61, rows.size], dtype=np.int64)
    ks = np.array([3, 0, 2], dtype=np.int64)
    nn_all, sums = downstream.knn_sets(X, rows, offsets, ks)
    ref_sets, ref_sums = _neighbors.knn_sparsity_sets(X, rows, offsets, ks, 1)
    assert np.array_equal(nn_all, np.concatenate([a.ravel() for a in ref_sets]))
    assert np.array_equal(sums, ref_sums)

    sample_idx = rng.randint(0, nn.size, size=50).astype(np.int64)
    steps = rng.uniform(size=50)
    out = downstream.generate(X, rows, nn, sample_idx, steps)
    ref = np.empty_like(out)
    _generate.generate(X, rows, nn, sample_idx, steps, ref, 1)
    assert np.array_equal(out, ref)


def test_downstream_status_codes(downstream):
    X = np.random.RandomState(1).normal(size=(20, 3))
    with pytest.raises(ValueError, match="k"):
        downstream.knn(X, np.arange(5, dtype=np.int64), 10)  # k > m - 1
    status, labels = downstream.assign32(X.astype(np.float32), X[:2].astype(np.float32))
    assert status == 0 and labels.shape == (20,)
