#!/usr/bin/env bash
# Runs every Grove check: formatting, lints, and all tests. Installs what it needs.
# Usage: bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# rustfmt and clippy come with the toolchain; add them where a minimal profile left them out.
if command -v rustup >/dev/null 2>&1; then
  rustup component add rustfmt clippy >/dev/null 2>&1 || true
fi

echo "== cargo fmt --check"
cargo fmt --all --check

echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test"
cargo test --workspace --locked
