#!/usr/bin/env bash
# Runs every Grove check: formatting, lints and all Rust tests of the engine, store,
# network, CLI and multi-node scenarios. Installs what it needs on a fresh Debian/Ubuntu
# machine. The desktop app's own checks: scripts/desktop-ci.sh.
# Usage: bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# rustfmt and clippy come with the toolchain; add them where a minimal profile left them out.
if command -v rustup >/dev/null 2>&1; then
  rustup component add rustfmt clippy >/dev/null 2>&1 || true
fi

echo "== cargo fmt --check"
cargo fmt --all --check

# C toolchain for the crates that build C (ring, used by QUIC), installed on a fresh machine.
if ! command -v cc >/dev/null 2>&1 || ! command -v pkg-config >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  $sudo apt-get install -y --no-install-recommends build-essential pkg-config
fi

# The desktop app's checks (scripts/desktop-ci.sh: vitest, bindings drift, the real window
# over WebDriver) run separately until they are verified on the merged engine.

echo "== cargo clippy -D warnings"
cargo clippy --workspace --exclude grove-desktop --all-targets --locked -- -D warnings

echo "== cargo test"
cargo test --workspace --exclude grove-desktop --locked
