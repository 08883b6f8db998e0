"""Packaging: headers, demo command, a clear message from an unbuilt tree."""

import os
import shutil
import subprocess
import sys

import kmsmote


def test_get_include_has_the_public_headers():
    inc = kmsmote.get_include()
    for name in ("kms_common.h", "kms_kmeans.h", "kms_neighbors.h", "kms_generate.h",
                 "kms_sparse.h"):
        path = os.path.join(inc, "kmsmote", name)
        assert os.path.isfile(path), path
        with open(path) as fh:
            assert "kms_" in fh.read()


def test_importing_an_unbuilt_tree_says_what_to_do(tmp_path):
    # A copy of the package's Python files next to a meson.build, without the
    # compiled extensions: what a user sees importing from a fresh clone.
    src = os.path.dirname(kmsmote.__file__)
    pkg = tmp_path / "kmsmote"
    pkg.mkdir()
    for name in os.listdir(src):
        if name.endswith(".py"):
            shutil.copy(os.path.join(src, name), pkg / name)
    (tmp_path / "meson.build").write_text("project('kmsmote')\n")
    # -S: no site hooks (an editable install would otherwise take over).
    proc = subprocess.run(
        [sys.executable, "-S", "-c", "import kmsmote"], cwd=tmp_path,
        capture_output=True, text=True,
    )
    assert proc.returncode != 0
    assert "compiled extensions could not be imported" in proc.stderr
    assert "pip install ." in proc.stderr
