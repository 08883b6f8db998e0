"""Targets and sampling strategies, with imbalanced-learn's semantics.

imbalanced-learn is not a runtime dependency, so the rules that turn
``sampling_strategy`` into a number of samples to generate per class live
here.  The error messages are those of imbalanced-learn 0.14 on purpose: code
that catches them keeps working when it switches to kmsmote.
"""

from collections import OrderedDict
from collections.abc import Mapping
from numbers import Real

import numpy as np
from sklearn.utils import column_or_1d
from sklearn.utils.multiclass import type_of_target

_STRING_STRATEGIES = ("minority", "majority", "not minority", "not majority", "all", "auto")


def is_integer_labels(y):
    """True for a 1-D integer (or bool) ndarray: always a binary or
    multiclass target, so scikit-learn's type checks, which find the
    distinct values with a pass of np.unique, can be skipped."""
    return isinstance(y, np.ndarray) and y.ndim == 1 and y.dtype.kind in "biu"


def check_target_type(y):
    """Return ``(y_1d, was_one_vs_all)`` for a binary/multiclass target.

    A one-vs-all (label-binarized) target is turned into class indices, as the
    reference does; any other multilabel or multioutput target is refused.
    """
    if is_integer_labels(y):
        return y, False
    kind = type_of_target(y)
    if kind == "multilabel-indicator":
        if np.any(y.sum(axis=1) > 1):
            raise ValueError(
                "Imbalanced-learn currently supports binary, multiclass and "
                "binarized encoded multiclasss targets. Multilabel and "
                "multioutput targets are not supported."
            )
        return y.argmax(axis=1), True
    return column_or_1d(y), False


def class_counts(y):
    """Mapping class label -> number of samples, in sorted label order."""
    if is_integer_labels(y) and y.size:
        lo, hi = int(y.min()), int(y.max())
        if hi - lo <= 4 * y.size:
            # Counting by offset is a few times faster than sorting or
            # hashing; the labels keep y's dtype, as np.unique gives them.
            v = y if y.dtype.itemsize == 8 else y.astype(np.intp)
            counts = np.bincount((v - lo if lo else v).astype(np.intp, copy=False))
            present = np.flatnonzero(counts)
            labels = (present + lo).astype(y.dtype)
            return dict(zip(labels, counts[present]))
    labels, counts = np.unique(y, return_counts=True)
    return dict(zip(labels, counts))


def _largest(counts):
    # max() over a dict returns the first key reaching the maximum, in
    # sorted label order: the reference breaks ties the same way.
    return max(counts, key=counts.get)


def _smallest(counts):
    return min(counts, key=counts.get)


def _to_majority(counts, keep):
    n_major = max(counts.values())
    return {label: n_major - n for label, n in counts.items() if keep(label)}


def _from_string(strategy, counts):
    if strategy == "majority":
        raise ValueError(
            "'sampling_strategy'='majority' cannot be used with over-sampler."
        )
    if strategy == "all":
        return _to_majority(counts, lambda label: True)
    if strategy == "minority":
        minority = _smallest(counts)
        return _to_majority(counts, lambda label: label == minority)
    if strategy == "not minority":
        minority = _smallest(counts)
        return _to_majority(counts, lambda label: label != minority)
    # "auto" and "not majority" coincide for an over-sampler.
    majority = _largest(counts)
    return _to_majority(counts, lambda label: label != majority)


def _from_dict(strategy, counts):
    unknown = set(strategy.keys()) - set(counts.keys())
    if unknown:
        raise ValueError(
            f"The {unknown} target class is/are not present in the data."
        )
    if any(n < 0 for n in strategy.values()):
        raise ValueError(
            "The number of samples in a class cannot be negative."
            f"'sampling_strategy' contains some negative value: {strategy}"
        )
    to_generate = {}
    for label, wanted in strategy.items():
        have = counts[label]
        if wanted < have:
            raise ValueError(
                "With over-sampling methods, the number of samples in a class "
                "should be greater or equal to the original number of samples."
                f" Originally, there is {have} samples and {wanted} samples "
                "are asked."
            )
        to_generate[label] = wanted - have
    return to_generate


def _from_float(ratio, counts, target_type):
    if target_type != "binary":
        raise ValueError(
            '"sampling_strategy" can be a float only when the type '
            "of target is binary. For multi-class, use a dict."
        )
    n_major = max(counts.values())
    majority = _largest(counts)
    to_generate = {
        label: int(n_major * ratio - n)
        for label, n in counts.items()
        if label != majority
    }
    if any(n <= 0 for n in to_generate.values()):
        raise ValueError(
            "The specified ratio required to remove samples "
            "from the minority class while trying to "
            "generate new samples. Please increase the "
            "ratio."
        )
    return to_generate


def check_sampling_strategy(sampling_strategy, y):
    """Number of samples to generate per class, as an ordered mapping.

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable
        The user's request; see :class:`kmsmote.KMeansSMOTE`.
    y : ndarray of shape (n_samples,)
        The target.

    Returns
    -------
    OrderedDict
        ``{class label: samples to generate}`` sorted by class label.
    """
    # type_of_target is only needed (and only costs a pass over y) for a float.
    target_type = type_of_target(y) if isinstance(sampling_strategy, Real) else None
    return sampling_strategy_from_counts(
        sampling_strategy, class_counts(y), target_type, lambda: y)


def sampling_strategy_from_counts(sampling_strategy, counts, target_type, get_y):
    """``check_sampling_strategy`` from the class counts.

    ``counts`` maps each class to its number of samples (sorted by label),
    ``target_type`` is ``type_of_target(y)`` (only read for a float
    strategy) and ``get_y()`` returns what a callable strategy receives.
    kmsmote.dask calls it with counts computed by a reduction.
    """
    n_classes = len(counts)
    if n_classes <= 1:
        raise ValueError(
            "The target 'y' needs to have more than 1 class. "
            f"Got {n_classes} class instead"
        )
    if isinstance(sampling_strategy, str):
        if sampling_strategy not in _STRING_STRATEGIES:
            raise ValueError(
                "When 'sampling_strategy' is a string, it needs"
                f" to be one of {_STRING_STRATEGIES}. Got '{sampling_strategy}' "
                "instead."
            )
        result = _from_string(sampling_strategy, counts)
    elif isinstance(sampling_strategy, Mapping):
        result = _from_dict(dict(sampling_strategy), counts)
    elif isinstance(sampling_strategy, list):
        raise ValueError(
            "'sampling_strategy' cannot be a list for samplers "
            "which are not cleaning methods."
        )
    elif isinstance(sampling_strategy, Real):
        if sampling_strategy <= 0 or sampling_strategy > 1:
            raise ValueError(
                "When 'sampling_strategy' is a float, it should be "
                f"in the range (0, 1]. Got {sampling_strategy} instead."
            )
        result = _from_float(sampling_strategy, counts, target_type)
    elif callable(sampling_strategy):
        result = _from_dict(sampling_strategy(get_y()), counts)
    else:
        raise ValueError(
            "'sampling_strategy' should be a float, a str, a dict or a "
            f"callable. Got {sampling_strategy!r} instead."
        )
    return OrderedDict(sorted(result.items()))
