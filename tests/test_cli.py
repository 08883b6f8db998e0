"""The ``kmsmote`` command: resample and demo, end to end on small files."""

import argparse
import io
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
from sklearn.datasets import make_classification

from kmsmote import KMeansSMOTE, NoClusterError
from kmsmote._cli import files as cli_files
from kmsmote._cli import main
from kmsmote._cli.options import _sampling_strategy
from kmsmote._cli.progress import _Progress
from kmsmote._cli.table import _match_strategy, resample_table

pd = pytest.importorskip("pandas")

try:
    import pyarrow  # noqa: F401
except ImportError:  # pragma: no cover
    HAVE_ARROW = False
else:
    HAVE_ARROW = True

SEED = "0"


def _frame(n=300):
    X, y = make_classification(
        n_samples=n, n_features=4, n_informative=3, n_redundant=0,
        n_clusters_per_class=1, weights=[0.85], class_sep=2, random_state=1,
    )
    return pd.DataFrame({
        "id": np.arange(n, dtype=np.int64),
        "x0": X[:, 0],
        "x1": X[:, 1].astype(np.float32),
        "count": np.round(X[:, 2] * 10).astype(np.int64),
        "x3": X[:, 3],
        "name": [f"row{i}" for i in range(n)],
        "label": np.where(y == 1, "rare", "common"),
        "flag": X[:, 0] > 0,
    })


@pytest.fixture
def csv_file(tmp_path):
    path = tmp_path / "in.csv"
    _frame().to_csv(path, index=False)
    return path


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in args], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def resample(path, out_path, *extra):
    return run("resample", path, "--target", "label", "-o", out_path,
               "--exclude", "id", "--exclude", "name", "--exclude", "flag",
               "--random-state", SEED, *extra)


FEATURES = ["x0", "x1", "count", "x3"]


def test_resample_csv_matches_the_library_and_keeps_columns(csv_file, tmp_path):
    out_path = tmp_path / "out.csv"
    code, out, err = resample(csv_file, out_path, "--kmeans-estimator", "8")
    assert code == 0, err
    assert err == ""
    src = pd.read_csv(csv_file)
    res = pd.read_csv(out_path)
    # Same columns, same order, same dtypes as the input read the same way,
    # except carried integer columns, which are missing on synthetic rows.
    assert list(res.columns) == list(src.columns)
    for c in src.columns:
        if c == "id":
            assert res[c].dtype == np.float64
        elif c != "flag":
            assert res[c].dtype == src[c].dtype, c
    n = len(src)
    pd.testing.assert_frame_equal(res.iloc[:n].astype(src.dtypes), src)
    assert res.iloc[n:][["id", "name", "flag"]].isna().all().all()
    # Exactly what KMeansSMOTE gives on the features.
    sampler = KMeansSMOTE(random_state=int(SEED), kmeans_estimator=8)
    X_res, y_res = sampler.fit_resample(src[FEATURES], src["label"])
    np.testing.assert_array_equal(res[FEATURES].to_numpy(), X_res.to_numpy())
    assert res["label"].tolist() == y_res.tolist()
    # The summary.
    before = src["label"].value_counts().to_dict()
    after = y_res.value_counts().to_dict()
    assert f"class counts before: {dict(sorted(before.items()))}" in out
    assert f"class counts after:  {dict(sorted(after.items()))}" in out
    kept = [r for r in sampler.cluster_stats_ if r["kept"]]
    per = ", ".join(f"{r['cluster']}: {r['n_generated']}" for r in kept)
    n_new = len(X_res) - n
    assert (f"class rare: {len(kept)} of {len(sampler.cluster_stats_)} non-empty clusters "
            f"kept, {n_new} new samples (per cluster {per})") in out
    assert "reason" in out and "class fraction below threshold" in out
    assert f"wrote {len(X_res)} rows ({n} original + {n_new} synthetic)" in out
    assert "random_state=0" in out


def test_every_estimator_option_reaches_the_estimator(csv_file, tmp_path):
    out_path = tmp_path / "out.csv"
    code, out, err = resample(
        csv_file, out_path, "--sampling-strategy", "rare:200", "--k-neighbors", "3",
        "--n-jobs", "1", "--kmeans-estimator", "6", "--cluster-balance-threshold", "0.3",
        "--density-exponent", "1.5", "--allocation", "exact",
    )
    assert code == 0, err
    src = pd.read_csv(csv_file)
    sampler = KMeansSMOTE(
        sampling_strategy={"rare": 200}, random_state=0, k_neighbors=3, n_jobs=1,
        kmeans_estimator=6, cluster_balance_threshold=0.3, density_exponent=1.5,
        allocation="exact",
    )
    X_res, _ = sampler.fit_resample(src[FEATURES], src["label"])
    res = pd.read_csv(out_path)
    # A dict gives the count wanted after resampling; "exact" meets it exactly.
    assert (res["label"] == "rare").sum() == 200
    np.testing.assert_array_equal(res[FEATURES].to_numpy(), X_res.to_numpy())


