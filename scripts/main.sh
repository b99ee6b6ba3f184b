#!/usr/bin/env bash
# The main job on real data: builds zsnas (release) and runs the default job.
# Extra arguments are passed to it.
source "$(dirname "$0")/env.sh"
cd "$ZSNAS_ROOT"
cargo build --release --quiet
exec ./target/release/zsnas demo "$@"
