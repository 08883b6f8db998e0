"""The guide docs/when-kmeans-smote-pays.md: its examples run as written,
and its figures are those of the benchmark's results."""

import json
import re
import warnings
from pathlib import Path

import pytest

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "when-kmeans-smote-pays.md"
QUALITY = Path(__file__).resolve().parents[1] / "bench" / "results" / "quality.json"


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


def _signed(value, digits):
    return f"{value:+.{digits}f}".replace("-", "\u2212")


@pytest.mark.skipif(not (GUIDE.exists() and QUALITY.exists()),
                    reason="docs/ or bench/results/ is not beside the tests")
def test_guide_figures_are_the_benchmarks():
    # The guide is written from bench/results/quality.json: after a rerun of
    # bench/quality.py its figures for "relax" must follow.
    text = re.sub(r"\s+", " ", GUIDE.read_text(encoding="utf-8"))
    vs = json.loads(QUALITY.read_text(encoding="utf-8"))["against_smote"]
    relax, smote = "kmsmote KMeansSMOTE relax", "kmsmote KMeansSMOTE smote"
    whole = vs["overall"][relax]
    assert f"| {_signed(whole['mean_difference'], 4)} | {whole['wins']} / {whole['losses']} |" \
        in text
    assert f"`\"relax\"` is {_signed(vs['same_k']['overall'][relax]['mean_difference'], 4)}" \
        in text
    acted = vs["policy_acted"]
    for row, baseline, name in [(relax, "SMOTE", '`"relax"` − SMOTE'),
                                (relax, "SMOTE k=2", '`"relax"` − `SMOTE(k_neighbors=2)`'),
                                (smote, "SMOTE", '`"smote"` − SMOTE')]:
        ov, pooled = acted[row][baseline]["overall"], acted[row][baseline]["pooled"]
        assert (f"| {name} | {_signed(ov['mean_difference'], 4)} | "
                f"{ov['wins']} / {ov['losses']} | {ov['p_two_sided']:.2f} | "
                f"{_signed(pooled['mean_difference'], 4)} ({pooled['wins']} / "
                f"{pooled['losses']} folds, p {pooled['p_two_sided']:.2f}) |") in text
    n_folds = acted[relax]["SMOTE"]["pooled"]["n_folds"]
    n_sets = acted[relax]["SMOTE"]["overall"]["n_datasets"]
    assert f"{n_folds} folds of {n_sets} data sets" in text
