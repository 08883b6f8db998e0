"""Ctrl-C latency of KMeansSMOTE.fit_resample on 3,000,000 x 20 rows.

The C kernels run without the GIL and poll for signals at chunk
boundaries; this benchmark checks that a SIGINT turns into a
KeyboardInterrupt within a second wherever it lands: in clustering, in the
neighbour searches or in the generation of the synthetic rows.

1. A dry run (child process) times the phases: every kernel call is
   wrapped to log its start and end (time.monotonic is system-wide, so the
   parent can compare it with its own clock).
2. For each target, a fresh child starts fit_resample and the parent sends
   SIGINT at a chosen time into a chosen kernel call (the child announces
   when that call starts, so that the target stays in its phase however
   the speed of the machine varies); the child reports when the
   KeyboardInterrupt reached it.  The phase (and kernel) running at the
   signal is read from the child's call log.
3. After the interrupt, each child checks that it is still healthy: no
   extra Python threads, and a second fit_resample (on the first 300,000
   rows) in the same process gives exactly the result of the dry run's.

Prints a table and exits non-zero if a latency reaches --limit seconds (1 by
default), if a child was not interrupted or if a post-interrupt check
failed.

Usage: python bench/interrupt.py [--rows N] [--delays S,S,...] [--n-jobs J]
The data is cached in bench/results/data/ (git-ignored).
"""

import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DATA = HERE / "results" / "data"
CHECK_ROWS = 300_000

# Kernels whose calls delimit the phases.
PHASE_OF = {
    "_kmeans.kmeans_plusplus": "clustering",
    "_kmeans.lloyd": "clustering",
    "_kmeans.assign": "clustering",
    "_neighbors.knn_sparsity": "neighbours",
    "_generate.generate": "generation",
}


def load_data(n_rows):
    """X, y of make_classification(n_rows), cached as .npy."""
    DATA.mkdir(parents=True, exist_ok=True)
    fx = DATA / f"interrupt_X_{n_rows}.npy"
    fy = DATA / f"interrupt_y_{n_rows}.npy"
    if not (fx.exists() and fy.exists()):
        from sklearn.datasets import make_classification

        X, y = make_classification(
            n_samples=n_rows, n_features=20, n_informative=10, weights=[0.9, 0.1],
            n_clusters_per_class=3, random_state=0,
        )
        np.save(fx, X)
        np.save(fy, y)
    return np.load(fx), np.load(fy)


# -- child ------------------------------------------------------------------


def _instrument(log, anchor=None):
    """Wrap the kernels so that every call appends (name, start, end) to
    log.  anchor = (name, index, edge): when call number `index` of kernel
    `name` starts (edge "enter") or returns ("exit"), print "AIM <time>" so
    that the parent can time its signal from there."""
    import kmsmote._generate
    import kmsmote._kmeans
    import kmsmote._neighbors

    mods = {"_kmeans": kmsmote._kmeans, "_neighbors": kmsmote._neighbors,
            "_generate": kmsmote._generate}
    count = dict.fromkeys(PHASE_OF, 0)

    def announce():
        sys.stdout.write(f"AIM {time.monotonic()!r}\n")
        sys.stdout.flush()

    for full in PHASE_OF:
        mod_name, fn_name = full.split(".")
        mod = mods[mod_name]
        fn = getattr(mod, fn_name)

        def wrapped(*args, _fn=fn, _name=full, **kwargs):
            index = count[_name]
            count[_name] += 1
            hit = anchor is not None and anchor[:2] == (_name, index)
            entry = [_name, time.monotonic(), None]
            log.append(entry)
            if hit and anchor[2] == "enter":
                announce()
            try:
                return _fn(*args, **kwargs)
            finally:
                entry[2] = time.monotonic()
                if hit and anchor[2] == "exit":
                    announce()

        setattr(mod, fn_name, wrapped)


def _fingerprint(X_res, y_res):
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(X_res).tobytes())
    h.update(np.ascontiguousarray(y_res).tobytes())
    return f"{X_res.shape}:{h.hexdigest()[:16]}"


def _rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _os_threads():
    return len(os.listdir("/proc/self/task"))


def child(mode, n_rows, n_jobs, aim):
    import kmsmote

    X, y = load_data(n_rows)
    log = []
    anchor = None
    if aim:
        name, index, edge = aim.split(":")
        anchor = (name, int(index), edge)
    _instrument(log, anchor)

    def make():
        return kmsmote.KMeansSMOTE(kmeans_estimator=20, cluster_balance_threshold=0.0,
                                   random_state=0, n_jobs=n_jobs)

    out = {"mode": mode, "rss_before_mib": _rss_mib(), "os_threads_before": _os_threads()}
    sys.stdout.write(f"READY {time.monotonic()!r}\n")
    sys.stdout.flush()
    t0 = time.monotonic()
    out["t_start"] = t0
    try:
        X_res, y_res = make().fit_resample(X, y)
        out["t_end"] = time.monotonic()
        out["interrupted"] = False
        out["shape"] = list(X_res.shape)
        del X_res, y_res
    except KeyboardInterrupt as exc:
        out["t_caught"] = time.monotonic()
        out["interrupted"] = True
        out["message"] = str(exc)
        tb = exc.__traceback__
        while tb.tb_next is not None:
            tb = tb.tb_next
        out["raised_in"] = f"{Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno}"
    # A signal that comes after the fit (a delay past its end) must not hit
    # the health checks below.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out["calls"] = [[name, a - t0, (b - t0) if b is not None else None]
                    for name, a, b in log]
    # Health after the (possible) interrupt.
    import gc

    gc.collect()
    out["rss_after_mib"] = _rss_mib()
    out["py_threads"] = threading.active_count()
    out["os_threads_after"] = _os_threads()
    del log[:]
    X_res, y_res = make().fit_resample(X[:CHECK_ROWS], y[:CHECK_ROWS])
    out["second_fit"] = _fingerprint(X_res, y_res)
    out["os_threads_end"] = _os_threads()
    sys.stdout.write("RESULT " + json.dumps(out) + "\n")
    sys.stdout.flush()


