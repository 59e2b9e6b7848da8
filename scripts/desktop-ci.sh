#!/usr/bin/env bash
# Builds and tests the desktop app from a fresh Debian/Ubuntu machine: system packages,
# npm ci, tauri-driver; then vitest, the type check, the bindings drift check, the app
# build and the WebDriver suite against the real window under Xvfb. Fails on any failure.
#
#   scripts/desktop-ci.sh            everything
#   SKIP_INSTALL=1 scripts/desktop-ci.sh   when the machine is already set up
#
# Screenshots go to a temp dir; scripts/screenshots.sh runs this to retake docs/screenshots.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
export PATH="$HOME/.cargo/bin:$PATH"
step() { printf '\n== %s ==\n' "$*"; }

if [[ -z "${SKIP_INSTALL:-}" ]]; then
  step "system packages"
  # gdb: a window that does not end its app gets its threads written down (tests/e2e/app.mjs).
  packages=(libwebkit2gtk-4.1-dev libgtk-3-dev libayatana-appindicator3-dev librsvg2-dev libssl-dev
    libxdo-dev pkg-config build-essential file xvfb xauth webkit2gtk-driver gdb)
  missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    sudo_cmd=""
    [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
  if ! command -v tauri-driver >/dev/null; then
    step "tauri-driver"
    cargo install tauri-driver --locked --version '^2'
  fi
fi

step "ui: npm ci"
(cd ui && npm ci --no-audit --no-fund)

step "ui: vitest"
(cd ui && npx vitest run)

step "ui: type check"
(cd ui && npm run check)

step "ui: build"
(cd ui && npm run build)

step "bindings drift check and desktop unit tests"
cargo test -p grove-desktop --features custom-protocol --locked

step "desktop app build, and the grove CLI the e2e peer runs"
cargo build -p grove-desktop --features custom-protocol --locked
cargo build -p grove-cli --locked

step "end-to-end: the real window under Xvfb"
GROVE_DESKTOP_BIN="$CARGO_TARGET_DIR/debug/grove-desktop" GROVE_BIN="$CARGO_TARGET_DIR/debug/grove" \
  xvfb-run -a -s "-screen 0 1280x800x24" node --test --test-concurrency=1 tests/e2e/