def test_minibatch_clusterer_gives_imbalanced_learns_output(csv_file, tmp_path):
    imblearn = pytest.importorskip("imblearn.over_sampling")
    out_path = tmp_path / "out.csv"
    code, _, err = resample(csv_file, out_path, "--clusterer", "minibatch",
                            "--kmeans-estimator", "5")
    assert code == 0, err
    src = pd.read_csv(csv_file)
    X_ref, _ = imblearn.KMeansSMOTE(random_state=0, kmeans_estimator=5).fit_resample(
        src[FEATURES], src["label"])
    np.testing.assert_array_equal(pd.read_csv(out_path)[FEATURES].to_numpy(), X_ref.to_numpy())


def test_mark_synthetic_stats_and_quiet(csv_file, tmp_path):
    out_path, stats_path = tmp_path / "out.csv", tmp_path / "stats.csv"
    code, out, err = resample(csv_file, out_path, "--mark-synthetic", "synthetic",
                              "--stats", stats_path, "--quiet")
    assert (code, out, err) == (0, "", "")
    res = pd.read_csv(out_path)
    n = len(pd.read_csv(csv_file))
    assert list(res.columns)[-1] == "synthetic"
    assert not res["synthetic"].iloc[:n].any() and res["synthetic"].iloc[n:].all()
    stats = pd.read_csv(stats_path)
    assert stats["n_generated"].sum() == len(res) - n
    assert list(stats.columns)[:3] == ["class", "cluster", "size"]


def test_a_drawn_seed_is_printed_and_repeats_the_run(csv_file, tmp_path):
    code, out, err = run("resample", csv_file, "--target", "label", "-o", tmp_path / "a.csv",
                         "--exclude", "id", "--exclude", "name", "--exclude", "flag",
                         "--cluster-balance-threshold", "0.2")
    assert code == 0, err
    seed = out.split("random_state=")[1].split()[0]
    assert f"--random-state {seed} repeats this run" in out
    code, _, err = run("resample", csv_file, "--target", "label", "-o", tmp_path / "b.csv",
                       "--exclude", "id", "--exclude", "name", "--exclude", "flag",
                       "--cluster-balance-threshold", "0.2", "--random-state", seed)
    assert code == 0, err
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()


@pytest.mark.skipif(not HAVE_ARROW, reason="pyarrow not installed")
def test_parquet_round_trip_keeps_dtypes(tmp_path):
    src = _frame()
    path, out_path = tmp_path / "in.parquet", tmp_path / "out.parquet"
    src.to_parquet(path, index=False)
    code, out, err = resample(path, out_path, "--mark-synthetic", "synthetic")
    assert code == 0, err
    assert "(parquet)" in out
    res = pd.read_parquet(out_path)
    assert list(res.columns) == list(src.columns) + ["synthetic"]
    for c in ["x0", "x1", "count", "x3", "label", "name"]:
        assert res[c].dtype == src[c].dtype, c
    assert res["x1"].dtype == np.float32
    # Carried int and bool columns become nullable so that synthetic rows can be missing.
    assert str(res["id"].dtype) == "Int64" and str(res["flag"].dtype) == "boolean"
    n = len(src)
    assert res["id"].iloc[:n].tolist() == src["id"].tolist()
    assert res["flag"].iloc[:n].tolist() == src["flag"].tolist()
    assert res[["id", "name", "flag"]].iloc[n:].isna().all().all()
    # CSV in, Parquet out: the output name decides.
    csv_path = tmp_path / "in.csv"
    src.to_csv(csv_path, index=False)
    code, out, err = resample(csv_path, tmp_path / "other.parquet")
    assert code == 0, err
    assert len(pd.read_parquet(tmp_path / "other.parquet")) == len(res)
    # The --stats file and the demo's output follow their names too.
    code, _, err = resample(csv_path, tmp_path / "o.csv", "--stats", tmp_path / "s.parquet")
    assert code == 0, err
    stats = pd.read_parquet(tmp_path / "s.parquet")
    assert list(stats.columns)[:3] == ["class", "cluster", "size"]
    code, _, err = run("demo", "--no-plot", "-q", "-o", tmp_path / "demo.parquet")
    assert code == 0, err
    assert len(pd.read_parquet(tmp_path / "demo.parquet")) > 397


def test_parquet_without_pyarrow_is_a_clear_error(tmp_path, monkeypatch):
    real = cli_files._have
    monkeypatch.setattr(cli_files, "_have", lambda m: False if m == "pyarrow" else real(m))
    path = tmp_path / "in.parquet"
    path.write_bytes(b"PAR1")
    code, out, err = run("resample", path, "--target", "label", "-o", tmp_path / "o.parquet")
    assert code == 2
    assert err == ("kmsmote resample: error: reading Parquet needs pyarrow and pandas: "
                   "pip install pyarrow\n")