# -- parent -----------------------------------------------------------------


def spawn(mode, args, aim=""):
    cmd = [sys.executable, __file__, "--child", mode, "--rows", str(args.rows)]
    if args.n_jobs is not None:
        cmd += ["--n-jobs", str(args.n_jobs)]
    if aim:
        cmd += ["--aim", aim]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, bufsize=1)


def wait_aim(proc):
    for line in proc.stdout:
        if line.startswith("AIM "):
            return float(line.split()[1])
    raise RuntimeError(f"child exited before its anchor, status {proc.wait()}")


def wait_ready(proc):
    for line in proc.stdout:
        if line.startswith("READY "):
            return float(line.split()[1])
    raise RuntimeError(f"child exited early with status {proc.wait()}")


def read_result(proc, timeout):
    deadline = time.monotonic() + timeout
    result = None
    for line in proc.stdout:
        if line.startswith("RESULT "):
            result = json.loads(line[7:])
        if time.monotonic() > deadline:
            break
    rc = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    if result is None:
        raise RuntimeError(f"child gave no result (exit status {rc})")
    return result


def phases(calls, t_total):
    """[start, end) of each phase relative to the start of fit_resample."""
    spans = {}
    for name, a, b in calls:
        ph = PHASE_OF[name]
        lo, hi = spans.get(ph, (a, b))
        spans[ph] = (min(lo, a), max(hi, b if b is not None else a))
    # Clustering includes the input checks before the first kernel.
    if "clustering" in spans:
        spans["clustering"] = (0.0, spans["clustering"][1])
    spans["total"] = (0.0, t_total)
    return spans


def where(calls, t):
    """Phase and kernel (or Python between kernels) running at time t."""
    for name, a, b in calls:
        if a <= t and (b is None or t < b):
            return PHASE_OF[name], name.split(".")[1]
    prev = [c for c in calls if c[2] is not None and c[2] <= t]
    if not prev:
        return "input checks", "python"
    return f"after {PHASE_OF[prev[-1][0]]}", "python"


def auto_targets(calls, spans):
    """(anchor, offset, aimed-at label) triples.  The anchor is a kernel call
    ("name:index:enter" or ":exit"; "" for the start of fit_resample) and
    the offset the time after it, both read from the dry run, so that run
    to run speed changes do not move the signal to another phase.  Points:
    the input checks, the middle of every clustering kernel call, four
    points across the neighbour searches, the Python planning between
    neighbours and generation, the middle of the longest generate call and
    30% into the generation."""
    index, numbered = {}, []
    for name, a, b in calls:
        numbered.append((name, index.get(name, 0), a, b))
        index[name] = index.get(name, 0) + 1

    def inside(t, phase, label):
        """Anchor on the call of `phase` running at time t (or the next)."""
        for name, i, a, b in numbered:
            if PHASE_OF[name] == phase and b > t:
                return (f"{name}:{i}:enter", max(0.0, t - a), label)
        return None

    targets = [("", 0.5 * min(a for _, _, a, _ in numbered), "input checks")]
    for name, i, a, b in numbered:
        if PHASE_OF[name] == "clustering" and b - a > 0.02:
            targets.append((f"{name}:{i}:enter", 0.5 * (b - a), name.split(".")[1]))
    if "neighbours" in spans:
        a, b = spans["neighbours"]
        targets += [inside(a + f * (b - a), "neighbours", "neighbours")
                    for f in (0.05, 0.35, 0.65, 0.95)]
        last = [(name, i, ca, cb) for name, i, ca, cb in numbered
                if PHASE_OF[name] == "neighbours"][-1]
        if "generation" in spans:
            gap = spans["generation"][0] - last[3]
            if gap > 0.05:
                targets.append((f"{last[0]}:{last[1]}:exit", 0.5 * gap, "planning"))
    if "generation" in spans:
        gen = [(b - a, name, i) for name, i, a, b in numbered
               if PHASE_OF[name] == "generation"]
        dur, name, i = max(gen)
        targets.append((f"{name}:{i}:enter", 0.5 * dur, "generate"))
        a, b = spans["generation"]
        targets.append(inside(a + 0.3 * (b - a), "generation", "generation"))
    return [t for t in targets if t is not None]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=3_000_000)
    ap.add_argument("--delays", default="auto",
                    help="comma-separated seconds after the start of fit_resample, "
                         "or 'auto' (points in every phase of a dry run)")
    ap.add_argument("--n-jobs", type=int, default=None)
    ap.add_argument("--limit", type=float, default=1.0,
                    help="largest acceptable latency in seconds")
    ap.add_argument("--hog", type=int, default=0,
                    help="busy-loop processes to run meanwhile (a shared machine: "
                         "the kernels' threads then compete for the CPUs)")
    ap.add_argument("--child", choices=["dry", "run"], help=argparse.SUPPRESS)
    ap.add_argument("--aim", default="", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        child(args.child, args.rows, args.n_jobs, args.aim)
        return 0

    print(f"data: {args.rows} x 20 (cached in {DATA.relative_to(HERE.parent)})", flush=True)
    load_data(args.rows)
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
            for _ in range(args.hog)]
    try:
        return measure(args)
    finally:
        for h in hogs:
            h.kill()
            h.wait()


