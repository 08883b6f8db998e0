"""Diagnostics of a fitted KMeansSMOTE: what happened in every cluster.

``cluster_report`` turns ``cluster_stats_`` into a table, ``resampled_clusters``
gives the cluster of every row that ``fit_resample`` returned, and
``plot_clusters`` draws both (matplotlib, optional).
"""

import numpy as np

__all__ = ["cluster_report", "resampled_clusters", "plot_clusters"]

# Column order of the report: the keys of ``cluster_stats_``.
REPORT_COLUMNS = (
    "class", "cluster", "size", "class_count", "class_fraction", "threshold",
    "kept", "reason", "mean_distance", "log_sparsity", "weight", "n_generated",
)
_INT_COLUMNS = ("cluster", "size", "class_count", "n_generated")
_FLOAT_COLUMNS = ("class_fraction", "threshold", "mean_distance", "log_sparsity", "weight")


def _stats(sampler):
    stats = getattr(sampler, "cluster_stats_", None)
    if stats is None:
        raise ValueError(
            f"{type(sampler).__name__} has no cluster_stats_: call fit_resample "
            "first (kmsmote.KMeansSMOTE records what it did in every cluster)."
        )
    return stats


def _have_pandas():
    try:
        import pandas  # noqa: F401
    except ImportError:
        return False
    return True


def cluster_report(sampler, *, as_frame="auto"):
    """What a fitted KMeansSMOTE did in every cluster, one row per class and cluster.

    Parameters
    ----------
    sampler : KMeansSMOTE
        A :class:`kmsmote.KMeansSMOTE` after ``fit_resample``.
    as_frame : {"auto", True, False}, default="auto"
        ``"auto"``: a pandas DataFrame when pandas is installed, otherwise a
        NumPy structured array; ``True``: a DataFrame (pandas required);
        ``False``: a structured array.

    Returns
    -------
    report : pandas.DataFrame or numpy structured ndarray of shape (n_records,)
        The records of ``sampler.cluster_stats_`` in their order (by class,
        then cluster; only non-empty clusters), with columns

        - ``class``: the class being over-sampled;
        - ``cluster``: the cluster index;
        - ``size``: rows of any class in the cluster;
        - ``class_count``: rows of ``class`` in the cluster;
        - ``class_fraction``: ``class_count / size``;
        - ``threshold``: the ``cluster_balance_threshold`` the fraction was
          compared with;
        - ``kept``: whether the cluster received synthetic samples;
        - ``reason``: ``"kept"``, or why not;
        - ``mean_distance``: mean pairwise distance of the class rows (NaN
          when not kept);
        - ``log_sparsity``: ``log(mean_distance ** exponent / class_count)``;
        - ``weight``: the cluster's share of the class's new samples;
        - ``n_generated``: synthetic rows made in the cluster.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from kmsmote import KMeansSMOTE
    >>> from kmsmote import cluster_report
    >>> X, y = make_classification(n_classes=2, class_sep=2, weights=[0.1, 0.9],
    ...     n_informative=3, n_redundant=1, flip_y=0, n_features=20,
    ...     n_clusters_per_class=3, n_samples=1000, random_state=10)
    >>> sampler = KMeansSMOTE(random_state=42, kmeans_estimator=10)
    >>> X_res, y_res = sampler.fit_resample(X, y)
    >>> report = cluster_report(sampler, as_frame=False)
    >>> int(report["n_generated"].sum()) == len(X_res) - len(X)
    True
    >>> bool(report["kept"].any())
    True
    """
    if as_frame not in ("auto", True, False):
        raise ValueError(f"as_frame must be 'auto', True or False; got {as_frame!r}.")
    stats = _stats(sampler)
    if as_frame is True and not _have_pandas():
        raise ImportError(
            "cluster_report(as_frame=True) needs pandas: pip install pandas "
            "(or pass as_frame=False for a NumPy structured array)."
        )
    if as_frame is True or (as_frame == "auto" and _have_pandas()):
        import pandas as pd

        frame = pd.DataFrame({
            name: [record[name] for record in stats] for name in REPORT_COLUMNS
        })
        if not stats:
            frame = frame.astype({name: "int64" for name in _INT_COLUMNS}
                                 | {name: "float64" for name in _FLOAT_COLUMNS}
                                 | {"kept": "bool"})
        return frame
    classes = np.asarray([record["class"] for record in stats])
    reasons = [record["reason"] for record in stats]
    width = max([len(r) for r in reasons], default=1)
    dtype = [("class", classes.dtype if stats else np.int64)]
    for name in REPORT_COLUMNS[1:]:
        if name in _INT_COLUMNS:
            dtype.append((name, np.int64))
        elif name in _FLOAT_COLUMNS:
            dtype.append((name, np.float64))
        elif name == "kept":
            dtype.append((name, np.bool_))
        else:
            dtype.append((name, f"<U{width}"))
    report = np.empty(len(stats), dtype=dtype)
    for name in REPORT_COLUMNS:
        report[name] = [record[name] for record in stats]
    return report


