"""``kmsmote.show_config()``: how this copy was built and what it runs on."""

import sys


def _build_info():
    try:
        from . import _build_info as info
    except ImportError:  # pragma: no cover - a source tree without a build
        return {}
    return {
        name.lower(): getattr(info, name)
        for name in ("VERSION", "C_COMPILER", "CYTHON_VERSION", "NUMPY_VERSION",
                     "PYTHON_VERSION", "OPENMP", "BUILD_TYPE", "HOST")
    }


def get_config():
    """The build and runtime configuration as a dict.

    Returns
    -------
    config : dict
        ``build`` (compiler, Cython and NumPy versions the extensions were
        built with, OpenMP on/off, build type), ``runtime`` (threads the
        kernels use by default, SIMD variant, NumPy version) and ``blas``
        (the BLAS libraries loaded, from threadpoolctl).
    """
    import numpy as np
    from threadpoolctl import threadpool_info

    from . import _kmeans, _threads
    from ._threading import resolve_n_threads

    blas = [
        {k: lib.get(k) for k in ("internal_api", "version", "num_threads", "filepath")}
        for lib in threadpool_info()
        if lib.get("user_api") == "blas"
    ]
    return {
        "build": _build_info(),
        "runtime": {
            "python": sys.version.split()[0],
            "numpy": np.__version__,
            "openmp": bool(_threads.openmp_enabled()),
            "default_threads": resolve_n_threads(None),
            "simd": _kmeans.simd_variant(),
        },
        "blas": blas,
    }


def show_config(file=None):
    """Print how kmsmote was built and what it uses at run time.

    Parameters
    ----------
    file : file-like, default=None
        Where to print; standard output by default.
    """
    out = sys.stdout if file is None else file
    config = get_config()
    for section in ("build", "runtime"):
        print(f"{section}:", file=out)
        for key, value in config[section].items():
            print(f"  {key}: {value}", file=out)
    print("blas:", file=out)
    if not config["blas"]:
        print("  (none loaded)", file=out)
    for lib in config["blas"]:
        print(f"  {lib['internal_api']} {lib['version']} "
              f"({lib['num_threads']} threads) {lib['filepath']}", file=out)
