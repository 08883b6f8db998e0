"""The README's examples of options beyond the reference run as written."""

import re
import warnings
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _section(title):
    text = README.read_text(encoding="utf-8")
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


@pytest.mark.skipif(not README.exists(), reason="README.md is not beside the tests")
def test_beyond_the_reference_examples_run():
    pytest.importorskip("pandas")
    blocks = re.findall(r"```python\n(.*?)```", _section("Beyond the reference"), re.S)
    assert len(blocks) >= 6, "the section lost its examples"
    namespace = {}
    with warnings.catch_warnings():
        for block in blocks:
            exec(compile(block, str(README), "exec"), namespace)
