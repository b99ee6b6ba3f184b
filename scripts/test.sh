#!/usr/bin/env bash
# The tests: builds zsnas and runs every test (unit, golden parity, integration).
# Tests run one at a time (RUST_TEST_THREADS=1): each libtorch computation already uses
# every core, and libtorch's OpenMP slows down badly when cores are oversubscribed.
source "$(dirname "$0")/env.sh"
cd "$ZSNAS_ROOT"
export RUST_TEST_THREADS="${RUST_TEST_THREADS:-1}"
exec cargo test --release "$@"
