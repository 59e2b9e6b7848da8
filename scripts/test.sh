#!/usr/bin/env bash
# Runs every Grove check: formatting, lints, all Rust tests, and the desktop app's checks
# (vitest, bindings drift, the real window driven over WebDriver under Xvfb).
# Installs what it needs on a fresh Debian/Ubuntu machine (apt-get, npm ci, tauri-driver).
# Usage: bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# rustfmt and clippy come with the toolchain; add them where a minimal profile left them out.
if command -v rustup >/dev/null 2>&1; then
  rustup component add rustfmt clippy >/dev/null 2>&1 || true
fi

echo "== cargo fmt --check"
cargo fmt --all --check

# System packages, the UI build and every desktop check (the window needs ui/dist, and the
# workspace lint below includes the desktop crate, which needs WebKitGTK).
bash scripts/desktop-ci.sh

echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test"
cargo test --workspace --exclude grove-desktop --locked
