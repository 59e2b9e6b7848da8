#!/usr/bin/env bash
# Retakes the README's screenshots (docs/screenshots/*.png) with the desktop app's WebDriver
# suite. A plain test run puts its pictures in a temp dir and leaves the tree clean.
#
#   scripts/screenshots.sh                      builds, tests and retakes them
#   SKIP_INSTALL=1 scripts/screenshots.sh       when the machine is already set up
set -euo pipefail
cd "$(dirname "$0")/.."
GROVE_SCREENSHOTS="$PWD/docs/screenshots" exec bash scripts/desktop-ci.sh "$@"