def measure(args):
    if args.hog:
        print(f"with {args.hog} busy-loop processes competing for the CPUs")

    # 1. dry run
    proc = spawn("dry", args)
    wait_ready(proc)
    dry = read_result(proc, timeout=3600)
    total = dry["t_end"] - dry["t_start"]
    spans = phases(dry["calls"], total)
    print(f"dry run: fit_resample {total:.2f} s; second fit {dry['second_fit']}")
    for ph in ("clustering", "neighbours", "generation"):
        if ph in spans:
            a, b = spans[ph]
            n = sum(1 for c in dry["calls"] if PHASE_OF[c[0]] == ph)
            print(f"  {ph:<11s} {a:7.2f} .. {b:7.2f} s  ({n} kernel calls)")
            if ph == "clustering":
                for name, ca, cb in dry["calls"]:
                    if PHASE_OF[name] == ph:
                        print(f"    {name.split('.')[1]:<16s} {ca:7.2f} .. {cb:7.2f} s")

    # 2. delays
    if args.delays == "auto":
        targets = auto_targets(dry["calls"], spans)
    else:
        targets = [("", float(s), "?") for s in args.delays.split(",")]

    rows = []
    hit = set()
    failed = False
    for anchor, offset, target in targets:
        proc = spawn("run", args, anchor)
        # The child starts fit_resample right after READY.
        t_anchor = wait_ready(proc)
        if anchor:
            t_anchor = wait_aim(proc)
        time.sleep(max(0.0, t_anchor + offset - time.monotonic()))
        t_sig = time.monotonic()
        proc.send_signal(signal.SIGINT)
        res = read_result(proc, timeout=3600)
        t_sig_rel = t_sig - res["t_start"]
        delay = t_sig_rel
        phase, kernel = where(res["calls"], t_sig_rel)
        ok_second = res["second_fit"] == dry["second_fit"]
        healthy = ok_second and res["py_threads"] == 1
        if res["interrupted"]:
            lat = res["t_caught"] - t_sig
            ok = lat < args.limit and healthy
            lat_s = f"{lat * 1000:8.1f}"
            verdict = "PASS" if ok else "FAIL"
            hit.add(phase)
        else:
            # The fit ended before the signal (run-to-run variation).
            ok = healthy
            lat_s = "(missed)"
            verdict = "miss" if ok else "FAIL"
        failed |= not ok
        rows.append((delay, target, phase, kernel, lat_s, res, ok_second, verdict))

    print()
    print(f"{'signal at':>9s}  {'aimed at':<15s} {'landed in':<18s} {'kernel':<15s} "
          f"{'latency ms':>10s}  {'raised in':<26s} {'threads':>7s} {'RSS MiB':>11s}  "
          f"{'2nd fit':<7s} result")
    print("(threads: Python threads / OS threads after the interrupt; RSS before the "
          "fit -> after the interrupt and gc; 2nd fit: a second fit_resample in the same "
          "process gives the dry run's result)")
    for delay, target, phase, kernel, lat_s, res, ok_second, verdict in rows:
        thr = f"{res['py_threads']}/{res['os_threads_after']}"
        rss = f"{res['rss_before_mib']:.0f}->{res['rss_after_mib']:.0f}"
        print(f"{delay:8.2f}s  {target:<15s} {phase:<18s} {kernel:<15s} {lat_s:>10s}  "
              f"{res.get('raised_in', '-'):<26s} {thr:>7s} {rss:>11s}  "
              f"{'same' if ok_second else 'DIFF':<7s} {verdict}")
    lats = [float(r[4]) for r in rows if r[4] != "(missed)"]
    if lats:
        print(f"\nmax latency {max(lats):.1f} ms over {len(lats)} interrupts "
              f"(limit {args.limit * 1000:.0f} ms)")
    if args.delays == "auto":
        for ph in ("clustering", "neighbours", "generation"):
            if ph in spans and ph not in hit:
                print(f"no signal landed in {ph} (timings vary; run again)")
                failed = True
    print("interrupt.py:", "FAIL" if failed else "PASS")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
