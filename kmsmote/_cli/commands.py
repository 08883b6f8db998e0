"""The sub-commands: ``resample`` and ``demo``, and the summary they print."""

import os
import shutil

from . import files
from .errors import CLIError, _one_line
from .progress import _Progress
from .options import _estimator_params
from .table import _plain, resample_table


# ---------------------------------------------------------------------------
# Summary.

_MAX_ROWS = 24


def _summary(stats, before, after, out, verbose=False):
    print("class counts before:", before, file=out)
    print("class counts after: ", after, file=out)
    by_class = {}
    for r in stats:
        by_class.setdefault(_plain(r["class"]), []).append(r)
    for cls, records in by_class.items():
        kept = [r for r in records if r["kept"]]
        new = sum(r["n_generated"] for r in kept)
        per = ", ".join(f"{r['cluster']}: {r['n_generated']}" for r in kept)
        print(f"class {cls}: {len(kept)} of {len(records)} non-empty clusters kept, "
              f"{new} new samples (per cluster {per})", file=out)
    shown = stats if verbose or len(stats) <= _MAX_ROWS else [r for r in stats if r["kept"]]
    if not shown:
        return
    width = max(5, *(len(str(_plain(r["class"]))) for r in shown))
    print(f"{'class':>{width}} {'cluster':>7} {'size':>6} {'fraction':>8} {'kept':>5} "
          f"{'weight':>8} {'new':>6}  reason", file=out)
    for r in shown:
        print(f"{str(_plain(r['class'])):>{width}} {r['cluster']:>7} {r['size']:>6} "
              f"{r['class_fraction']:>8.3f} {('yes' if r['kept'] else 'no'):>5} "
              f"{r['weight']:>8.3g} {r['n_generated']:>6}  {r['reason']}", file=out)
    if len(shown) < len(stats):
        print(f"({len(stats) - len(shown)} clusters not kept are not listed: "
              "--verbose lists them, --stats FILE writes every record)", file=out)


def _write_stats(sampler, path, fmt, sep):
    from .._diagnostics import REPORT_COLUMNS, cluster_report

    if files._have("pandas"):
        table = cluster_report(sampler, as_frame=True)
    else:
        import numpy as np

        report = cluster_report(sampler, as_frame=False)
        table = files._Columns([(c, np.asarray(report[c])) for c in REPORT_COLUMNS])
    files._write_table(table, path, fmt, sep)


def _warn(command, messages, err):
    for message in messages:
        print(f"kmsmote {command}: warning: {message}", file=err)


# ---------------------------------------------------------------------------
# Commands.


def _seed_or_draw(args):
    if args.random_state is None:
        # A drawn seed, printed, is one the user can repeat.
        seed = args.random_state = int.from_bytes(os.urandom(4), "little") >> 1
        return f"random_state={seed} (drawn; --random-state {seed} repeats this run)"
    return f"random_state={args.random_state}"


def _cmd_resample(args, out, err):
    plan = files._plan_files(args)
    fmt_in, fmt_out = plan["input"][1], plan["output"][1]
    seed_note = _seed_or_draw(args)
    progress = _Progress(err, enabled=not args.quiet and err.isatty())
    try:
        progress.phase("reading")
        table = files._read_table(args.input, fmt_in, args.sep)
        result = resample_table(
            table, args.target, exclude=args.exclude, mark=args.mark_synthetic,
            categorical=args.categorical, params=_estimator_params(args), progress=progress,
        )
        progress.phase("writing")
        files._write_table(result["table"], args.output, fmt_out, args.sep)
        if args.stats:
            _write_stats(result["sampler"], args.stats, plan["stats"][1], args.sep)
    finally:
        progress.close()
    if args.quiet:
        return 0
    _warn("resample", result["warnings"], err)
    n, n_out = len(table), len(result["table"])
    k = result["sampler"].kmeans_estimator_.n_clusters
    categorical = result["categorical"]
    print(f"kmsmote resample: {args.input} -> {args.output} ({fmt_out}); target "
          f"{args.target!r}, {len(result['features'])} features"
          + (f" ({len(categorical)} categorical: {', '.join(categorical)})" if categorical
             else "")
          + f", {k} clusters, {seed_note}", file=out)
    _summary(result["sampler"].cluster_stats_, result["before"], result["after"], out,
             verbose=args.verbose)
    print(f"wrote {n_out} rows ({n} original + {n_out - n} synthetic); resampling took "
          f"{result['seconds']:.2f} s"
          + (f"; cluster records in {args.stats}" if args.stats else ""), file=out)
    return 0


