#!/usr/bin/env bash
# Runs every Grove check: formatting, lints, and all tests. Installs what it needs.
# Usage: bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# C toolchain for the crates that build C (ring, used by QUIC), installed on a fresh machine.
if ! command -v cc >/dev/null 2>&1 || ! command -v pkg-config >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  $sudo apt-get install -y --no-install-recommends build-essential pkg-config
fi

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
