#!/usr/bin/env bash
# Memory and undefined-behaviour checks of the kmsmote C core.
#
# Builds csrc/tests/test_core.c together with every csrc/*.c file (no
# Python) and runs it
#
#   (a) under AddressSanitizer + UndefinedBehaviorSanitizer
#       (-fsanitize=address,undefined -fno-omit-frame-pointer -g -O1),
#       without and with OpenMP, leak detection on, halting on the first
#       finding; the OpenMP build also runs with KMSMOTE_SIMD=baseline so
#       that both distance-kernel variants are covered;
#   (b) under valgrind memcheck (--error-exitcode=1 --leak-check=full) on a
#       plain -O1 -g build, without OpenMP (no libgomp noise) and with it
#       (--quick sizes; csrc/tests/valgrind-libgomp.supp hides the TLS of
#       libgomp's pooled threads, which live until exit).
#
# The test builds poll for interrupts every 2048 units of work
# (-DKMS_POLL_WORK) so that every polling site fires on small inputs; the
# OpenMP builds also cut Lloyd's waves to one chunk per thread and make the
# dense neighbour kernel gather its set tile by tile.
#
# Optionally (--python) it also builds the whole package with meson's
# -Db_sanitize=address,undefined into a private venv and runs a subset of
# the Python tests with libasan preloaded.
#
# Usage: tools/sanitize.sh [--python] [--keep]
#   --python   also run the sanitized Python test subset (slow: a full build)
#   --keep     keep the test binaries (they are removed after a clean run)
# Environment: CC (default gcc), SANITIZE_DIR (default build/sanitize).
#
# Prints one PASS/FAIL line per step and a summary; exits non-zero if any
# step found anything.
set -u

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

run_python=0
keep=0
while [ $# -gt 0 ]; do
    case "$1" in
        --python) run_python=1 ;;
        --keep) keep=1 ;;
        -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done

CC=${CC:-gcc}
out=${SANITIZE_DIR:-$here/build/sanitize}
mkdir -p "$out"
log="$out/logs"
mkdir -p "$log"

# The project's own flags (meson.build): no FMA contraction, which the
# bit-exact references of the test rely on.
base_flags=(-std=c11 -ffp-contract=off -fno-math-errno -D_POSIX_C_SOURCE=200809L
            -Wall -Wextra -Wno-unused-parameter -Icsrc
            -DKMS_POLL_WORK=2048)
san_flags=(-fsanitize=address,undefined -fno-omit-frame-pointer -g -O1)
sources=(csrc/tests/test_core.c csrc/*.c)
libs=(-lm -lpthread)

declare -a results=()
status=0

record() { # name rc detail
    if [ "$2" -eq 0 ]; then
        results+=("PASS  $1  $3")
    else
        results+=("FAIL  $1  $3")
        status=1
    fi
    printf '%-5s %s  %s\n' "$([ "$2" -eq 0 ] && echo PASS || echo FAIL)" "$1" "$3"
}

build() { # name flags...
    local name=$1
    shift
    if ! "$CC" "${base_flags[@]}" "$@" "${sources[@]}" "${libs[@]}" \
            -o "$out/$name" >"$log/$name.build.log" 2>&1; then
        record "build $name" 1 "see $log/$name.build.log"
        return 1
    fi
    # Warnings other than the ones OpenMP-less builds give for thread counts.
    local warn
    warn=$(grep -c 'warning:' "$log/$name.build.log" || true)
    record "build $name" 0 "($warn compiler warnings)"
}

# Last line "test_core: N checks, M failures" of a run's output.
summary_of() {
    grep -E '^test_core: [0-9]+ checks' "$1" | tail -n 1
}

# Log file of a step: its name with every run of other characters than
# letters, digits, '+' and '=' turned into '_'.
log_of() {
    echo "$log/$(echo "$1" | sed -E 's/[^A-Za-z0-9+=]+/_/g; s/_$//').log"
}

run_asan() { # name binary args... (env from the caller)
    local name=$1 bin=$2
    shift 2
    local f
    f=$(log_of "$name")
    ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        nice "$out/$bin" "$@" >"$f" 2>&1
    local rc=$?
    local findings
    findings=$(grep -cE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$f" || true)
    local s
    s=$(summary_of "$f")
    if [ "$findings" -ne 0 ]; then
        rc=1
        grep -m 3 -A 12 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$f" >&2
    fi
    record "$name" "$rc" "${s:-no summary} | sanitizer findings: $findings | rc=$rc"
}

run_valgrind() { # name binary args...
    local name=$1 bin=$2
    shift 2
    local f
    f=$(log_of "$name")
    nice valgrind --tool=memcheck --error-exitcode=1 --leak-check=full \
        --suppressions=csrc/tests/valgrind-libgomp.supp \
        --show-leak-kinds=definite,indirect,possible \
        --errors-for-leak-kinds=definite,indirect,possible \
        --track-origins=yes --num-callers=30 \
        "$out/$bin" "$@" >"$f" 2>&1
    local rc=$?
    local s err leak
    s=$(summary_of "$f")
    err=$(grep -E 'ERROR SUMMARY:' "$f" | tail -n 1 | sed 's/^==[0-9]*== //')
    leak=$(grep -E 'definitely lost:|indirectly lost:|possibly lost:|All heap blocks were freed' "$f" \
           | sed 's/^==[0-9]*== *//' | tr '\n' ';' | sed 's/;$//')
    if [ "$rc" -ne 0 ]; then
        grep -m 40 -E '^==[0-9]+== (Invalid|Conditional|Use of|Syscall|Mismatched|.*definitely lost|.*possibly lost|   (at|by) )' "$f" >&2
    fi
    record "$name" "$rc" "${s:-no summary} | $err | ${leak:-no leak summary}"
}

