#!/usr/bin/env bash
# Renders icons/grove.svg into the PNG sizes and the .ico the desktop app bundles.
# Needs rsvg-convert and ImageMagick (Debian: librsvg2-bin, imagemagick). The outputs are committed; rerun after editing the SVG.
set -euo pipefail
cd "$(dirname "$0")/../icons"
render() { rsvg-convert -w "$1" -h "$1" grove.svg -o "$2"; }
render 32 32x32.png
render 64 64x64.png
render 128 128x128.png
render 256 128x128@2x.png
render 256 256x256.png
render 512 icon.png
for s in 16 24 32 48 64 256; do render "$s" "ico-$s.png"; done
convert ico-16.png ico-24.png ico-32.png ico-48.png ico-64.png ico-256.png icon.ico
rm -f ico-*.png
