#!/bin/sh
# CI pre-install step: nothing is installed unless its bytes match the lock.
#
# Run from the project's directory, with the lock committed beside it
# (pinguard lock upper-constraints.txt --add-missing -o pylock.toml). Exits non-zero, with
# nothing installed, when any file drifts from the lock (1) or cannot be fetched (2).
set -eu
python=${PYTHON:-python3}
venv=${VENV:-.venv}

"$python" -m venv "$venv"
pinguard install pylock.toml --python "$venv/bin/python" -r requirements.txt -r test-requirements.txt
# The project itself, without its dependencies and without fetching build requirements.
"$venv/bin/python" -I -m pip --isolated install --no-deps --no-index --no-build-isolation -e .
