"""Property-based tests (hypothesis) on small random data sets."""

from collections import Counter

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from kmsmote import KMeansSMOTE


@st.composite
def datasets(draw):
    n_classes = draw(st.integers(2, 3))
    sizes = [draw(st.integers(8, 30)) for _ in range(n_classes)]
    sizes[0] = max(sizes) + draw(st.integers(0, 10))
    n = sum(sizes)
    d = draw(st.integers(1, 4))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    # Small integers scaled: many exact ties and duplicate rows on purpose.
    grid = draw(arrays(np.int64, (n, d), elements=st.integers(-6, 6)))
    scale = draw(st.sampled_from([1e-3, 1.0, 1e3]))
    noise = draw(st.booleans())
    X = grid.astype(np.float64) * scale
    if noise:
        X += np.random.RandomState(draw(st.integers(0, 1000))).normal(scale=0.1 * scale, size=X.shape)
    y = np.repeat(np.arange(n_classes), sizes)
    perm = np.random.RandomState(draw(st.integers(0, 1000))).permutation(n)
    params = dict(
        kmeans_estimator=draw(st.integers(1, 3)),
        k_neighbors=draw(st.integers(1, 2)),
        random_state=draw(st.integers(0, 2**31 - 1)),
        cluster_balance_threshold=0.0,
        allocation="exact",
    )
    return X[perm].astype(dtype), y[perm], params


def _on_segment(s, P, tol):
    diff = P[None, :, :] - P[:, None, :]
    rel = s[None, None, :] - P[:, None, :]
    den = np.einsum("ijk,ijk->ij", diff, diff)
    num = np.einsum("ijk,ijk->ij", rel, diff)
    u = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    u = np.clip(u, 0.0, 1.0)
    resid = np.abs(rel - u[:, :, None] * diff).max(axis=2)
    return bool(np.any(resid <= tol))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datasets())
def test_resampling_properties(data):
    X, y, params = data
    X_in, y_in = X.copy(), y.copy()
    sampler = KMeansSMOTE(**params)
    X_res, y_res = sampler.fit_resample(X, y)

    # Inputs untouched; originals first and unchanged; dtype kept.
    assert np.array_equal(X, X_in) and np.array_equal(y, y_in)
    n = len(y)
    assert X_res.dtype == X.dtype
    assert np.array_equal(X_res[:n], X) and np.array_equal(y_res[:n], y)
    # Class counts exactly as requested.
    before, after = Counter(y.tolist()), Counter(y_res.tolist())
    for label, n_new in sampler.sampling_strategy_.items():
        assert after[label] == before[label] + n_new
    # No NaN or infinity.
    assert np.all(np.isfinite(X_res))
    if not any(sampler.sampling_strategy_.values()):
        assert len(y_res) == n  # balanced already: nothing generated
        return
    # Every synthetic point lies on a segment between two samples of its
    # class in the same cluster.
    labels = sampler.kmeans_estimator_.labels_
    Xd = X.astype(np.float64)
    scale = max(1.0, float(np.abs(Xd).max()))
    tol = (1e-5 if X.dtype == np.float32 else 1e-10) * scale
    offset = n
    for r in sampler.cluster_stats_:
        if not r["kept"]:
            continue
        members = Xd[(labels == r["cluster"]) & (y == r["class"])]
        for s in X_res[offset:offset + r["n_generated"]].astype(np.float64):
            assert _on_segment(s, members, tol)
        assert np.all(y_res[offset:offset + r["n_generated"]] == r["class"])
        offset += r["n_generated"]
    assert offset == len(y_res)
    # Same seed, same output (also with another thread count).
    X_again, y_again = KMeansSMOTE(**params, n_jobs=1).fit_resample(X, y)
    assert np.array_equal(X_again, X_res) and np.array_equal(y_again, y_res)