def test_csv_without_pandas_gives_the_same_output(csv_file, tmp_path, monkeypatch):
    with_pandas = tmp_path / "a.csv"
    assert resample(csv_file, with_pandas)[0] == 0
    real = cli_files._have
    monkeypatch.setattr(cli_files, "_have", lambda m: False if m == "pandas" else real(m))
    without = tmp_path / "b.csv"
    code, out, err = resample(csv_file, without, "--stats", tmp_path / "s.csv")
    assert code == 0, err
    assert "class counts before: {'common': 252, 'rare': 48}" in out
    a, b = pd.read_csv(with_pandas), pd.read_csv(without)
    pd.testing.assert_frame_equal(a, b)
    assert b["count"].dtype == np.int64
    assert len(pd.read_csv(tmp_path / "s.csv")) > 0


def _bad_inputs(tmp_path):
    frame = _frame(60)
    cases = {}

    def write(name, text=None, data=None, binary=None):
        path = tmp_path / name
        if binary is not None:
            path.write_bytes(binary)
        elif text is not None:
            path.write_text(text)
        else:
            data.to_csv(path, index=False)
        return path

    good = write("good.csv", data=frame)
    no_clusters = _frame(300)
    no_clusters["label"] = np.where(np.random.RandomState(0).rand(300) < 0.1, "rare", "common")
    cases["missing file"] = (["resample", tmp_path / "nope.csv", "--target", "label", "-o",
                              tmp_path / "o.csv"], 2, "no such file")
    cases["not utf-8"] = (["resample", write("bin.csv", binary=b"\xff\xfe\x00\x81abc\x00"),
                           "--target", "a", "-o", tmp_path / "o.csv"], 2, "not UTF-8")
    cases["empty file"] = (["resample", write("empty.csv", text=""), "--target", "a", "-o",
                            tmp_path / "o.csv"], 2, "empty.csv'")
    cases["ragged csv"] = (["resample", write("ragged.csv", text="a,b\n1,2\n3,4,5,6\n"),
                            "--target", "a", "-o", tmp_path / "o.csv"], 2, "cannot read")
    cases["header only"] = (["resample", write("header.csv", text="a,b\n"), "--target", "a",
                             "-o", tmp_path / "o.csv"], 2, "no rows")
    cases["not parquet"] = (["resample", write("bad.parquet", text="hello"), "--target", "a",
                             "-o", tmp_path / "o.parquet"], 2, "Parquet")
    cases["unknown format"] = (["resample", write("data.xyz", text="a\n1\n"), "--target", "a",
                                "-o", tmp_path / "o.csv"], 2, "cannot tell the format")
    cases["missing target"] = (["resample", good, "--target", "class", "-o",
                                tmp_path / "o.csv"], 2, "no column 'class'")
    cases["non-numeric feature"] = (["resample", good, "--target", "label", "-o",
                                     tmp_path / "o.csv", "--exclude", "id"], 2,
                                    "non-numeric feature column(s) 'name'")
    holes = frame.copy()
    holes.loc[3, "x0"] = np.nan
    cases["missing feature values"] = (["resample", write("holes.csv", data=holes), "--target",
                                        "label", "-o", tmp_path / "o.csv", "--exclude", "name",
                                        "--exclude", "flag"], 2, "missing values in feature")
    unlabelled = frame.copy()
    unlabelled.loc[5, "label"] = None
    cases["missing target values"] = (["resample", write("unlabelled.csv", data=unlabelled),
                                       "--target", "label", "-o", tmp_path / "o.csv",
                                       "--exclude", "name", "--exclude", "flag"], 2,
                                      "target column 'label' has missing values")
    one = frame.assign(label="common")
    cases["one class"] = (["resample", write("one.csv", data=one), "--target", "label", "-o",
                           tmp_path / "o.csv", "--exclude", "name", "--exclude", "flag"], 2,
                          "single class")
    cases["unknown exclude"] = (["resample", good, "--target", "label", "-o", tmp_path / "o.csv",
                                 "--exclude", "nope"], 2, "--exclude: no column 'nope'")
    cases["unknown class"] = (["resample", good, "--target", "label", "-o", tmp_path / "o.csv",
                               "--exclude", "name", "--exclude", "flag", "--sampling-strategy",
                               "other:10"], 2, "names class 'other'")
    cases["float strategy, 3 classes"] = (
        ["resample", write("three.csv", data=frame.assign(label=np.arange(60) % 3)),
         "--target", "label", "-o", tmp_path / "o.csv", "--exclude", "name", "--exclude",
         "flag", "--sampling-strategy", "0.5"], 2, "binary")
    cases["bad option value"] = (["resample", good, "--target", "label", "-o",
                                  tmp_path / "o.csv", "--k-neighbors", "zero"], 2,
                                 "argument --k-neighbors")
    cases["missing --target"] = (["resample", good, "-o", tmp_path / "o.csv"], 2,
                                 "--target")
    cases["output folder missing"] = (["resample", good, "--target", "label", "-o",
                                       tmp_path / "no" / "o.csv"], 2, "no folder")
    cases["unknown categorical"] = (["resample", good, "--target", "label", "-o",
                                     tmp_path / "o.csv", "--categorical", "nope"], 2,
                                    "--categorical: no column 'nope' in the data")
    cases["categorical target"] = (["resample", good, "--target", "label", "-o",
                                    tmp_path / "o.csv", "--categorical", "label"], 2,
                                   "--categorical: column 'label' is not a feature")
    holes = frame.assign(name=frame["name"].where(np.arange(60) != 7, ""))
    cases["missing categories"] = (["resample", write("holes_cat.csv", data=holes),
                                    "--target", "label", "-o", tmp_path / "o.csv",
                                    "--categorical", "auto"], 2,
                                   "missing values in categorical column(s) 'name'")
    cases["bad choice"] = (["resample", good, "--target", "label", "-o", tmp_path / "o.csv",
                            "--no-cluster-policy", "maybe"], 2,
                           "argument --no-cluster-policy: invalid choice: 'maybe'")
    cases["no cluster qualifies"] = (
        ["resample", write("noclusters.csv", data=no_clusters), "--target", "label", "-o",
         tmp_path / "o.csv", "--exclude", "name", "--exclude", "flag", "--exclude", "id",
         "--random-state", "0"], 1, "No clusters found with sufficient samples of class rare")
    return cases


