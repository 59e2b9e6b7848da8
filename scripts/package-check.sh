#!/usr/bin/env bash
# Checks a Grove .deb as a user's machine would meet it: installs it with dpkg into a
# scratch root, checks what it ships (app, CLI, desktop entry, icons, man pages,
# completions, metainfo) and validates the desktop entry and the AppStream metainfo, runs
# the installed CLI and starts the installed app on a fresh home, then removes the package
# and checks it left nothing behind. Fails on any failure.
#
#   bash scripts/package-check.sh target/debug/bundle/deb/grove_0.1.0_amd64.deb
set -euo pipefail
deb=$(realpath "$1")
fail() { echo "package check: $*" >&2; exit 1; }

need=()
command -v desktop-file-validate >/dev/null || need+=(desktop-file-utils)
command -v appstreamcli >/dev/null || need+=(appstream)
command -v xvfb-run >/dev/null || need+=(xvfb xauth)
if ((${#need[@]})); then
  sudo_cmd=""
  [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
root="$scratch/root"
# A dpkg database of its own: the package is installed and removed there, not on this system.
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
touch "$root/var/lib/dpkg/status"
dpkg=(dpkg --root="$root" --log=/dev/null --force-not-root --force-depends --force-script-chrootless)

echo "== install into a scratch root"
# Its dependencies (WebKitGTK, GTK) are not in the scratch root's database: dpkg's complaint
# about that is expected and kept out of the log unless the install fails.
"${dpkg[@]}" -i "$deb" >"$scratch/dpkg.log" 2>&1 || { cat "$scratch/dpkg.log" >&2; fail "dpkg -i failed"; }
"${dpkg[@]}" -s grove | grep -q '^Status: install ok installed' || fail "dpkg does not list grove as installed"

echo "== what it ships"
for f in usr/bin/grove usr/bin/grove-desktop usr/share/applications/Grove.desktop \
  usr/share/metainfo/org.grove.desktop.metainfo.xml usr/share/man/man1/grove.1.gz \
  usr/share/man/man1/grove-decision-log.1.gz usr/share/bash-completion/completions/grove \
  usr/share/zsh/vendor-completions/_grove usr/share/fish/vendor_completions.d/grove.fish; do
  [[ -s "$root/$f" ]] || fail "missing /$f"
done
for size in 32x32 64x64 128x128 256x256 512x512; do
  [[ -s "$root/usr/share/icons/hicolor/$size/apps/grove-desktop.png" ]] || fail "no $size icon"
done
zcat "$root/usr/share/man/man1/grove.1.gz" | grep -q '^\.TH grove 1' || fail "grove.1 is not a man page"

echo "== desktop-file-validate and appstreamcli validate"
desktop-file-validate "$root/usr/share/applications/Grove.desktop"
appstreamcli validate --no-net "$root/usr/share/metainfo/org.grove.desktop.metainfo.xml"
grep -q '<launchable type="desktop-id">Grove.desktop</launchable>' \
  "$root/usr/share/metainfo/org.grove.desktop.metainfo.xml" || fail "the metainfo does not launch Grove.desktop"

echo "== the installed CLI and app"
"$root/usr/bin/grove" --version | grep -q '^grove ' || fail "grove --version"
home="$scratch/home"
GROVE_HOME="$home" "$root/usr/bin/grove" demo --decisions 20 >/dev/null
[[ $(GROVE_HOME="$home" "$root/usr/bin/grove" --json decision list --all | grep -o '"id"' | wc -l) -ge 20 ]] ||
  fail "the installed grove did not keep a demo circle"
# The app on a fresh home: still running after a few seconds (a crash or a failed start
# exits at once), with its home created.
app_home="$scratch/app-home"
set +e
GROVE_HOME="$app_home" GROVE_MDNS=0 GROVE_LISTEN=/ip4/127.0.0.1/tcp/0 \
  XDG_DATA_HOME="$scratch/data" XDG_CACHE_HOME="$scratch/cache" XDG_CONFIG_HOME="$scratch/config" \
  WEBKIT_DISABLE_SANDBOX_THIS_IS_DANGEROUS=1 \
  timeout 8 xvfb-run -a "$root/usr/bin/grove-desktop" >"$scratch/app.log" 2>&1
code=$?
set -e
[[ $code -eq 124 ]] || { cat "$scratch/app.log" >&2; fail "the installed app exited ($code) instead of running"; }
[[ -d "$app_home" ]] || fail "the installed app did not create its home"

echo "== remove"
"${dpkg[@]}" -r grove >/dev/null
left=$(find "$root" -path "$root/var" -prune -o -type f -print)
[[ -z "$left" ]] || fail "removing the package left files behind: $left"
echo "package check passed: $(basename "$deb")"