echo "== kmsmote C core: sanitizers and valgrind (output in $out)"
echo "   $("$CC" --version | head -n 1); $(valgrind --version 2>/dev/null || echo 'valgrind missing')"

# (a) AddressSanitizer + UndefinedBehaviorSanitizer
# (no time-based polls in this one: exact poll counts are checked)
if build asan "${san_flags[@]}" -DKMS_POLL_SECONDS=1e9; then
    run_asan "asan+ubsan (no OpenMP)" asan
fi
# (the OpenMP builds also make every Lloyd wave one chunk per thread, so
# that the multi-wave merges run on small inputs, and gather the dense
# neighbour kernel's set tile by tile, the path of sets too large to copy)
small_waves=(-DKMS_LLOYD_SLOT_BYTES=1 -DKMS_CSR_SLOT_BYTES=1 -DKMS_KNN_SET_BYTES=0)
if build asan_omp "${san_flags[@]}" -fopenmp "${small_waves[@]}"; then
    OMP_NUM_THREADS=2 run_asan "asan+ubsan (OpenMP)" asan_omp
    KMSMOTE_SIMD=baseline OMP_NUM_THREADS=2 \
        run_asan "asan+ubsan (OpenMP, KMSMOTE_SIMD=baseline)" asan_omp --quick
fi

# (b) valgrind memcheck on plain builds
if command -v valgrind >/dev/null 2>&1; then
    if build plain -O1 -g; then
        run_valgrind "valgrind (no OpenMP)" plain --quick
    fi
    if build plain_omp -O1 -g -fopenmp "${small_waves[@]}"; then
        OMP_NUM_THREADS=2 run_valgrind "valgrind (OpenMP)" plain_omp --quick
    fi
else
    record "valgrind" 1 "valgrind not found"
fi

# (c) optional: the package built with -Db_sanitize, Python tests with
# libasan preloaded (CPython's own allocations leak by design: no leak check).
if [ "$run_python" -eq 1 ]; then
    venv="$out/venv"
    plog="$log/python.log"
    {
        python3 -m venv --system-site-packages "$venv" &&
        "$venv/bin/pip" install --no-build-isolation --no-deps --force-reinstall \
            -Cbuild-dir="$out/meson" \
            -Csetup-args=-Db_sanitize=address,undefined \
            -Csetup-args=-Db_lundef=false \
            -Csetup-args=-Dbuildtype=debugoptimized \
            "$here"
    } >"$plog" 2>&1
    rc=$?
    if [ "$rc" -ne 0 ]; then
        record "python: sanitized build" 1 "see $plog"
    else
        libasan=$("$CC" -print-file-name=libasan.so)
        libubsan=$("$CC" -print-file-name=libubsan.so)
        # Run from an empty directory so that the installed (sanitized)
        # package is imported, not the source tree.
        tdir=$(mktemp -d)
        cp -r tests pyproject.toml "$tdir/"
        (
            cd "$tdir" &&
            LD_PRELOAD="$libasan:$libubsan" \
            ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:verify_asan_link_order=0 \
            UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
            KMSMOTE_SANITIZED=1 \
                nice "$venv/bin/python" -m pytest -q -p no:cacheprovider -x \
                tests/test_kernels.py \
                tests/test_interrupts.py
        ) >>"$plog" 2>&1
        rc=$?
        rm -rf "$tdir"
        findings=$(grep -cE 'ERROR: AddressSanitizer|runtime error:' "$plog" || true)
        [ "$findings" -ne 0 ] && rc=1
        s=$(grep -E '[0-9]+ (passed|failed)' "$plog" | tail -n 1)
        record "python: kernel tests under asan+ubsan" "$rc" \
            "${s:-no pytest summary} | sanitizer findings: $findings"
    fi
fi

echo
echo "== summary"
for r in "${results[@]}"; do
    echo "$r"
done
if [ "$status" -eq 0 ]; then
    echo "sanitize.sh: PASS"
else
    echo "sanitize.sh: FAIL (logs in $log)"
fi
if [ "$keep" -eq 0 ] && [ "$status" -eq 0 ]; then
    rm -f "$out"/asan "$out"/asan_omp "$out"/plain "$out"/plain_omp
fi
exit "$status"