CASES = [
    "missing file", "not utf-8", "empty file", "ragged csv", "header only", "not parquet",
    "unknown format", "missing target", "non-numeric feature", "missing feature values",
    "missing target values", "one class", "unknown exclude", "unknown class",
    "float strategy, 3 classes", "bad option value", "missing --target",
    "output folder missing", "no cluster qualifies", "unknown categorical",
    "categorical target", "missing categories", "bad choice",
]


@pytest.mark.parametrize("with_pandas", [True, False], ids=["pandas", "no-pandas"])
@pytest.mark.parametrize("case", CASES)
def test_errors_are_one_line_with_an_exit_status(case, with_pandas, tmp_path, monkeypatch):
    if case == "not parquet" and (not HAVE_ARROW or not with_pandas):
        pytest.skip("needs pyarrow and pandas")
    if not with_pandas:
        real = cli_files._have
        monkeypatch.setattr(cli_files, "_have", lambda m: False if m == "pandas" else real(m))
    argv, status, text = _bad_inputs(tmp_path)[case]
    code, out, err = run(*argv)
    assert code == status
    assert out == ""
    assert text in err
    assert len(err.splitlines()) == 1 and err.endswith("\n")
    assert err.startswith("kmsmote resample: error: ")
    assert "Traceback" not in err
    assert not (tmp_path / "o.csv").exists()


def test_errors_through_the_console_entry_point_have_no_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "kmsmote", "resample", str(tmp_path / "nope.csv"),
         "--target", "y", "-o", str(tmp_path / "o.csv")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert proc.stderr == f"kmsmote resample: error: no such file: {str(tmp_path / 'nope.csv')!r}\n"


@pytest.mark.parametrize("text, expected", [
    ("auto", "auto"), ("minority", "minority"), ("Not-Majority", "not majority"),
    ("not_minority", "not minority"), ("all", "all"), ("0.5", 0.5), ("1", 1.0),
    ("a:10,b=20", {"a": 10, "b": 20}), ('{"a": 10, "1": 5}', {"a": 10, "1": 5}),
    ("1:300", {"1": 300}),
])
def test_sampling_strategy_values(text, expected):
    assert _sampling_strategy(text) == expected


@pytest.mark.parametrize("text", ["0", "1.5", "-0.1", "a:-3", "a:1.5", "a", "{bad", "[1, 2]",
                                  ":3", "a:b"])
def test_bad_sampling_strategy_values(text):
    with pytest.raises(argparse.ArgumentTypeError):
        _sampling_strategy(text)


def test_dict_strategy_matches_integer_classes():
    assert _match_strategy({"1": 5}, [0, 1], "y") == {1: 5}
    assert _match_strategy({"1": 5}, [0.0, 1.0], "y") == {1.0: 5}
    assert _match_strategy("auto", [0, 1], "y") == "auto"


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_line_on_a_terminal_is_erased_at_the_end():
    stream = _Terminal()
    progress = _Progress(stream, enabled=True)
    progress.phase("clustering")
    time.sleep(0.5)
    progress.close()
    text = stream.getvalue()
    assert "clustering" in text and " s  (total " in text
    assert text.endswith("\r\033[K")
    assert [name for name, _ in progress.timings] == ["clustering"]


