"""The command line's parser: the value parsers, the table of KMeansSMOTE
options and the two sub-commands' arguments."""

import argparse
import json
import math
import sys

from .files import DEMO_TARGET

_SAMPLING_WORDS = ("auto", "minority", "not minority", "not majority", "all")


# ---------------------------------------------------------------------------
# Option values.


def _sampling_strategy(text):
    """'auto' and the other words, a float in (0, 1], or a dict of class -> count.

    Dicts are written ``a:100,b:250`` (or ``a=100``) or as a JSON object;
    class names stay strings here and are matched to the target's classes
    once the data is read.
    """
    words = " ".join(text.strip().lower().replace("-", " ").replace("_", " ").split())
    if words in _SAMPLING_WORDS:
        return words
    try:
        value = float(text)
    except ValueError:
        pass
    else:
        if not 0 < value <= 1:
            raise argparse.ArgumentTypeError(
                f"a float sampling strategy is the minority/majority ratio to reach, "
                f"in (0, 1]; got {text}"
            )
        return value
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            pairs = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise argparse.ArgumentTypeError(f"not a JSON object: {exc.msg}") from None
        if not isinstance(pairs, dict):
            raise argparse.ArgumentTypeError("expected a JSON object {class: count}")
        items = [(str(k), v) for k, v in pairs.items()]
    else:
        items = []
        for part in stripped.split(","):
            sep = ":" if ":" in part else "="
            key, found, count = part.rpartition(sep)
            if not found or not key.strip():
                raise argparse.ArgumentTypeError(
                    f"expected one of {', '.join(_SAMPLING_WORDS)}, a float in (0, 1], "
                    f"or class:count pairs such as 'a:100,b:250'; got {text!r}"
                )
            items.append((key.strip(), count.strip()))
    strategy = {}
    for key, count in items:
        try:
            number = int(count)
        except (TypeError, ValueError):
            number = None
        if number is None or number < 0 or str(count).strip() not in (str(number), f"{number}.0"):
            raise argparse.ArgumentTypeError(
                f"the count of class {key!r} must be a non-negative integer; got {count!r}"
            )
        strategy[key] = number
    return strategy


def _auto_or_float(text):
    if text.strip().lower() == "auto":
        return "auto"
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'auto' or a number; got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number; got {text!r}")
    return value


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}")
    return value