def resampled_clusters(sampler, n_original=None):
    """Cluster of every row of ``fit_resample``'s output, and which rows are synthetic.

    ``fit_resample`` returns the original rows first, then the synthetic
    rows by sorted class and, within a class, by cluster index, in the order
    of the kept records of ``cluster_stats_``.  Original rows take their
    cluster from the fitted clusterer's ``labels_``.

    Parameters
    ----------
    sampler : KMeansSMOTE
        A :class:`kmsmote.KMeansSMOTE` after ``fit_resample``.
    n_original : int, default=None
        Number of rows passed to ``fit_resample``.  Needed only when the
        clusterer exposes no ``labels_`` (or nothing was generated, so that
        no clusterer was fitted); the original rows then get cluster ``-1``.

    Returns
    -------
    clusters : ndarray of shape (n_samples_new,), int64
        Cluster index of each row.  With a user-supplied clusterer that is
        refitted per class (no integer ``random_state``), these are the
        clusters of the last fit.
    synthetic : ndarray of shape (n_samples_new,), bool
        True for the rows that ``fit_resample`` created.
    """
    stats = _stats(sampler)
    labels = getattr(getattr(sampler, "kmeans_estimator_", None), "labels_", None)
    if labels is not None:
        original = np.asarray(labels, dtype=np.int64)
        if n_original is not None and int(n_original) != original.size:
            raise ValueError(
                f"n_original={n_original} but the clusterer labelled {original.size} rows."
            )
    elif n_original is not None:
        original = np.full(int(n_original), -1, dtype=np.int64)
    else:
        raise ValueError(
            "The fitted clusterer has no labels_: pass n_original (the number "
            "of rows given to fit_resample); original rows then get cluster -1."
        )
    synthetic_clusters = np.repeat(
        np.array([r["cluster"] for r in stats if r["kept"]], dtype=np.int64),
        np.array([r["n_generated"] for r in stats if r["kept"]], dtype=np.int64),
    )
    clusters = np.concatenate([original, synthetic_clusters])
    synthetic = np.zeros(clusters.size, dtype=bool)
    synthetic[original.size:] = True
    return clusters, synthetic


def _project(X, synthetic, standardize, random_state):
    """2-D PCA fitted on the original rows; ``standardize`` scales features first."""
    from scipy import sparse
    from sklearn.decomposition import PCA, TruncatedSVD

    if sparse.issparse(X):
        model = TruncatedSVD(n_components=2, random_state=random_state)
        model.fit(X[np.flatnonzero(~synthetic)])
        return model.transform(X), "SVD"
    X = np.asarray(X, dtype=np.float64)
    if X.shape[1] == 1:
        return np.column_stack([X[:, 0], np.zeros(X.shape[0])]), "feature"
    fit_rows = X[~synthetic]
    if standardize:
        center = fit_rows.mean(axis=0)
        scale = fit_rows.std(axis=0)
        scale[scale == 0] = 1.0
        X = (X - center) / scale
        fit_rows = X[~synthetic]
    pca = PCA(n_components=2, random_state=random_state).fit(fit_rows)
    return pca.transform(X), "PC"


