#!/usr/bin/env bash
# Runs Grove on the default home ($GROVE_HOME, else ~/.local/share/grove).
# Usage: bash scripts/run.sh [grove arguments…]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p grove-cli --bin grove
grove=target/release/grove
if [ "$#" -gt 0 ]; then
  exec "$grove" "$@"
fi
# First run: a demo circle to look around in.
if "$grove" circle list --json | grep -q '^\[\]$'; then
  echo "First run: seeding a demo circle…"
  "$grove" demo --decisions 500 >/dev/null
fi
"$grove" circle list
echo
"$grove" decision list --limit 15
echo
echo "This is Grove's command line: $grove --help lists every command."
