"""OpenMP introspection of the compiled core."""

from kmsmote._kms cimport kms_max_threads, kms_openmp_enabled


def openmp_enabled():
    """Return True if the C core was built with OpenMP."""
    return bool(kms_openmp_enabled())


def max_threads():
    """Return the number of threads OpenMP would use by default (1 without OpenMP)."""
    return int(kms_max_threads())
