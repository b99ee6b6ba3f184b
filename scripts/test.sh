#!/usr/bin/env bash
# The tests: builds zsnas and runs every test (unit, golden parity, integration).
source "$(dirname "$0")/env.sh"
cd "$ZSNAS_ROOT"
exec cargo test --release "$@"
