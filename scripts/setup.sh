#!/usr/bin/env bash
# Set up everything flowopt's demo and tests need on a fresh Debian/Ubuntu machine.
# - system packages (only when run as root with apt-get): Graphviz `dot` for process maps, CJK fonts
#   for Chinese labels, Chromium for the HTML report's browser test, a Java 17 runtime for the Spark engine;
# - a virtual environment in .venv with flowopt (editable, its compiled loops built from src/flowopt/_loops.pyx
#   with the machine's C compiler) and its pm4py + dev extras.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"

need_apt=()
command -v dot >/dev/null 2>&1 || need_apt+=(graphviz)
# (not `fc-list | grep -q`: grep stops at the first match, fc-list dies of SIGPIPE and pipefail reports a failure)
fonts="$(fc-list 2>/dev/null || true)"
grep -qi "Noto Sans CJK" <<<"$fonts" || need_apt+=(fonts-noto-cjk)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v java >/dev/null 2>&1 || need_apt+=(openjdk-17-jre-headless)
if [ "${#need_apt[@]}" -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing system packages: ${need_apt[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends "${need_apt[@]}" >/dev/null 2>&1 || {
      apt-get update -q >/dev/null 2>&1
      apt-get install -y -q --no-install-recommends "${need_apt[@]}" >/dev/null
    }
  else
    echo "setup: not root (or no apt-get): please install ${need_apt[*]} yourself." >&2
    echo "       flowopt still works without them; process maps are then written as DOT only." >&2
  fi
fi

if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.flowopt-installed
# reinstall when the project's metadata or the compiled loops' source (built into src/flowopt/_loops*.so) changed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ setup.py -nt "$stamp" ] \
    || [ src/flowopt/_loops.pyx -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e ".[pm4py,spark,dev]"
  touch "$stamp"
fi
