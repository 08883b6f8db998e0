"""64-bit indexing: the kernels on arrays with more than 2**31 elements.

Dense: X is float32 of shape (2**31 // 16 + 4096, 16), 2,147,549,184
elements (8.6 GB), allocated with np.zeros so that the pages nobody
writes are never committed (Linux maps them to the zero page on read);
only the rows around element 2**31 and after it are filled with random
values.  knn_sparsity and generate read only those rows (row * d > 2**31,
byte offsets up to 8.6 GB); assign, kmeans_plusplus and lloyd run over
every row.  Each result is checked against NumPy on the rows that matter.

CSR: data (float32) and indices (int64) of 2**31 + 36,000 entries (25.8 GB
of address space, a few hundred kB touched) whose rows all start past
entry 2**31 (indptr[0] > 2**31); every CSR kernel must equal the dense
kernel on the same matrix bit for bit.

Needs about 5 GB of RAM and 40 GB of address space (vm.overcommit_memory
0 or 1).  Prints PASS/FAIL per check; exits non-zero on any failure.

Usage: python bench/large_index.py [--threads N] [--skip-kmeans]
"""

import argparse
import sys
import time

import numpy as np
from scipy.spatial.distance import cdist

from kmsmote import _generate, _kmeans, _neighbors

D = 16
N = 2**31 // D + 4096          # 134,221,824 rows
FIRST = 2**31 // D - 64        # first filled row: just below element 2**31
RESULTS = []


def check(name, ok, detail=""):
    RESULTS.append((name, bool(ok)))
    print(f"{'PASS' if ok else 'FAIL'}  {name}" + (f"  ({detail})" if detail else ""),
          flush=True)


def rss_gib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**30


def timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t