def plot_clusters(sampler, X_resampled, y_resampled, *, standardize=True, max_points=20000,
         random_state=0, title=None, figsize=(12.0, 5.0)):
    """Draw the resampled data in 2-D by cluster, and why each cluster was kept.

    Left: the rows projected on their first two principal components (fitted
    on the original rows), coloured by cluster; original rows of the
    over-sampled classes are filled circles, rows of other classes faint
    dots, synthetic rows crosses.  Right: the class fraction of every
    (class, cluster) record against the threshold, with the number of
    samples generated.

    Parameters
    ----------
    sampler : KMeansSMOTE
        A :class:`kmsmote.KMeansSMOTE` after ``fit_resample``.
    X_resampled : {array-like, sparse matrix} of shape (n_samples_new, n_features)
        The first output of ``fit_resample``.
    y_resampled : array-like of shape (n_samples_new,)
        The second output of ``fit_resample``.
    standardize : bool, default=True
        Scale every feature to unit variance (over the original rows) before
        the projection, so that large-valued features do not fill the picture
        alone.  The resampling itself is not affected.
    max_points : int, default=20000
        Draw at most this many rows (a seeded random subset) of each kind.
    random_state : int, default=0
        Seed of the subset and the projection.
    title : str, default=None
        Figure title.
    figsize : tuple of float, default=(12.0, 5.0)
        Figure size in inches.

    Returns
    -------
    fig : matplotlib.figure.Figure
        Save it with ``fig.savefig("clusters.png")``.  Created without
        pyplot, so nothing is shown and no global state is touched.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(
            "plot_clusters needs matplotlib: pip install matplotlib, or "
            'pip install "kmsmote[plot]" (from a package index) or '
            'pip install ".[plot]" (from a clone of the repository).'
        ) from exc
    import matplotlib as mpl

    stats = _stats(sampler)
    y = np.asarray(y_resampled)
    n_rows = X_resampled.shape[0]
    if y.shape[0] != n_rows:
        raise ValueError(
            f"X_resampled has {n_rows} rows but y_resampled has {y.shape[0]}."
        )
    n_new = sum(r["n_generated"] for r in stats if r["kept"])
    clusters, synthetic = resampled_clusters(sampler, n_original=n_rows - n_new)
    if clusters.size != n_rows:
        raise ValueError(
            f"X_resampled has {n_rows} rows; the sampler's records describe "
            f"{clusters.size}. Pass the output of this sampler's last fit_resample."
        )
    if hasattr(X_resampled, "to_numpy"):
        X_resampled = X_resampled.to_numpy(dtype=np.float64)
    points, axis_name = _project(X_resampled, synthetic, standardize, random_state)
    oversampled = np.isin(y, np.asarray([r["class"] for r in stats if r["kept"]], dtype=y.dtype))

    rng = np.random.RandomState(random_state)

    def subset(mask):
        rows = np.flatnonzero(mask)
        if rows.size > max_points:
            rows = np.sort(rng.choice(rows, max_points, replace=False))
        return rows

    # Qualitative colours without the greys, which mark "not kept" and the legend.
    n_clusters = int(max(clusters.max(initial=-1) + 1, 1))
    if n_clusters <= 9:
        palette = [c for i, c in enumerate(mpl.colormaps["tab10"].colors) if i != 7]
    else:
        palette = [c for i, c in enumerate(mpl.colormaps["tab20"].colors) if i not in (14, 15)]

    def colour(c):
        return palette[int(c) % len(palette)] if c >= 0 else (0.5, 0.5, 0.5)

    fig = Figure(figsize=figsize, layout="constrained")
    ax, bars = fig.subplots(1, 2, width_ratios=[3, 2])

    other = subset(~synthetic & ~oversampled)
    ax.scatter(points[other, 0], points[other, 1], s=6, alpha=0.25,
               c=[colour(c) for c in clusters[other]], linewidths=0)
    orig = subset(~synthetic & oversampled)
    ax.scatter(points[orig, 0], points[orig, 1], s=28, alpha=0.9,
               c=[colour(c) for c in clusters[orig]], edgecolors="black", linewidths=0.6)
    synth = subset(synthetic)
    ax.scatter(points[synth, 0], points[synth, 1], s=22, alpha=0.8, marker="x",
               c=[colour(c) for c in clusters[synth]], linewidths=1.0)

    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], ls="", marker="o", ms=4, alpha=0.4, color="grey",
               label="original, other classes"),
        Line2D([], [], ls="", marker="o", ms=6, mfc="grey", mec="black",
               label="original, over-sampled class"),
        Line2D([], [], ls="", marker="x", ms=6, color="grey", label="synthetic"),
    ]
    for r in stats:
        if r["kept"]:
            handles.append(Line2D([], [], ls="", marker="s", ms=7, color=colour(r["cluster"]),
                                  label=f"cluster {r['cluster']}: +{r['n_generated']} "
                                        f"(class {r['class']})"))
    ax.legend(handles=handles, fontsize=8, loc="best", framealpha=0.85)
    if axis_name == "PC":
        note = " (standardized features)" if standardize else ""
        ax.set_xlabel("principal component 1" + note)
        ax.set_ylabel("principal component 2")
    elif axis_name == "SVD":
        ax.set_xlabel("SVD component 1")
        ax.set_ylabel("SVD component 2")
    else:
        ax.set_xlabel("feature 0")
        ax.set_yticks([])
    ax.set_title("rows by cluster (colour); synthetic rows ×")

    labels = [f"{r['class']} / {r['cluster']}" for r in stats]
    pos = np.arange(len(stats))[::-1]
    bars.barh(pos, [r["class_fraction"] for r in stats],
              color=[colour(r["cluster"]) if r["kept"] else (0.85, 0.85, 0.85)
                     for r in stats],
              edgecolor="black", linewidth=0.4)
    for p, r in zip(pos, stats):
        bars.plot([r["threshold"]] * 2, [p - 0.45, p + 0.45], color="black", lw=1.2)
        text = f"+{r['n_generated']}" if r["kept"] else r["reason"]
        bars.text(1.02, p, text, va="center", fontsize=7,
                  transform=bars.get_yaxis_transform())
    bars.set_yticks(pos, labels, fontsize=7 if len(stats) > 20 else 8)
    bars.set_xlim(0, 1)
    bars.set_xlabel("class fraction in cluster (black tick: threshold)")
    bars.set_ylabel("class / cluster")
    bars.set_title("kept clusters coloured; samples generated")
    if title:
        fig.suptitle(title)
    return fig
