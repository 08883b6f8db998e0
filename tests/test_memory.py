"""Large results in mappings of their own on VMs that report free pages."""

import pickle

import numpy as np
import pytest
from sklearn.datasets import make_classification

from kmsmote import KMeansSMOTE, _memory


def _device(root, name, device, features):
    folder = root / name
    folder.mkdir()
    (folder / "device").write_text(device + "\n")
    (folder / "features").write_text(features + "\n")


def test_free_page_reporting_is_read_from_the_balloon_features(tmp_path):
    assert not _memory.reports_free_pages(str(tmp_path / "absent"))
    _device(tmp_path, "virtio1", "0x0002", "0" * 5 + "1" + "0" * 58)  # a disk
    assert not _memory.reports_free_pages(str(tmp_path))
    _device(tmp_path, "virtio0", "0x0005", "011001" + "0" * 58)  # balloon, bit 5 set
    assert _memory.reports_free_pages(str(tmp_path))
    (tmp_path / "virtio0" / "features").write_text("0110" + "0" * 60)  # bit 5 clear
    assert not _memory.reports_free_pages(str(tmp_path))
    (tmp_path / "virtio0" / "features").write_text("011")  # too short
    assert not _memory.reports_free_pages(str(tmp_path))


def test_numpy_switch_leaves_allocation_to_numpy(monkeypatch):
    monkeypatch.setenv("NUMPY_MADVISE_HUGEPAGE", "1")
    assert _memory._map_large.__wrapped__() is False


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int16])
def test_mapped_array_behaves_as_numpys(dtype):
    shape = (70_000, 33)
    a = _memory.empty(shape, dtype, mapped=True)
    assert a.shape == shape and a.dtype == dtype
    assert a.flags.c_contiguous and a.flags.writeable and not a.flags.owndata
    a[:] = np.arange(a.size, dtype=np.int64).reshape(shape) % 97
    b = pickle.loads(pickle.dumps(a))
    assert np.array_equal(a, b)
    # Small arrays, and mapped=False, are NumPy's own.
    assert _memory.empty((10, 3), dtype, mapped=True).flags.owndata
    assert _memory.empty(shape, dtype, mapped=False).flags.owndata
    assert _memory.empty((0, 33), dtype, mapped=True).shape == (0, 33)


def test_resample_output_is_the_same_in_a_mapping(monkeypatch):
    X, y = make_classification(n_samples=40_000, n_features=20, weights=[0.9, 0.1],
                               random_state=0)
    params = dict(kmeans_estimator=8, random_state=0, cluster_balance_threshold=0.0)
    outputs = []
    for mapped in (False, True):
        monkeypatch.setattr(_memory, "_map_large", lambda mapped=mapped: mapped)
        X_res, y_res = KMeansSMOTE(**params).fit_resample(X, y)
        assert X_res.nbytes >= 4 << 20
        assert X_res.flags.owndata is not mapped
        outputs.append((X_res, y_res))
    (Xa, ya), (Xb, yb) = outputs
    assert np.array_equal(Xa, Xb) and np.array_equal(ya, yb)
    Xb[0, 0] += 1.0  # a writable array of its own
    assert not np.shares_memory(Xb, X)