def dense_checks(nt, skip_kmeans, rng):
    X = np.zeros((N, D), dtype=np.float32)
    X[FIRST:] = rng.normal(size=(N - FIRST, D)).astype(np.float32)
    print(f"dense X: {X.shape} float32, {X.size:,} elements ({X.nbytes / 1e9:.1f} GB), "
          f"rows {FIRST:,}..{N - 1:,} filled (element offsets {FIRST * D:,}.."
          f"{N * D - 1:,}); RSS {rss_gib():.2f} GiB", flush=True)
    used = np.arange(FIRST, N, dtype=np.int64)

    # knn_sparsity on rows past element 2**31 (and the last row).
    rows = np.sort(rng.choice(used, size=2000, replace=False))
    rows[-1] = N - 1
    rows[0] = FIRST
    k = 5
    (nn, nd, pair_sum), t = timed(
        lambda: _neighbors.knn_sparsity(X, rows, k, nt, return_distance=True))
    Xs = X[rows].astype(np.float64)
    D2 = cdist(Xs, Xs, "sqeuclidean")
    np.fill_diagonal(D2, np.inf)
    ref_nn = np.argsort(D2, axis=1, kind="stable")[:, :k]
    ref_nd = np.sqrt(np.take_along_axis(D2, ref_nn, axis=1))
    iu = np.triu_indices(len(rows), 1)
    ref_sum = np.sqrt(D2[iu]).sum()
    check("knn_sparsity: neighbours of 2000 rows with row*d > 2**31",
          np.array_equal(nn, ref_nn) and np.allclose(nd, ref_nd, rtol=1e-12, atol=0),
          f"{t:.2f} s; max |dist - ref| {np.abs(nd - ref_nd).max():.2e}")
    check("knn_sparsity: pair distance sum",
          abs(pair_sum - ref_sum) <= 1e-10 * ref_sum,
          f"{pair_sum!r} vs NumPy {float(ref_sum)!r}")

    # generate from rows past element 2**31.
    m, kk, n_new = 1000, 5, 20000
    grows = rng.choice(used, size=m, replace=False)
    grows[0] = N - 1
    gnn = rng.randint(0, m, size=(m, kk)).astype(np.int64)
    sidx = rng.randint(0, m * kk, size=n_new).astype(np.int64)
    steps = rng.uniform(size=n_new)
    out = np.empty((n_new, D), dtype=np.float32)
    _, t = timed(_generate.generate, X, grows, gnn, sidx, steps, out, nt)
    base = X[grows[sidx // kk]]
    other = X[grows[gnn.ravel()[sidx]]]
    ref = (base + steps[:, None] * (other - base)).astype(np.float32)
    check("generate: 20000 rows from rows with row*d > 2**31 (bit-identical to NumPy)",
          np.array_equal(out.view(np.uint32), ref.view(np.uint32)), f"{t:.2f} s")

    # assign over every row.
    kc = 8
    centers = np.ascontiguousarray(X[rng.choice(used, size=kc, replace=False)])
    centers[0] = 0.01  # the zero rows' centre
    (labels, dist2), t = timed(_kmeans.assign, X, centers, nt)
    C = centers.astype(np.float64)
    cc = np.zeros(kc)
    for f in range(D):  # the kernel's order: features ascending from +0
        cc += C[:, f] * C[:, f]
    Xu = X[FIRST:].astype(np.float64)
    ref_d2 = (Xu * Xu).sum(axis=1)[:, None] - 2.0 * Xu @ C.T + cc[None, :]
    ref_lab = ref_d2.argmin(axis=1)
    srt = np.sort(ref_d2, axis=1)
    clear = srt[:, 1] - srt[:, 0] > 1e-9 * (1.0 + srt[:, 0])  # no near-tie
    lab_u, d2_u = labels[FIRST:], dist2[FIRST:]
    check("assign: labels of the rows past element 2**31",
          np.array_equal(lab_u[clear], ref_lab[clear]),
          f"{t:.2f} s for {N:,} rows; {int((~clear).sum())} near-ties skipped")
    check("assign: squared distances of the rows past element 2**31",
          np.allclose(d2_u, ref_d2[np.arange(len(Xu)), lab_u], rtol=1e-9, atol=1e-9))
    zl = int(cc.argmin())
    check("assign: the zero rows before element 2**31",
          bool(np.all(labels[:FIRST] == zl)) and bool(np.all(dist2[:FIRST] == cc[zl])),
          f"all {FIRST:,} -> centre {zl}, dist2 {float(cc[zl])!r}")
    print(f"  RSS {rss_gib():.2f} GiB", flush=True)

    if not skip_kmeans:
        # kmeans_plusplus over every row: the centres are rows of X; the
        # first is uniform (a zero row, almost surely), the others must be
        # filled rows (the zero rows then weigh 0).
        pp, t = timed(_kmeans.kmeans_plusplus, X, 3, 3, 12345, nt)
        filled = X[FIRST:]
        is_filled = [bool((filled == c).all(axis=1).any()) for c in pp]
        is_zero = [bool((c == 0).all()) for c in pp]
        check("kmeans_plusplus over 134M rows: centres are rows of X",
              all(f or z for f, z in zip(is_filled, is_zero)) and all(is_filled[1:]),
              f"{t:.2f} s; centre kinds "
              f"{['filled' if f else 'zero' for f in is_filled]}")

        # One Lloyd iteration from `centers`: the new centres are the means
        # of the assignment just checked (zero rows count, add nothing).
        (c1, lab1, inertia, n_iter), t = timed(_kmeans.lloyd, X, centers, 1, 0.0, nt)
        counts = np.bincount(labels, minlength=kc)
        sums = np.zeros((kc, D))
        np.add.at(sums, lab_u, Xu)
        ref_c1 = (sums / np.maximum(counts, 1)[:, None]).astype(np.float32)
        check("lloyd (1 iteration) over 134M rows: centres are the means",
              n_iter == 1 and np.allclose(c1, ref_c1, rtol=1e-5, atol=1e-7),
              f"{t:.2f} s; max |c - ref| {np.abs(c1 - ref_c1).max():.2e}")
        lab2, _ = _kmeans.assign(X[FIRST:], c1, nt)
        check("lloyd: final labels match the final centres (rows past 2**31)",
              np.array_equal(lab1[FIRST:], lab2),
              f"inertia {inertia:.6g}")


def csr_checks(nt, rng):
    n, d, per = 3000, 64, 12
    base = 2**31 + 12345
    nnz_used = n * per
    data = np.zeros(base + nnz_used, dtype=np.float32)
    indices = np.zeros(base + nnz_used, dtype=np.int64)
    cols = np.sort(np.stack([rng.choice(d, size=per, replace=False) for _ in range(n)]),
                   axis=1)
    data[base:] = rng.normal(size=nnz_used).astype(np.float32)
    indices[base:] = cols.ravel()
    indptr = base + np.arange(0, nnz_used + 1, per, dtype=np.int64)
    Xc = (data, indices, indptr, (n, d))
    from scipy import sparse

    Xd = sparse.csr_matrix((data[base:], indices[base:], indptr - base),
                           shape=(n, d)).toarray()
    print(f"CSR X: {n} x {d}, data/indices of {len(data):,} entries "
          f"({(data.nbytes + indices.nbytes) / 1e9:.1f} GB of address space), "
          f"rows in entries {base:,}..{base + nnz_used - 1:,}; RSS {rss_gib():.2f} GiB",
          flush=True)

    rows = rng.permutation(n)[:1500].astype(np.int64)
    nn_c, s_c = _neighbors.csr_knn_sparsity(Xc, rows, 5, nt)
    nn_d, s_d = _neighbors.knn_sparsity(Xd, rows, 5, nt)
    check("csr_knn_sparsity (int64, entries past 2**31) == dense",
          np.array_equal(nn_c, nn_d) and s_c == s_d)
    C0 = _kmeans.csr_kmeans_plusplus(Xc, 6, 3, 7, nt)
    check("csr_kmeans_plusplus == dense",
          np.array_equal(C0, _kmeans.kmeans_plusplus(Xd, 6, 3, 7, nt)))
    lc, dc = _kmeans.csr_assign(Xc, C0, nt)
    ld, dd = _kmeans.assign(Xd, C0, nt)
    check("csr_assign == dense", np.array_equal(lc, ld) and np.array_equal(dc, dd))
    rc = _kmeans.csr_lloyd(Xc, C0, 20, 0.0, nt)
    rd = _kmeans.lloyd(Xd, C0, 20, 0.0, nt)
    check("csr_lloyd == dense",
          np.array_equal(rc[0], rd[0]) and np.array_equal(rc[1], rd[1])
          and rc[2] == rd[2] and rc[3] == rd[3])
    m, k, n_new = len(rows), 5, 5000
    sidx = rng.randint(0, m * k, size=n_new).astype(np.int64)
    steps = rng.uniform(size=n_new)
    G = _generate.csr_generate(Xc, rows, nn_c, sidx, steps, nt)
    out = np.empty((n_new, d), dtype=np.float32)
    _generate.generate(Xd, rows, nn_d, sidx, steps, out, nt)
    check("csr_generate == dense", np.array_equal(G.toarray(), out))
    print(f"  RSS {rss_gib():.2f} GiB", flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-kmeans", action="store_true",
                    help="skip kmeans_plusplus and lloyd over the 134M rows (slow)")
    args = ap.parse_args(argv)
    rng = np.random.RandomState(0)
    t0 = time.perf_counter()
    try:
        dense_checks(args.threads, args.skip_kmeans, rng)
        csr_checks(args.threads, rng)
    except MemoryError as exc:
        check("allocation", False, f"{exc}; needs ~5 GB RAM and overcommit")
    n_fail = sum(1 for _, ok in RESULTS if not ok)
    print(f"large_index.py: {'PASS' if n_fail == 0 else 'FAIL'} "
          f"({len(RESULTS) - n_fail}/{len(RESULTS)} checks, "
          f"{time.perf_counter() - t0:.0f} s)")
    return 1 if n_fail else 0


if __name__ == "__main__":
    sys.exit(main())