def _write_demo_data(path, fmt, out):
    if fmt == "csv" and not files._compression(path):
        try:
            shutil.copyfile(files.DEMO_DATA, path)
        except OSError as exc:
            raise CLIError(f"cannot write {str(path)!r}: {_one_line(exc)}") from None
    else:
        files._write_table(files._read_table(files.DEMO_DATA, "csv", ","), path, fmt, ",")
    print(f"wrote the demo data to {path}: 397 rows (breast cancer, Wisconsin diagnostic), "
          f"30 numeric features and the class column {files.DEMO_TARGET!r} (benign 357, "
          f"malignant 40). Try: kmsmote resample {path} --target {files.DEMO_TARGET} "
          "-o balanced.csv", file=out)
    return 0


def _cmd_demo(args, out, err):
    import numpy as np

    plan = files._plan_files(args)
    if args.write_data:
        return _write_demo_data(args.write_data, plan["data"][1], out)
    progress = _Progress(err, enabled=not args.quiet and err.isatty())
    try:
        progress.phase("reading")
        table = files._read_table(files.DEMO_DATA, "csv", ",")
        params = {
            "sampling_strategy": "auto", "random_state": args.random_state,
            "k_neighbors": 2, "n_jobs": None, "kmeans_estimator": args.kmeans_estimator,
            "cluster_balance_threshold": "auto", "density_exponent": "auto",
            "allocation": "ceil",
        }
        result = resample_table(table, files.DEMO_TARGET, params=params, progress=progress)
        if args.output:
            progress.phase("writing")
            files._write_table(result["table"], args.output, plan["output"][1], ",")
        picture = None
        if args.plot and files._have("matplotlib"):
            progress.phase("drawing")
            from .._diagnostics import plot_clusters

            fig = plot_clusters(
                result["sampler"], result["X_res"], result["y_res"],
                title="kmsmote demo: breast cancer (Wisconsin), malignant 10 % minority",
            )
            try:
                fig.savefig(args.plot, dpi=110)
            except Exception as exc:
                raise CLIError(f"cannot write {args.plot!r}: {_one_line(exc)}") from None
            picture = args.plot
    finally:
        progress.close()
    if not args.quiet:
        _warn("demo", result["warnings"], err)
    sampler = result["sampler"]
    n_features = len(result["features"])
    print(f"kmsmote demo: breast cancer (Wisconsin diagnostic; {len(table)} rows x "
          f"{n_features} features, made imbalanced), target {files.DEMO_TARGET!r}, "
          f"{sampler.kmeans_estimator_.n_clusters} clusters, random_state={args.random_state}",
          file=out)
    _summary(sampler.cluster_stats_, result["before"], result["after"], out)
    X, X_res = np.asarray(result["X"]), np.asarray(result["X_res"])
    print(f"resampled {len(X)} -> {len(X_res)} rows in {result['seconds'] * 1e3:.0f} ms; "
          f"original rows unchanged: {bool(np.array_equal(X_res[: len(X)], X))}", file=out)
    if args.output:
        print(f"wrote the resampled data to {args.output}", file=out)
    if picture:
        print(f"picture: {picture} (2-D PCA, coloured by cluster, synthetic rows as crosses)",
              file=out)
    elif args.plot:
        print("no picture: matplotlib is not installed. pip install matplotlib "
              "(or pip install \"kmsmote[plot]\"; from a clone, pip install \".[plot]\") "
              f"and run kmsmote demo again to get {args.plot}.", file=out)
    return 0