def test_progress_reports_the_phases_and_stays_off_the_pipe(csv_file, tmp_path):
    table = pd.read_csv(csv_file)
    progress = _Progress(io.StringIO(), enabled=False)
    params = {"sampling_strategy": "auto", "random_state": 0, "k_neighbors": 2,
              "n_jobs": None, "kmeans_estimator": None, "cluster_balance_threshold": "auto",
              "density_exponent": "auto", "allocation": "ceil"}
    result = resample_table(table, "label", exclude=["id", "name", "flag"], params=params,
                            progress=progress)
    progress.close()
    assert [n for n, _ in progress.timings] == [
        "resampling", "clustering", "neighbours", "generation"]
    assert progress.stream.getvalue() == ""
    # The phases come through kmsmote.report_phases: nothing is set on the estimator.
    assert "_phase_callback" not in vars(result["sampler"])
    # Through main, a non-terminal stderr gets nothing on success.
    code, _, err = resample(csv_file, tmp_path / "o.csv")
    assert (code, err) == (0, "")


def test_no_cluster_error_is_exit_status_1_whatever_its_text(csv_file, tmp_path, monkeypatch):
    # The command catches the exception class, not a message prefix.
    def fit_resample(self, X, y):
        raise NoClusterError("class 'rare' cannot be over-sampled here")

    monkeypatch.setattr(KMeansSMOTE, "fit_resample", fit_resample)
    code, out, err = resample(csv_file, tmp_path / "o.csv")
    assert (code, out) == (1, "")
    assert err.startswith("kmsmote resample: error: class 'rare' cannot be over-sampled here "
                          "(command-line options: --kmeans-estimator")
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "o.csv").exists()


def test_demo_without_matplotlib_or_pandas(tmp_path, monkeypatch):
    # What `pip install . && kmsmote demo` meets: neither is a dependency.
    real = cli_files._have
    monkeypatch.setattr(cli_files, "_have",
                        lambda m: False if m in ("matplotlib", "pandas") else real(m))
    png = tmp_path / "demo.png"
    code, out, err = run("demo", "--plot", png, "-o", tmp_path / "demo.csv")
    assert code == 0, err
    assert "class counts before: {'benign': 357, 'malignant': 40}" in out
    assert "original rows unchanged: True" in out
    assert "no picture: matplotlib is not installed. pip install matplotlib" in out
    assert not png.exists()
    res = pd.read_csv(tmp_path / "demo.csv")
    assert len(res) > 397 and list(res.columns)[-1] == "diagnosis"


def test_python_m_kmsmote_demo(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "kmsmote", "demo"], cwd=tmp_path,
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    out = proc.stdout
    assert "kmsmote demo: breast cancer (Wisconsin diagnostic; 397 rows x 30 features" in out
    assert "class counts before: {'benign': 357, 'malignant': 40}" in out
    assert "class counts after:  {'benign': 357, 'malignant': " in out
    assert "non-empty clusters kept" in out
    assert "original rows unchanged: True" in out
    png = tmp_path / "kmsmote-demo.png"
    if cli_files._have("matplotlib"):
        assert f"picture: {png.name}" in out
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    else:  # pragma: no cover - depends on the environment
        assert "no picture" in out and not png.exists()


