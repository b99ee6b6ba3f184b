# Sourced by the zsnas scripts: installs what is missing (idempotent) and exports the
# environment to build against libtorch from the PyPI torch wheel.
#
# - A project-local virtual environment `.venv` with torch==2.13.0, the libtorch that
#   tch 0.26 binds. CPU by default: `--no-deps` with only the two small CUDA runtime
#   packages libtorch needs to load (about 1.2 GB). Set ZSNAS_TORCH_FULL=1 for the full
#   wheel with its CUDA dependencies (about 4.7 GB), needed for `--device cuda`.
# - A Rust toolchain is expected on PATH (cargo).
set -euo pipefail
ZSNAS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ZSNAS_ROOT/.venv"
PY="${PYTHON:-python3}"
if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then export PATH="$HOME/.cargo/bin:$PATH"; else
    echo "zsnas: cargo not found; install Rust (https://rustup.rs) first" >&2; exit 1; fi
fi
TORCH_DIR=""
if [ -d "$VENV" ]; then TORCH_DIR="$(ls -d "$VENV"/lib/python3*/site-packages/torch 2>/dev/null | head -1 || true)"; fi
if [ -z "$TORCH_DIR" ] || [ ! -f "$TORCH_DIR/lib/libtorch_cpu.so" ]; then
  echo "zsnas: installing torch==2.13.0 into $VENV (one-time)" >&2
  "$PY" -m venv "$VENV"
  if [ "${ZSNAS_TORCH_FULL:-0}" = "1" ]; then
    "$VENV/bin/pip" install -q torch==2.13.0
  else
    "$VENV/bin/pip" install -q --no-deps torch==2.13.0 nvidia-cuda-runtime==13.0.96 nvidia-cuda-cupti==13.0.85
  fi
  TORCH_DIR="$(ls -d "$VENV"/lib/python3*/site-packages/torch | head -1)"
fi
export LIBTORCH="$TORCH_DIR"
export LIBTORCH_BYPASS_VERSION_CHECK=1
export LD_LIBRARY_PATH="$TORCH_DIR/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
