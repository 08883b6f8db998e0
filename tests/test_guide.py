"""The guide docs/when-kmeans-smote-pays.md: its examples run as written."""

import re
import warnings
from pathlib import Path

import pytest

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "when-kmeans-smote-pays.md"


@pytest.mark.skipif(not GUIDE.exists(), reason="docs/ is not beside the tests")
def test_guide_examples_run():
    pytest.importorskip("imblearn")
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 1, "the guide lost its example"
    namespace = {}
    with warnings.catch_warnings():
        for block in blocks:
            exec(compile(block, str(GUIDE), "exec"), namespace)
    # The example's own checks ran; the search compared SMOTE with
    # KMeansSMOTE settings and refitted the best pipeline.
    search = namespace["search"]
    assert len(search.cv_results_["params"]) >= 4
    assert hasattr(search, "best_estimator_")
