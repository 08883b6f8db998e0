"""kmsmote.report_phases: the documented phase-reporting hook."""

import doctest
import threading

import numpy as np
import pytest
from sklearn.base import clone

import kmsmote
from kmsmote import KMeansSMOTE, report_phases
from kmsmote import _progress


def _data(seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(300, 4))
    y = np.array([0] * 250 + [1] * 30 + [2] * 20)
    return X, y


def _sampler(**params):
    return KMeansSMOTE(kmeans_estimator=3, cluster_balance_threshold=0.0, random_state=0,
                       **params)


def test_phases_in_order_and_nothing_outside_the_block():
    X, y = _data()
    seen = []
    with report_phases(seen.append):
        X_res, y_res = _sampler().fit_resample(X, y)
    # One clustering, then neighbours for each of the two classes.
    assert seen == ["clustering", "neighbours", "neighbours", "generation"]
    assert set(seen) <= set(_progress.PHASES)
    _sampler().fit_resample(X, y)
    assert len(seen) == 4
    # Same result as without the hook; the hook is no parameter and no state.
    X_ref, y_ref = _sampler().fit_resample(X, y)
    np.testing.assert_array_equal(X_res, X_ref)
    np.testing.assert_array_equal(y_res, y_ref)
    assert "callback" not in str(_sampler().get_params())
    assert clone(_sampler()).get_params() == _sampler().get_params()


def test_blocks_nest_and_are_per_thread():
    X, y = _data()
    outer, inner, other = [], [], []
    with report_phases(outer.append):
        with report_phases(inner.append):
            _sampler().fit_resample(X, y)
        assert inner and not outer

        # A thread started inside the block runs in its own (empty) context.
        def run():
            _sampler().fit_resample(X, y)
        t = threading.Thread(target=run)
        t.start()
        t.join()
        assert not outer
        _sampler().fit_resample(X, y)
    assert outer == inner
    with report_phases(other.append):
        pass
    assert other == []


def test_callback_errors_stop_and_bad_callbacks_are_refused():
    X, y = _data()

    def boom(name):
        raise KeyboardInterrupt(name)

    with pytest.raises(KeyboardInterrupt, match="clustering"):
        with report_phases(boom):
            _sampler().fit_resample(X, y)
    with pytest.raises(TypeError, match="callback must be callable"):
        with report_phases("clustering"):
            pass
    # The failed block left no callback behind.
    assert _progress._callback.get() is None


def test_dask_front_end_reports_the_phases():
    dask = pytest.importorskip("dask")
    da = pytest.importorskip("dask.array")
    from kmsmote.dask import KMeansSMOTE as DaskKMeansSMOTE

    X, y = _data()
    seen = []
    with dask.config.set(scheduler="synchronous"), report_phases(seen.append):
        DaskKMeansSMOTE(kmeans_estimator=3, cluster_balance_threshold=0.0,
                        random_state=0).fit_resample(da.from_array(X, chunks=100),
                                                     da.from_array(y, chunks=100))
    assert seen[0] == "clustering" and seen[-1] == "generation"
    assert "neighbours" in seen


@pytest.mark.parametrize("module", ["_progress", "_errors"])
def test_docstring_examples_run(module):
    result = doctest.testmod(getattr(kmsmote, module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
