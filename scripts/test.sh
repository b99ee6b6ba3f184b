#!/usr/bin/env bash
# The tests: builds zsnas and runs them.
#
#   bash scripts/test.sh          every test: the fast tier and the data tier (what CI runs)
#   bash scripts/test.sh --fast   the fast tier alone: needs nothing outside the repository
#
# Fast tier: unit tests, CLI errors, resume, sharding, search and correlate on the embedded
# data. Data tier: golden parity with the official code, reference agreement and every test
# that reads ../shared (or $ZSNAS_DATA): the integration tests named tests/data_*.rs and the
# unit tests whose name contains `shared_data`; they fail, never pass silently, when the
# data is missing.
# Tests run one at a time (RUST_TEST_THREADS=1): each libtorch computation already uses
# every core, and libtorch's OpenMP slows down badly when cores are oversubscribed.
source "$(dirname "$0")/env.sh"
cd "$ZSNAS_ROOT"
export RUST_TEST_THREADS="${RUST_TEST_THREADS:-1}"
if [ "${1:-}" = "--fast" ]; then
  shift
  targets=(--lib --bins)
  for f in tests/*.rs; do
    n=$(basename "$f" .rs)
    case "$n" in data_*) ;; *) targets+=(--test "$n") ;; esac
  done
  exec cargo test --release "${targets[@]}" "$@" -- --skip shared_data
fi
exec cargo test --release "$@"
