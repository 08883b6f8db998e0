"""Estimator tags of the samplers.

imbalanced-learn's pipeline and estimator checks read ``sampler_tags`` and
``input_tags.dataframe``; they are declared here so that imbalanced-learn is
not needed at run time.
"""

from dataclasses import dataclass, field

from sklearn.utils._tags import InputTags as _SkInputTags
from sklearn.utils._tags import Tags as _SkTags


@dataclass(slots=True)
class InputTags(_SkInputTags):
    """scikit-learn's input tags plus imbalanced-learn's ``dataframe``."""

    dataframe: bool = False


@dataclass(slots=True)
class SamplerTags:
    """Tags of a sampler: whether it exposes ``sample_indices_``."""

    sample_indices: bool = False


@dataclass(slots=True)
class Tags(_SkTags):
    """scikit-learn's tags plus imbalanced-learn's ``sampler_tags``."""

    sampler_tags: SamplerTags | None = field(default_factory=SamplerTags)
