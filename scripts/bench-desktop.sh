#!/usr/bin/env bash
# The desktop bench (issue 5): builds the app and the CLI in release, then opens the app on
# seeded homes under Xvfb and prints the log's open time and the app's memory. Prints
# figures; never a pass/fail test, not run in CI.
#
#   scripts/bench-desktop.sh                     10,000 decisions
#   BENCH_SIZES=10000,100000 scripts/bench-desktop.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
export PATH="$HOME/.cargo/bin:$PATH"

(cd ui && { [[ -d node_modules ]] || npm ci --no-audit --no-fund; } && npm run build)
cargo build --release --locked -p grove-desktop -p grove-cli --features grove-desktop/custom-protocol

GROVE_DESKTOP_BIN="$CARGO_TARGET_DIR/release/grove-desktop" GROVE_BIN="$CARGO_TARGET_DIR/release/grove" \
  xvfb-run -a -s "-screen 0 1280x800x24" node tests/e2e/bench.mjs
