"""kmsmote: fast, compiled, drop-in KMeans-SMOTE oversampling.

``from kmsmote import KMeansSMOTE`` replaces
``from imblearn.over_sampling import KMeansSMOTE``: same parameters, same
results, a C core instead of quadratic distance matrices.
"""

import os

try:
    from . import _generate, _kmeans, _neighbors, _threads  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised from a source tree
    from ._build_check import raise_build_error

    raise_build_error(exc)

from ._config import get_config, show_config
from ._diagnostics import cluster_report, plot_clusters, resampled_clusters
from ._errors import NoClusterError
from ._kmeans_estimator import KMeans
from ._kmeans_smote import KMeansSMOTE
from ._progress import report_phases

# Written once, in meson.build's project(); the build copies it here and into
# the distribution's metadata.
from ._build_info import VERSION as __version__

__all__ = [
    "KMeans",
    "KMeansSMOTE",
    "NoClusterError",
    "cluster_report",
    "get_config",
    "get_include",
    "plot_clusters",
    "report_phases",
    "resampled_clusters",
    "show_config",
    "__version__",
]


def get_include():
    """Folder holding kmsmote's public C headers.

    Add it to the include path of a C or Cython extension and write
    ``#include "kmsmote/kms_kmeans.h"`` (and the other ``kms_*.h`` headers).

    Returns
    -------
    path : str
        Absolute path of the ``include`` folder inside the installed package.
    """
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "include")
