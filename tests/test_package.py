"""Packaging: headers, demo command, a clear message from an unbuilt tree."""

import importlib.metadata
import os
import re
import shutil
import subprocess
import sys

import pytest

import kmsmote


def test_get_include_has_the_public_headers():
    inc = kmsmote.get_include()
    for name in ("kms_common.h", "kms_kmeans.h", "kms_neighbors.h", "kms_generate.h",
                 "kms_sparse.h", "kms_approx.h"):
        path = os.path.join(inc, "kmsmote", name)
        assert os.path.isfile(path), path
        with open(path) as fh:
            assert "kms_" in fh.read()


def _import_from_an_unbuilt_copy(tmp_path):
    """``import kmsmote`` run in a folder holding a copy of the package's
    Python files next to a meson.build, without the compiled extensions:
    what a user sees importing from a fresh clone."""
    src = os.path.dirname(kmsmote.__file__)
    pkg = tmp_path / "kmsmote"
    pkg.mkdir()
    for name in os.listdir(src):
        if name.endswith(".py"):
            shutil.copy(os.path.join(src, name), pkg / name)
    (tmp_path / "meson.build").write_text("project('kmsmote')\n")
    # -S: no site hooks (an editable install would otherwise take over).
    return subprocess.run(
        [sys.executable, "-S", "-c", "import kmsmote"], cwd=tmp_path,
        capture_output=True, text=True,
    )


def test_importing_an_unbuilt_tree_says_what_to_do(tmp_path):
    # A copy of the package's Python files next to a meson.build, without the
    # compiled extensions: what a user sees importing from a fresh clone.
    proc = _import_from_an_unbuilt_copy(tmp_path)
    assert proc.returncode != 0
    assert "compiled extensions could not be imported" in proc.stderr
    assert "pip install ." in proc.stderr


def _checkout_file(name):
    """A file of the source checkout next to ``tests/``, or a skip when the
    tests run from a copy (tools/test_wheel.sh runs them against a wheel)."""
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), name)
    if not os.path.isfile(path):
        pytest.skip(f"{name} not found next to tests/: not run from a source checkout")
    return path


def test_version_is_the_distributions():
    assert kmsmote.__version__ == importlib.metadata.version("kmsmote")
    assert kmsmote.__version__ == kmsmote._build_info.VERSION


def test_version_is_written_once_in_meson_build():
    tomllib = pytest.importorskip("tomllib")
    with open(_checkout_file("pyproject.toml"), "rb") as fh:
        project = tomllib.load(fh)["project"]
    assert "version" not in project and "version" in project.get("dynamic", [])
    with open(_checkout_file("meson.build")) as fh:
        versions = re.findall(r"^\s*version\s*:\s*'([^']+)'", fh.read(), re.MULTILINE)
    assert versions == [kmsmote.__version__]
    # No other literal copy in the package's Python sources.
    pkg = os.path.join(os.path.dirname(_checkout_file("meson.build")), "kmsmote")
    for name in os.listdir(pkg):
        if name.endswith(".py"):
            with open(os.path.join(pkg, name)) as fh:
                assert not re.search(r"__version__\s*=", fh.read()), name


def test_distribution_ships_the_bsd_license():
    dist = importlib.metadata.distribution("kmsmote")
    assert dist.metadata["License-Expression"] == "BSD-3-Clause"
    assert dist.metadata.get_all("License-File") == ["LICENSE"]
    if dist.files is None:  # no RECORD: an installer that does not keep one
        pytest.skip("the installed kmsmote lists no files (no RECORD)")
    licenses = [f for f in dist.files if f.name == "LICENSE" and f.parent.name == "licenses"]
    assert len(licenses) == 1, dist.files
    text = licenses[0].read_text()
    assert "BSD 3-Clause License" in text and "kmsmote developers" in text


def test_importing_from_the_checkout_says_first_that_the_folder_shadows_the_install(tmp_path):
    # The newcomer's case: kmsmote installed (pip install .), Python started
    # in the clone, so the unbuilt folder comes first on sys.path.
    proc = _import_from_an_unbuilt_copy(tmp_path)
    assert proc.returncode != 0
    message = proc.stderr[proc.stderr.rindex("ImportError: kmsmote's compiled"):]
    lines = message.splitlines()
    assert lines[1].startswith(
        f"kmsmote is probably installed, but Python is importing the unbuilt source folder "
        f"{os.path.realpath(tmp_path / 'kmsmote')} instead, because the current directory "
        f"({os.path.realpath(tmp_path)}) is the checkout. Run Python from another folder (cd ")
    # Then what to do when it really is not built; the editable install
    # gets its build requirements first.
    assert message.index("cd ") < message.index("pip install .")
    requirements = message.index('pip install "meson-python')
    assert requirements < message.index("pip install --no-build-isolation -e .")


def test_build_error_message_names_the_installed_copy_and_the_path_entry(tmp_path):
    from kmsmote._build_check import build_error_message

    (tmp_path / "meson.build").write_text("")
    pkg = str(tmp_path / "kmsmote")
    exc = ImportError("No module named 'kmsmote._generate'")
    text = build_error_message(exc, pkg, str(tmp_path), "kmsmote 1.2.3 in /site-packages")
    assert text.splitlines()[1].startswith(
        "kmsmote is probably installed (kmsmote 1.2.3 in /site-packages), but Python is "
        f"importing the unbuilt source folder {pkg} instead, because the current directory")
    elsewhere = build_error_message(exc, pkg, "/", None)
    assert f"because the checkout ({tmp_path}) is on Python's path" in elsewhere
    # Outside a checkout: reinstall, from an index or from a clone.
    broken = build_error_message(exc, str(tmp_path / "site" / "kmsmote"), "/", None)
    assert ("pip install --force-reinstall kmsmote (from a package index) or "
            "pip install --force-reinstall . (from a clone") in broken


def test_an_import_error_of_another_package_is_not_called_a_build_problem():
    from kmsmote._build_check import raise_build_error

    missing = ModuleNotFoundError("No module named 'numpy'", name="numpy")
    with pytest.raises(ModuleNotFoundError) as info:
        raise_build_error(missing)
    assert info.value is missing
    with pytest.raises(ImportError, match="compiled extensions could not be imported"):
        raise_build_error(ModuleNotFoundError("no _generate", name="kmsmote._generate"))


def test_plot_install_hint_works_from_an_index_and_from_a_clone(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError) as info:
        kmsmote.plot_clusters(None, None, None)
    text = str(info.value)
    assert 'pip install "kmsmote[plot]" (from a package index)' in text
    assert 'pip install ".[plot]" (from a clone of the repository)' in text
