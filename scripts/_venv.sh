# Sourced by scripts/demo and scripts/test: create .venv with Python 3.11 and install the locked packages.
set -euo pipefail
PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' 2>/dev/null; then
  for candidate in python3.11 /usr/bin/python3.11; do
    if command -v "$candidate" >/dev/null 2>&1; then PY=$candidate; break; fi
  done
fi
"$PY" -c 'import sys; assert sys.version_info[:2] == (3, 11), "haochaping needs Python 3.11"'
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
LOCK=${1:-requirements.lock}
stamp=".venv/.installed-$(sha256sum "$LOCK" pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$LOCK"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
  rm -f .venv/.installed-*
  touch "$stamp"
fi
