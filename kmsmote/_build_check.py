"""Turn a missing compiled extension into an error that says what to do."""

import os


def raise_build_error(exc):
    """Re-raise ``exc`` (an ImportError) with instructions to build kmsmote."""
    here = os.path.dirname(os.path.abspath(__file__))
    in_source_tree = os.path.exists(os.path.join(os.path.dirname(here), "meson.build"))
    if in_source_tree:
        hint = (
            "It looks like you are importing kmsmote from its source tree, "
            "where the C extensions have not been built. Build and install it "
            "first:\n\n    pip install .\n\nor, for development, an editable "
            "install that rebuilds on import:\n\n    pip install --no-build-isolation -e .\n\n"
            "and run Python from outside the source folder."
        )
    else:
        hint = (
            "The kmsmote installation is incomplete or was built for another "
            "Python; reinstall it with `pip install --force-reinstall kmsmote`."
        )
    raise ImportError(
        f"kmsmote's compiled extensions could not be imported ({exc}).\n{hint}"
    ) from exc
