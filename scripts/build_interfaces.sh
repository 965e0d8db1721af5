#!/usr/bin/env bash
# Build tinyagent_interfaces/ (messages, services, actions) into .venv with plain cmake and
# the PyPI rosidl wheels of requirements.txt; afterwards
#   .venv/bin/python -c "from tinyagent_interfaces.action import ExecuteCommand"
# works. Skipped when the interface sources, this script and the interpreter are unchanged
# and the package still imports. FORCE=1 rebuilds anyway.
#
# The wheels' exported CMake files hold the wheel builder's include paths
# (/opt/python/cp311-cp311/include/python3.11 and numpy's under it); they are rewritten to
# this interpreter's paths before cmake runs (idempotent).
#
# In a normal ROS 2 workspace build the package with colcon instead (see its README).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

VENV="${VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"
SRC="$ROOT/tinyagent_interfaces"
BUILD="$ROOT/build/tinyagent_interfaces"
STAMP="$VENV/.interfaces.sha256"
JOBS="${JOBS:-2}"

log() { echo "[interfaces] $*"; }

[ -x "$PY" ] || { log "no virtual environment at $VENV: run scripts/bootstrap.sh"; exit 1; }

# Hash of everything the build output depends on (not the README).
want="$("$PY" - "$SRC" "${BASH_SOURCE[0]}" <<'EOF'
import hashlib, pathlib, sys
src, script = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
h = hashlib.sha256(sys.version.encode())
files = [src / "package.xml", src / "CMakeLists.txt"]
files += [p for d in ("msg", "srv", "action") for p in (src / d).glob("*") if p.is_file()]
for path in sorted(files):
    h.update(str(path.relative_to(src)).encode() + b"\0" + path.read_bytes())
h.update(script.read_bytes())
print(h.hexdigest())
EOF
)"
have="$(cat "$STAMP" 2>/dev/null || true)"
if [ -z "${FORCE:-}" ] && [ "$want" = "$have" ] \
    && "$PY" -c 'from tinyagent_interfaces.action import ExecuteCommand' >/dev/null 2>&1; then
    log "tinyagent_interfaces unchanged; skipping"
    exit 0
fi

for tool in cmake make; do
    command -v "$tool" >/dev/null || { log "$tool not found: install it (apt-get install $tool)"; exit 1; }
done

# 1. Point the wheels' exported CMake files at this interpreter's headers.
log "rewriting stale include paths in the ROS wheels' CMake files"
"$PY" - "$VENV" <<'EOF'
import pathlib, re, sys, sysconfig
import numpy
venv = pathlib.Path(sys.argv[1])
py_inc = sysconfig.get_paths()["include"]
np_inc = numpy.get_include()
# numpy's path first: it starts with the builder's prefix too.
rules = [
    (re.compile(r"/opt/python/[^/;\"]+/lib/python3\.\d+/site-packages/numpy/_?core/include"), np_inc),
    (re.compile(r"/opt/python/[^/;\"]+/include/python3\.\d+"), py_inc),
]
changed = 0
for path in list(venv.glob("share/*/cmake/*.cmake")):
    text = path.read_text(encoding="utf-8")
    new = text
    for pattern, repl in rules:
        new = pattern.sub(repl.replace("\\", "/"), new)
    if new != text:
        path.write_text(new, encoding="utf-8")
        changed += 1
left = [p for p in venv.glob("share/*/cmake/*.cmake") if "/opt/python/" in p.read_text("utf-8")]
if left:
    sys.exit(f"stale /opt/python paths left in: {', '.join(map(str, left))}")
print(f"[interfaces] {changed} file(s) rewritten")
EOF

# 2. Configure, build and install into the venv.
log "building tinyagent_interfaces (a few minutes the first time on 2 cores)"
export CMAKE_PREFIX_PATH="$VENV${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
export AMENT_PREFIX_PATH="$VENV${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
export PATH="$VENV/bin:$PATH"
blog="$ROOT/build/tinyagent_interfaces.log"
mkdir -p "$BUILD"
if ! {
    cmake -S "$SRC" -B "$BUILD" -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=Release \
        -DPython3_EXECUTABLE="$PY" -DCMAKE_INSTALL_PREFIX="$VENV" \
        && cmake --build "$BUILD" -j "$JOBS" \
        && cmake --install "$BUILD"
} >"$blog" 2>&1; then
    tail -n 30 "$blog" >&2
    log "build FAILED (full log: $blog)"
    exit 1
fi

if ! "$PY" -c 'from tinyagent_interfaces.action import ExecuteCommand' 2>&1; then
    log "built, but 'from tinyagent_interfaces.action import ExecuteCommand' fails (log: $blog)"
    exit 1
fi
echo "$want" > "$STAMP"
log "done: tinyagent_interfaces installed into $VENV"
