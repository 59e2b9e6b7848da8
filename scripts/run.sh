#!/usr/bin/env bash
# Runs Grove on the default home ($GROVE_HOME, else ~/.local/share/grove).
#   bash scripts/run.sh              the desktop app (installs what it needs first)
#   bash scripts/run.sh --cli ARGS…  the headless `grove` command
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--cli" ]; then
  shift
  cargo build --release --locked -p grove-cli --bin grove
  exec target/release/grove "$@"
fi

packages=(libwebkit2gtk-4.1-dev libgtk-3-dev libayatana-appindicator3-dev librsvg2-dev libssl-dev
  libxdo-dev pkg-config build-essential file)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
(cd ui && npm ci --no-audit --no-fund && npm run build)
cargo build --release --locked -p grove-desktop --features custom-protocol
exec target/release/grove-desktop
