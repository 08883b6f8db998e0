"""Turn a missing compiled extension into an error that says what to do."""

import os
from importlib.metadata import PackageNotFoundError, distribution

# The build requirements of pyproject.toml, for an editable install without
# build isolation (which needs them present).
_BUILD_REQUIREMENTS = '"meson-python>=0.18" "meson>=1.4" ninja "Cython>=3.0.10" "numpy>=2.0"'


def _installed_elsewhere(root):
    """'kmsmote X.Y.Z in FOLDER' for an installed kmsmote outside ``root``, else None."""
    try:
        dist = distribution("kmsmote")
    except PackageNotFoundError:
        return None
    where = os.path.abspath(str(dist.locate_file("")))
    if os.path.realpath(where) == os.path.realpath(root):
        return None
    return f"kmsmote {dist.version} in {where}"


def build_error_message(exc, package_dir, cwd, installed=None):
    """The message for ``exc``, an ImportError of a compiled extension of the
    package folder ``package_dir``, with ``cwd`` the current directory and
    ``installed`` a description of an installed kmsmote found elsewhere."""
    root = os.path.dirname(package_dir)
    head = f"kmsmote's compiled extensions could not be imported ({exc})."
    if not os.path.exists(os.path.join(root, "meson.build")):
        return (
            f"{head}\nThe kmsmote installation in {package_dir} is incomplete or was "
            "built for another Python; reinstall it: pip install --force-reinstall "
            'kmsmote (from a package index) or pip install --force-reinstall . (from a '
            "clone of the repository)."
        )
    if os.path.realpath(cwd) == os.path.realpath(root):
        why = f"because the current directory ({cwd}) is the checkout"
    else:
        why = f"because the checkout ({root}) is on Python's path (sys.path, PYTHONPATH)"
    found = f" ({installed})" if installed else ""
    return (
        f"{head}\n"
        f"kmsmote is probably installed{found}, but Python is importing the unbuilt "
        f"source folder {package_dir} instead, {why}. Run Python from another folder "
        "(cd to any folder outside the checkout) and import kmsmote again.\n"
        "If kmsmote is not installed yet, build and install it from the checkout:\n\n"
        "    pip install .\n\n"
        "or, for development, an editable install that rebuilds on import and also "
        "works from the checkout (it needs the build requirements first):\n\n"
        f"    pip install {_BUILD_REQUIREMENTS}\n"
        "    pip install --no-build-isolation -e .\n"
    )


def raise_build_error(exc):
    """Re-raise ``exc`` (an ImportError) with instructions to build kmsmote.

    An ImportError of another package (numpy missing, say) is not a build
    problem of kmsmote: it is raised unchanged.
    """
    name = getattr(exc, "name", None)
    if name and name != "kmsmote" and not name.startswith("kmsmote."):
        raise exc
    here = os.path.dirname(os.path.abspath(__file__))
    installed = None
    if os.path.exists(os.path.join(os.path.dirname(here), "meson.build")):
        installed = _installed_elsewhere(os.path.dirname(here))
    raise ImportError(
        build_error_message(exc, here, os.getcwd(), installed), name=name
    ) from exc
