#!/usr/bin/env bash
# Runs every Grove check: formatting, the desktop app's checks (scripts/desktop-ci.sh:
# vitest, type check, bindings drift, the real window over WebDriver), lints, and all Rust
# tests of the engine, store, network, CLI and multi-node scenarios; the real-network lab
# (scripts/netlab.sh: namespaces, NAT, real nodes; root only); then the Debian package
# (scripts/package.sh, checked by scripts/package-check.sh). Installs what it needs
# on a fresh Debian/Ubuntu machine.
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

# Node.js 20+ (npm ci, vitest, the WebDriver suite): the distribution's where it is new
# enough (Debian 13, Ubuntu 24.10 and later); older releases need it from nodejs.org.
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if ! command -v npm >/dev/null 2>&1 || [ "$(node_major)" -lt 20 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends nodejs npm || true
  if [ "$(node_major)" -lt 20 ]; then
    echo "Grove's UI needs Node.js 20 or newer (found: $(node --version 2>/dev/null || echo none))." >&2
    echo "Install it from https://nodejs.org (or your distribution's backports) and run this again." >&2
    exit 1
  fi
fi

echo "== desktop app"
bash scripts/desktop-ci.sh

echo "== cargo clippy -D warnings"
cargo clippy --workspace --exclude grove-desktop --all-targets --locked -- -D warnings
cargo clippy -p grove-desktop --features custom-protocol --all-targets --locked -- -D warnings

echo "== cargo test"
cargo test --workspace --exclude grove-desktop --locked

# Real networks: namespaces, NAT and real `grove` nodes (scripts/netlab.sh), with the
# binary the tests above built. It needs root, iproute2 and nftables; as root, install the
# last two where missing; otherwise it says why it skips.
if [ "$(id -u)" -eq 0 ] && { ! command -v nft >/dev/null 2>&1 || ! command -v ip >/dev/null 2>&1; }; then
  # A machine that cannot install them runs everything else: the lab then says it skips.
  apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nftables iproute2 || true
fi
echo "== netlab"
GROVE="$PWD/target/debug/grove" bash scripts/netlab.sh

# Last: Tauri's bundler builds the app with its own settings, so it comes after the builds
# above rather than between them. A debug build: the check is of the package, not of speed.
echo "== Debian package: build, install into a scratch root, validate, run, remove"
deb=$(bash scripts/package.sh --debug)
bash scripts/package-check.sh "$deb"
