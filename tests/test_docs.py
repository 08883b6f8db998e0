"""The examples of the README and of docs/user-guide.md run as written.

The pages are beside the tests in a checkout, an sdist and cibuildwheel's
test-sources (tools/test_wheel.sh and pyproject.toml copy README.md and
docs/); elsewhere these tests skip.  Each page must keep its examples: a
page that loses blocks fails here rather than testing nothing.
"""

import re
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
GUIDE = ROOT / "docs" / "user-guide.md"


def _python_blocks(text):
    return re.findall(r"```python\n(.*?)```", text, re.S)


def _section(text, title):
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


def _run(blocks, filename):
    namespace = {}
    with warnings.catch_warnings():
        for block in blocks:
            exec(compile(block, str(filename), "exec"), namespace)
    return namespace


@pytest.mark.skipif(not README.exists(), reason="README.md is not beside the tests")
def test_readme_drop_in_example_runs(capsys):
    text = README.read_text(encoding="utf-8")
    blocks = _python_blocks(text)
    assert len(blocks) == 1, "the README should keep exactly its drop-in example"
    assert "from kmsmote import KMeansSMOTE" in blocks[0]
    namespace = _run(blocks, README)
    # imbalanced-learn's example: 900 majority rows, the minority brought up
    # to at least as many (the reference's rounding up may add a few).
    counts = namespace["Counter"](namespace["y_res"].tolist())
    assert counts[1] == 900 and counts[0] >= 900
    assert "Counter(" in capsys.readouterr().out


@pytest.mark.skipif(not GUIDE.exists(), reason="docs/user-guide.md is not beside the tests")
def test_user_guide_examples_run_in_order(tmp_path, monkeypatch):
    pytest.importorskip("pandas")
    pytest.importorskip("matplotlib")
    text = GUIDE.read_text(encoding="utf-8")
    # data, diagnostics, three of the options, categorical (pandas, sparse).
    assert len(_python_blocks(text)) >= 7, "the user guide lost examples"
    assert len(_python_blocks(_section(text, "Beyond the reference"))) >= 3
    assert len(_python_blocks(_section(text, "Diagnostics"))) == 1
    monkeypatch.chdir(tmp_path)  # the diagnostics example writes clusters.png
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace = _run(_python_blocks(text), GUIDE)
    assert (tmp_path / "clusters.png").stat().st_size > 0
    assert {"sampler", "X_res", "y_res", "report"} <= namespace.keys()