@pytest.mark.skipif(shutil.which("kmsmote") is None, reason="console script not on PATH")
def test_console_script_help():
    proc = subprocess.run(["kmsmote", "resample", "--help"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0
    for option in ("--target", "--exclude", "--sampling-strategy", "--random-state",
                   "--k-neighbors", "--n-jobs", "--kmeans-estimator",
                   "--cluster-balance-threshold", "--density-exponent", "--allocation",
                   "--quiet"):
        assert option in proc.stdout
    assert os.path.basename(shutil.which("kmsmote")) == "kmsmote"


# ---------------------------------------------------------------------------
# Formats are decided and checked at startup (issue 20).


def _without(monkeypatch, *modules):
    real = cli_files._have
    monkeypatch.setattr(cli_files, "_have", lambda m: False if m in modules else real(m))


def _count_reads(monkeypatch):
    reads = []
    real = cli_files._read_table

    def read(*args, **kwargs):
        reads.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(cli_files, "_read_table", read)
    return reads


@pytest.mark.parametrize("missing", ["pandas", "pyarrow"])
@pytest.mark.parametrize("where", ["output", "stats", "demo"])
def test_a_parquet_file_that_cannot_be_written_stops_the_command_before_reading(
        missing, where, csv_file, tmp_path, monkeypatch):
    _without(monkeypatch, missing)
    reads = _count_reads(monkeypatch)
    out_csv, parquet = tmp_path / "out.csv", tmp_path / "x.parquet"
    if where == "output":
        argv = ["resample", csv_file, "--target", "label", "-o", parquet]
    elif where == "stats":
        argv = ["resample", csv_file, "--target", "label", "-o", out_csv, "--stats", parquet]
    else:
        argv = ["demo", "--no-plot", "-o", parquet]
    code, out, err = run(*argv)
    command = argv[0]
    assert (code, out) == (2, "")
    assert err == (f"kmsmote {command}: error: writing Parquet needs pyarrow and pandas: "
                   f"pip install {missing}\n")
    assert reads == []
    assert not parquet.exists() and not out_csv.exists()


def test_a_compressed_csv_without_pandas_stops_the_command_before_reading(
        csv_file, tmp_path, monkeypatch):
    _without(monkeypatch, "pandas")
    reads = _count_reads(monkeypatch)
    code, _, err = run("resample", csv_file, "--target", "label", "-o", tmp_path / "o.csv.gz")
    assert code == 2 and reads == []
    assert "writing to a compressed CSV file" in err and "pip install pandas" in err


@pytest.mark.parametrize("module", ["pandas", "pyarrow"])
def test_parquet_output_in_a_python_without_pandas_or_pyarrow(module, tmp_path):
    # The report, for real: the module cannot be imported at all.
    _frame(60).drop(columns=["name", "flag"]).to_csv(tmp_path / "in.csv", index=False)
    # The probe prints a line if the command reads its input: it must not.
    script = ("import sys; sys.modules[sys.argv[1]] = None\n"
              "from kmsmote import _cli\n"
              "from kmsmote._cli import files\n"
              "real = files._read_table\n"
              "def read(*args):\n"
              "    print('read', args[0])\n"
              "    return real(*args)\n"
              "files._read_table = read\n"
              "sys.exit(_cli.main(sys.argv[2:]))\n")
    proc = subprocess.run(
        [sys.executable, "-c", script, module, "resample", "in.csv", "--target", "label",
         "-o", "out.parquet", "--random-state", "0"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stdout == ""
    assert proc.stderr == ("kmsmote resample: error: writing Parquet needs pyarrow and "
                           f"pandas: pip install {module}\n")
    assert not (tmp_path / "out.parquet").exists()


@pytest.mark.parametrize("argv, message", [
    (["resample", "{csv}", "--target", "label", "-o", "{tmp}/out.xlsx"],
     "cannot tell which format to write to '{tmp}/out.xlsx' ('.xlsx' is neither .csv nor "
     ".parquet): name it .csv or .parquet, or give --output-format csv|parquet"),
    (["resample", "{csv}", "--target", "label", "-o", "{tmp}/out.csv", "--stats",
      "{tmp}/stats.json"], "cannot tell which format to write to '{tmp}/stats.json'"),
    (["demo", "--no-plot", "-o", "{tmp}/out.tsv"], "'.tsv' is neither .csv nor .parquet"),
    (["resample", "{csv}", "--target", "label", "-o", "{tmp}/out.parquet.gz"],
     "a Parquet file is compressed inside, not as a whole: drop the '.gz' suffix"),
    (["resample", "{csv}", "--target", "label", "-o", "{tmp}/out.csv", "--stats",
      "{tmp}/out.csv"], "--stats '{tmp}/out.csv' is also the -o file"),
    (["resample", "{csv}", "--target", "label", "-o", "{csv}"], "is also the input"),
    (["resample", "{csv}", "--target", "label", "-o", "{tmp}/out.csv", "--stats",
      "{tmp}/no/stats.csv"], "no folder"),
])
def test_output_names_that_do_not_say_a_format_we_write_are_refused(
        argv, message, csv_file, tmp_path, monkeypatch):
    reads = _count_reads(monkeypatch)
    before = sorted(p.name for p in tmp_path.iterdir())
    fill = {"csv": str(csv_file), "tmp": str(tmp_path)}
    code, out, err = run(*[a.format(**fill) for a in argv])
    assert (code, out) == (2, "")
    assert message.format(**fill) in err and len(err.splitlines()) == 1
    assert reads == []
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_an_explicit_output_format_writes_that_format_under_any_name(csv_file, tmp_path):
    code, out, err = resample(csv_file, tmp_path / "out.xlsx", "--output-format", "csv")
    assert code == 0, err
    assert f"-> {tmp_path / 'out.xlsx'} (csv)" in out
    assert resample(csv_file, tmp_path / "o.csv")[0] == 0
    assert (tmp_path / "out.xlsx").read_text() == (tmp_path / "o.csv").read_text()


# ---------------------------------------------------------------------------
# The command for a newcomer (issue 20).


def test_version():
    import kmsmote

    assert run("--version") == (0, f"kmsmote {kmsmote.__version__}\n", "")


def test_help_texts_have_no_doubled_percent_signs():
    texts = [run(*argv, "--help") for argv in ([], ["resample"], ["demo"])]
    assert all(code == 0 for code, _, _ in texts)
    assert all("%%" not in out for _, out, _ in texts)
    assert "(malignant: 10 % minority)" in " ".join(texts[2][1].split())


def test_demo_write_data_gives_the_shipped_file(tmp_path, monkeypatch):
    _without(monkeypatch, "pandas")
    code, out, err = run("demo", "--write-data", tmp_path / "cancer.csv")
    assert (code, err) == (0, "")
    with open(cli_files.DEMO_DATA, "rb") as fh:
        assert (tmp_path / "cancer.csv").read_bytes() == fh.read()
    assert f"kmsmote resample {tmp_path / 'cancer.csv'} --target diagnosis" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cancer.csv"]  # no picture


def _no_cluster_frame():
    X, y = make_classification(n_samples=600, n_features=6, weights=[0.96, 0.04],
                               flip_y=0, random_state=1)
    frame = pd.DataFrame(X, columns=[f"f{j}" for j in range(6)])
    frame["label"] = np.where(y == 1, "rare", "common")
    return frame


@pytest.mark.parametrize("options, params, baseline", [
    # Each option changes the result (or, for the policy, makes one possible).
    (["--no-cluster-policy", "smote"], {"no_cluster_policy": "smote"}, None),
    (["--no-cluster-policy", "relax"], {"no_cluster_policy": "relax"}, None),
    (["--kmeans-estimator", "30", "--cluster-balance-threshold", "0.1",
      "--small-clusters", "reduce-k"],
     {"kmeans_estimator": 30, "cluster_balance_threshold": 0.1, "small_clusters": "reduce_k"},
     {"small_clusters": "skip"}),
    (["--kmeans-estimator", "30", "--cluster-balance-threshold", "0.1",
      "--small-clusters", "reduce_k_duplicate"],
     {"kmeans_estimator": 30, "cluster_balance_threshold": 0.1,
      "small_clusters": "reduce_k_duplicate"}, {"small_clusters": "skip"}),
    (["--kmeans-estimator", "3", "--cluster-filter", "imbalance_ratio"],
     {"kmeans_estimator": 3, "cluster_filter": "imbalance_ratio"},
     {"cluster_filter": "fraction", "no_cluster_policy": "smote"}),
    (["--kmeans-estimator", "3", "--cluster-filter", "imbalance-ratio",
      "--density-exponent", "n_features"],
     {"kmeans_estimator": 3, "cluster_filter": "imbalance_ratio",
      "density_exponent": "n_features"}, {"density_exponent": "auto"}),
])
def test_beyond_the_reference_options_reach_the_estimator(options, params, baseline,
                                                          tmp_path):
    import warnings

    frame = _no_cluster_frame()
    frame.to_csv(tmp_path / "in.csv", index=False)
    features = [c for c in frame.columns if c != "label"]
    code, _, err = run("resample", tmp_path / "in.csv", "--target", "label", "-o",
                       tmp_path / "o.csv", "--random-state", "0")
    assert code == 1 and "--no-cluster-policy smote|relax" in err
    code, out, err = run("resample", tmp_path / "in.csv", "--target", "label", "-o",
                         tmp_path / "o.csv", "--random-state", "0", *options)
    assert code == 0, err
    res = pd.read_csv(tmp_path / "o.csv")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        X_res, y_res = KMeansSMOTE(random_state=0, **params).fit_resample(
            frame[features], frame["label"])
    np.testing.assert_array_equal(res[features].to_numpy(), X_res.to_numpy())
    assert res["label"].tolist() == y_res.tolist()
    # The estimator's warnings, one line each on stderr.
    assert err == "".join(f"kmsmote resample: warning: {' '.join(str(w.message).split())}\n"
                          for w in caught)
    if "no_cluster_policy" in params:
        assert err.count("\n") == 1 and f"no_cluster_policy='{params['no_cluster_policy']}'" in err
    if baseline is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            X_base, _ = KMeansSMOTE(random_state=0, **{**params, **baseline}).fit_resample(
                frame[features], frame["label"])
        assert X_base.shape != X_res.shape or not np.array_equal(X_base, X_res)


def _categorical_frame():
    frame = _no_cluster_frame()
    frame["colour"] = np.where(frame.pop("f4") > 0, "red", "blue")
    frame["code"] = np.digitize(frame.pop("f5"), [-1, 0, 1]) * 10
    return frame[["f0", "colour", "f1", "code", "f2", "f3", "label"]]


@pytest.mark.parametrize("with_pandas", [True, False], ids=["pandas", "no-pandas"])
def test_categorical_columns_keep_their_categories(with_pandas, tmp_path, monkeypatch):
    frame = _categorical_frame()
    frame.to_csv(tmp_path / "in.csv", index=False)
    sampler = KMeansSMOTE(random_state=0, kmeans_estimator=1,
                          categorical_features=["colour", "code"])
    X_res, y_res = sampler.fit_resample(frame.drop(columns="label"), frame["label"])
    if not with_pandas:
        _without(monkeypatch, "pandas")
    base = ["resample", tmp_path / "in.csv", "--target", "label", "--random-state", "0",
            "--kmeans-estimator", "1"]
    code, out, err = run(*base, "-o", tmp_path / "named.csv", "--categorical", "colour",
                         "--categorical", "code")
    assert code == 0, err
    assert "6 features (2 categorical: colour, code)" in out
    code, _, err = run(*base, "-o", tmp_path / "auto.csv", "--categorical", "auto",
                       "--categorical", "code")
    assert code == 0, err
    res = pd.read_csv(tmp_path / "named.csv")
    n = len(frame)
    assert len(res) > n
    assert set(res["colour"]) == {"red", "blue"}
    assert set(res["code"]) == set(frame["code"]) and res["code"].dtype == np.int64
    pd.testing.assert_frame_equal(res.iloc[:n], frame)
    pd.testing.assert_frame_equal(res.drop(columns="label"), X_res)
    assert res["label"].tolist() == y_res.tolist()
    assert (tmp_path / "auto.csv").read_text() == (tmp_path / "named.csv").read_text()


# ---------------------------------------------------------------------------
# The command-line page's shell and Python examples run as written (issue 20;
# they moved from the README to docs/cli.md in issue 17).

CLI_DOC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                       "docs", "cli.md")


def _doc_block(heading, language):
    import re

    with open(CLI_DOC, encoding="utf-8") as fh:
        text = fh.read()
    start = text.index(f"\n{heading}\n")
    end = text.index("\n#", start + len(heading) + 2)
    return re.findall(rf"```{language}\n(.*?)```", text[start:end], re.S)[0]


@pytest.mark.skipif(not os.path.exists(CLI_DOC), reason="docs/cli.md is not beside the tests")
def test_cli_page_command_line_and_python_examples_run_as_written(tmp_path, monkeypatch):
    import shlex

    shell = _doc_block("## Resampling a file", "bash").replace("\\\n", " ")
    commands = [shlex.split(line, comments=True) for line in shell.splitlines()]
    commands = [c for c in commands if c]
    assert commands and all(c[0] == "kmsmote" for c in commands)
    for argv in commands:
        proc = subprocess.run([sys.executable, "-m", "kmsmote", *argv[1:]], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, (argv, proc.stderr)
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(_doc_block("## From Python", "python"), CLI_DOC, "exec"), namespace)
    # The two examples read the same file and resample it the same way.
    X_res, y_res = namespace["X_res"], namespace["y_res"]
    command = next(c for c in commands if c[1] == "resample")
    resampled = pd.read_csv(tmp_path / command[command.index("-o") + 1])
    pd.testing.assert_frame_equal(resampled[X_res.columns], X_res)
    assert resampled[y_res.name].tolist() == y_res.tolist()


README = os.path.join(os.path.dirname(os.path.dirname(CLI_DOC)), "README.md")


def _command_lines(shell):
    """The ``kmsmote ...`` lines of shell text, as argv lists."""
    import shlex

    lines = [shlex.split(part, comments=True)
             for line in shell.replace("\\\n", " ").splitlines() for part in line.split("&&")]
    return [argv for argv in lines if argv and argv[0] == "kmsmote"]


USER_GUIDE = os.path.join(os.path.dirname(CLI_DOC), "user-guide.md")


@pytest.mark.skipif(not all(os.path.exists(p) for p in (README, CLI_DOC, USER_GUIDE)),
                    reason="README.md and docs/ are not beside the tests")
def test_readme_command_lines_are_ones_the_tests_run():
    # The README (its Quick start) and the user guide keep a few command
    # lines and link to docs/cli.md: each is `kmsmote demo` (run by
    # test_python_m_kmsmote_demo) or a line of the page's example (run by
    # the test above).
    import re

    blocks = []
    for page in (README, USER_GUIDE):
        with open(page, encoding="utf-8") as fh:
            blocks += re.findall(r"```bash\n(.*?)```", fh.read(), re.S)
    readme = [argv for block in blocks for argv in _command_lines(block)]
    tested = _command_lines(_doc_block("## Resampling a file", "bash")) + [["kmsmote", "demo"]]
    assert readme
    assert [argv for argv in readme if argv not in tested] == []


class _ClosedPipe(io.StringIO):
    """A report stream whose reader went away after the first line, as
    ``kmsmote resample ... | head -1`` leaves it."""

    def write(self, text):
        if self.getvalue().count("\n") >= 1:
            raise BrokenPipeError(32, "Broken pipe")
        return super().write(text)


def test_report_piped_into_a_reader_that_stops_early_still_writes_the_file(tmp_path):
    assert run("demo", "--write-data", tmp_path / "cancer.csv")[0] == 0
    out, err = _ClosedPipe(), io.StringIO()
    target = tmp_path / "balanced.csv"
    code = main(["resample", str(tmp_path / "cancer.csv"), "--target", "diagnosis", "-o",
                 str(target), "--random-state", "0"], out=out, err=err)
    assert code == 0 and err.getvalue() == ""
    assert out.getvalue().count("\n") == 1
    expected_code, _, _ = run("resample", tmp_path / "cancer.csv", "--target", "diagnosis",
                              "-o", tmp_path / "again.csv", "--random-state", "0")
    assert expected_code == 0
    assert target.read_bytes() == (tmp_path / "again.csv").read_bytes()
