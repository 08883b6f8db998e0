#!/usr/bin/env bash
# Build a wheel (and an sdist) from this checkout, install the wheel into a
# fresh virtualenv and run the test suite against it from outside the
# source tree: what a user of the published wheel gets.
#
#   tools/test_wheel.sh            # python3 on PATH
#   PYTHON=python3.12 tools/test_wheel.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$PY" -m pip install --quiet build
"$PY" -m build --outdir "$work/dist" "$here"
"$PY" -m venv "$work/venv"
# shellcheck disable=SC1091
source "$work/venv/bin/activate"
python -m pip install --quiet --upgrade pip
wheel=$(ls "$work"/dist/kmsmote-*.whl)
pip install --quiet "$wheel[test]"

mkdir "$work/run"
cp -r "$here/tests" "$work/run/tests"
cd "$work/run"
python - <<'PY'
import kmsmote, os
print("testing", kmsmote.__file__)
assert "site-packages" in kmsmote.__file__, "not the installed wheel"
PY
pytest -c "$here/pyproject.toml" --rootdir "$work/run" tests