def _seed(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer seed; got {text!r}") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"a seed must be in [0, 2**32); got {text!r}")
    return value


def _exponent(text):
    if text.strip().lower().replace("-", "_") == "n_features":
        return "n_features"
    try:
        return _auto_or_float(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected 'auto', 'n_features' or a number; got {text!r}") from None


def _word(text):
    """A choice written with dashes or underscores, in any case: reduce-k == reduce_k."""
    return text.strip().lower().replace("-", "_")


def _n_jobs(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer; got {text!r}") from None
    if value == 0:
        raise argparse.ArgumentTypeError("0 threads has no meaning; use -1 for all cores")
    return value


# ---------------------------------------------------------------------------
# Options.  Every KMeansSMOTE parameter a table user can set, in one place:
# (parameter, argparse keywords).  kmeans_estimator is a number of clusters
# here and clusterer picks its kind; categorical_features is --categorical,
# with the column options.

_ESTIMATOR_OPTIONS = (
    ("sampling_strategy", dict(
        type=_sampling_strategy, default="auto", metavar="S",
        help="auto | minority | 'not minority' | 'not majority' | all | a float in (0, 1] "
             "(binary targets) | the count wanted per class after resampling, "
             "'a:500,b:300' or a JSON object (default: auto)")),
    ("random_state", dict(type=_seed, default=None, metavar="N",
                          help="seed; without it one is drawn and printed")),
    ("k_neighbors", dict(type=_positive_int, default=2, metavar="K",
                         help="same-class neighbours to interpolate with (default: 2)")),
    ("n_jobs", dict(type=_n_jobs, default=None, metavar="N",
                    help="threads (-1: all cores; default: OpenMP's); results do not "
                         "depend on it")),
    ("kmeans_estimator", dict(type=_positive_int, default=None, metavar="K",
                              help="number of clusters (default: 8)")),
    ("clusterer", dict(type=_word, choices=("kmsmote", "minibatch"), default="kmsmote",
                       help="kmsmote.KMeans (default), or scikit-learn's MiniBatchKMeans, "
                            "which gives imbalanced-learn's exact output")),
    ("cluster_balance_threshold", dict(type=_auto_or_float, default="auto", metavar="T",
                                       help="auto or a float (default: auto)")),
    ("density_exponent", dict(type=_exponent, default="auto", metavar="E",
                              help="auto | n_features (the paper's) | a float "
                                   "(default: auto)")),
    ("allocation", dict(type=_word, choices=("ceil", "exact"), default="ceil",
                        help="ceil: imbalanced-learn's rounding; exact: exactly the counts "
                             "asked (default: ceil)")),
    ("no_cluster_policy", dict(
        type=_word, choices=("raise", "smote", "relax"), default="raise",
        help="when no cluster qualifies for a class: raise (exit status 1, the reference's "
             "behaviour), smote (plain SMOTE over the whole class) or relax (lower the "
             "threshold to the best cluster) (default: raise)")),
    ("small_clusters", dict(
        type=_word, choices=("skip", "reduce_k", "reduce_k_duplicate"), default="skip",
        help="clusters with fewer than K+1 class samples: skip them, reduce_k (keep them "
             "with fewer neighbours) or reduce_k_duplicate (also copy single samples) "
             "(default: skip)")),
    ("cluster_filter", dict(
        type=_word, choices=("fraction", "imbalance_ratio"), default="fraction",
        help="the rule that keeps a cluster: the class fraction above the threshold, or "
             "the paper's imbalance ratio below it (default: fraction)")),
)


def _estimator_params(args):
    return {name: getattr(args, name) for name, _ in _ESTIMATOR_OPTIONS}


def _add_estimator_options(p):
    g = p.add_argument_group("KMeansSMOTE parameters (see help(kmsmote.KMeansSMOTE))")
    for name, keywords in _ESTIMATOR_OPTIONS:
        g.add_argument("--" + name.replace("_", "-"), dest=name, **keywords)


class _Parser(argparse.ArgumentParser):
    """argparse, writing to the streams given to :func:`main`."""

    out = err = None

    def _print_message(self, message, file=None):
        if not message:
            return
        if file is None or file is sys.stdout:
            file = self.out or sys.stdout
        else:
            file = self.err or sys.stderr
        file.write(message)

    def error(self, message):
        # One line, like every other error of the command; --help has the usage.
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parser(out, err):
    from .. import __version__

    parser = _Parser(
        prog="kmsmote",
        description="Cluster-aware SMOTE oversampling (KMeans-SMOTE), compiled.",
        epilog="Exit status: 0 ok; 1 resampling impossible with these parameters "
               "(no cluster qualifies); 2 bad usage or input; 130 interrupted.",
    )
    parser.out, parser.err = out, err
    parser.add_argument("--version", action="version", version=f"kmsmote {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    r = sub.add_parser(
        "resample", help="resample a CSV or Parquet file",
        description="Read a table, over-sample its classes with KMeans-SMOTE and write "
                    "the original rows followed by the synthetic rows, in the same format.",
    )
    r.out, r.err = out, err
    r.add_argument("input", metavar="IN", help="a .csv or .parquet file (.csv.gz etc. with pandas)")
    r.add_argument("--target", required=True, metavar="COL", help="the class column")
    r.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="output file: .csv or .parquet (.csv.gz etc. with pandas); a name "
                        "without extension gets the format of IN")
    r.add_argument("--exclude", action="append", default=[], metavar="COL",
                   help="a column to carry through unchanged instead of using it as a "
                        "feature (repeatable); synthetic rows get missing values there")
    r.add_argument("--categorical", action="append", default=[], metavar="COL",
                   help="a feature column of categories (text, boolean or codes; "
                        "repeatable): SMOTE-NC, synthetic rows take a category of their "
                        "neighbours. 'auto': every text and boolean feature column")
    r.add_argument("--mark-synthetic", metavar="COL", default=None,
                   help="add a boolean column COL, true on synthetic rows")
    r.add_argument("--format", type=_word, choices=("csv", "parquet"), default=None,
                   help="format of IN when its name does not say")
    r.add_argument("--output-format", type=_word, choices=("csv", "parquet"), default=None,
                   help="format of OUT when its name does not say")
    r.add_argument("--sep", default=",", help="CSV field separator (default: ,)")
    r.add_argument("--stats", metavar="FILE", default=None,
                   help="also write the per-cluster records (kmsmote.cluster_report) to "
                        "FILE, .csv or .parquet (CSV without extension)")
    r.add_argument("-v", "--verbose", action="store_true",
                   help="list every cluster, not only the kept ones, in large tables")
    r.add_argument("-q", "--quiet", action="store_true",
                   help="print nothing but errors (no progress, summary or warnings)")
    _add_estimator_options(r)

    d = sub.add_parser(
        "demo", help="resample shipped data, print what happened and draw it",
        description="Resample the shipped breast-cancer data (malignant: 10 % minority), "
                    "print the summary and draw the clusters to a PNG (needs matplotlib).",
    )
    d.out, d.err = out, err
    d.add_argument("--plot", default="kmsmote-demo.png", metavar="PNG",
                   help="picture to write (default: kmsmote-demo.png)")
    d.add_argument("--no-plot", dest="plot", action="store_const", const=None,
                   help="do not draw")
    files = d.add_mutually_exclusive_group()
    files.add_argument("-o", "--output", default=None, metavar="OUT",
                       help="also write the resampled data (.csv or .parquet)")
    files.add_argument("--write-data", default=None, metavar="FILE",
                       help="write the demo's input data (397 rows, class column "
                            f"{DEMO_TARGET!r}) to FILE, .csv or .parquet, and stop: a real "
                            "file to try kmsmote resample on")
    d.add_argument("--output-format", type=_word, choices=("csv", "parquet"), default=None,
                   help="format of OUT when its name does not say")
    d.add_argument("--kmeans-estimator", type=_positive_int, default=None, metavar="K",
                   help="number of clusters (default: 8)")
    d.add_argument("--random-state", type=_seed, default=42, metavar="N",
                   help="seed (default: 42)")
    d.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    return parser
