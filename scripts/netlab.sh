#!/usr/bin/env bash
# Grove on real networks: Linux network namespaces joined by veth pairs and bridges, home
# routers doing NAT with nftables, and real `grove` nodes inside them. Checks that members
# behind NAT sync through their circle's always-on node, that DCUtR hole punching gives
# them a direct connection where the NATs allow it (TCP and QUIC), that the relay carries a
# whole 10,000-decision first sync where they do not (symmetric NAT), that two members on
# one LAN find each other by mDNS alone and call each other back when the LAN between them
# dies and comes back, and that a laptop moving to another network, and the always-on node
# restarting, cost only seconds.
#
# Usage (root): bash scripts/netlab.sh
#   GROVE=path/to/grove     the binary to run (default: target/debug/grove, built if missing)
#   NETLAB_DECISIONS=N      size of the big circle (default 10000)
#   NETLAB_KEEP=1           keep the work directory (homes, logs) for reading afterwards
#   NETLAB_ONLY="a c"       run only these scenarios (d needs b's nodes and runs b too)
#
# Prints "netlab: skipped: <why>" and exits 0 where it cannot run (not root, no `ip netns`,
# no nft, namespaces not permitted); exits non-zero if any scenario fails. Figures go to
# BENCHMARKS.md ("Real networks (netlab)").
#
# The world it builds (every address is documentation or private space, nothing leaves
# the machine):
#
#   internet 203.0.113.0/24 (a bridge)
#     srv  .10   always-on member: `grove serve` (relay, rendezvous point)
#     r1   .1    home router, endpoint-independent NAT (masquerade keeps ports) -> 10.1.0.0/24: a, d1, d2
#     r2   .2    home router, endpoint-independent NAT                          -> 10.2.0.0/24: b
#     r3   .3    router with symmetric NAT (masquerade fully-random)            -> 10.3.0.0/24: c
#     r4   .4    a cafe's router, endpoint-independent NAT, where a moves to    -> 10.4.0.0/24
#
# Routers drop unsolicited packets from the internet silently, as home routers do.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

skip() {
  echo "netlab: skipped: $*"
  exit 0
}
[ "$(id -u)" -eq 0 ] || skip "not root (network namespaces and nftables need root)"
command -v ip >/dev/null 2>&1 || skip "no ip command (apt-get install iproute2)"
ip netns list >/dev/null 2>&1 || skip "ip has no netns support"
command -v nft >/dev/null 2>&1 || skip "no nft command (apt-get install nftables)"
command -v python3 >/dev/null 2>&1 || skip "no python3 (used to read grove's JSON)"

P="gnl$$"
probe="$P-probe"
ip netns add "$probe" 2>/dev/null || skip "cannot create network namespaces here"
if ! ip netns exec "$probe" nft -f - 2>/dev/null <<'EOF'
table ip t {
  chain c { type nat hook postrouting priority srcnat; masquerade fully-random; }
}
EOF
then
  ip netns del "$probe"
  skip "nftables NAT is not available in network namespaces here"
fi
ip netns del "$probe"

GROVE=${GROVE:-$ROOT/target/debug/grove}
if [ ! -x "$GROVE" ]; then
  echo "== building grove"
  cargo build -p grove-cli
fi
DECISIONS=${NETLAB_DECISIONS:-10000}
W=$(mktemp -d /tmp/grove-netlab.XXXXXX)
chmod 755 "$W"

NSS=()
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  local n
  for n in "${NSS[@]}"; do
    ip netns del "$n" 2>/dev/null || true
  done
  if [ -n "${NETLAB_KEEP:-}" ]; then
    echo "netlab: homes and logs kept in $W"
  else
    rm -rf "$W"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "netlab: $*" >&2; }
now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$(now)"; }

# wait_until SECONDS WHAT COMMAND...: polls COMMAND until it succeeds.
wait_until() {
  local secs=$1 what=$2
  shift 2
  local end=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$end" ]; then
      log "timed out after ${secs} s waiting for $what"
      return 1
    fi
    sleep 0.1
  done
}

# ---------------------------------------------------------------- the networks

netns() {
  local n="$P-$1"
  ip netns add "$n"
  NSS+=("$n")
  ip -n "$n" link set lo up
}

# wan NAME ADDR: plugs namespace NAME into the internet bridge as ADDR/24.
wan() {
  ip link add wan netns "$P-$1" type veth peer name "$1" netns "$P-inet"
  ip -n "$P-inet" link set "$1" master br0 up
  ip -n "$P-$1" addr add "$2/24" dev wan
  ip -n "$P-$1" link set wan up
}

# router NAME WAN_ADDR LAN_PREFIX eim|symmetric
router() {
  local name=$1 masq="masquerade"
  [ "$4" = symmetric ] && masq="masquerade fully-random"
  netns "$name"
  wan "$name" "$2"
  ip -n "$P-$name" link add lan type bridge
  ip -n "$P-$name" addr add "$3.1/24" dev lan
  ip -n "$P-$name" link set lan up
  ip netns exec "$P-$name" sysctl -qw net.ipv4.ip_forward=1
  ip netns exec "$P-$name" nft -f - <<EOF
table ip nat {
  chain postrouting { type nat hook postrouting priority srcnat; oifname "wan" $masq; }
}
table inet filter {
  chain input { type filter hook input priority filter; iifname "wan" ct state new drop; }
}
EOF
}

# plug HOST ROUTER LAN_PREFIX OCTET: (re)connects HOST's eth0 to ROUTER's LAN.
plug() {
  ip link add eth0 netns "$P-$1" type veth peer name "h-$1" netns "$P-$2"
  ip -n "$P-$2" link set "h-$1" master lan up
  ip -n "$P-$1" addr add "$3.$4/24" dev eth0
  ip -n "$P-$1" link set eth0 up
  ip -n "$P-$1" route add default via "$3.1"
}

host() {
  netns "$1"
  plug "$@"
}

build_world() {
  netns inet
  ip -n "$P-inet" link add br0 type bridge
  ip -n "$P-inet" link set br0 up
  netns srv
  wan srv 203.0.113.10
  router r1 203.0.113.1 10.1.0 eim
  router r2 203.0.113.2 10.2.0 eim
  router r3 203.0.113.3 10.3.0 symmetric
  router r4 203.0.113.4 10.4.0 eim
  host a r1 10.1.0 10
  host b r2 10.2.0 10
  host c r3 10.3.0 10
  host d1 r1 10.1.0 31
  host d2 r1 10.1.0 32
}

# ---------------------------------------------------------------- grove nodes

g() {
  local home=$1
  shift
  "$GROVE" --home "$W/$home" "$@"
}
json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }

declare -A PID PEER LOG
RUNS=0

# serve NAME NS ARGS...: starts `grove serve` for home NAME inside namespace NS.
serve() {
  launch "$@"
  started "$1"
}

# launch NAME NS [serve flags...]: starts `grove serve` for NAME's home in namespace NS
# without waiting for it (see `started`), so that two nodes can start at the same moment.
launch() {
  local name=$1 n=$2
  shift 2
  RUNS=$((RUNS + 1))
  # One log per run, so what a check reads is this run's.
  LOG[$name]="$W/$name.$RUNS.log"
  : >"$W/$name.out"
  ip netns exec "$P-$n" env GROVE_LOG="warn,grove_net=debug,grove_node=debug,libp2p_mdns=info,libp2p_dcutr=debug" \
    "$GROVE" --home "$W/$name" --json serve "$@" >>"$W/$name.out" 2>"${LOG[$name]}" &
  PID[$name]=$!
  PIDS+=($!)
}

started() {
  wait_until 60 "$1 to start" grep -q '"started"' "$W/$1.out" || return 1
  PEER[$1]=$(grep '"started"' "$W/$1.out" | tail -1 | json_field peer)
}

stop() {
  local pid=${PID[$1]}
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# has NAME TEXT [CIRCLE]: whether NAME's home holds a decision whose choice is TEXT.
has() {
  local circle=${3:-Lab}
  g "$1" --circle "$circle" --json decision list | grep -qF "\"choice\": \"$2\""
}

count() {
  g "$1" --circle "$2" --json decision list | python3 -c "import json,sys; print(len(json.load(sys.stdin)))"
}

# decide NAME TEXT: logs a decision in Lab on NAME's running node.
decide() {
  g "$1" --circle Lab decision log --team "$TEAM" --principle "$PRINCIPLE" \
    --context "netlab" --choice "$2" >/dev/null
}

# direct NAME PEER_NAME: NAME's log shows a direct (not relayed) connection to PEER_NAME
# that it did not have from the start: the hole punch.
direct_to() {
  grep "connection established" "${LOG[$1]}" | grep "peer=${PEER[$2]}" | grep -q "relayed=false"
}
direct_transport() {
  grep "connection established" "${LOG[$1]}" | grep "peer=${PEER[$2]}" | grep "relayed=false" |
    grep -q "/quic-v1" && echo QUIC || echo TCP
}
peer_synced() {
  grep '"peer-synced"' "$W/$1.out" | grep -q "${PEER[$2]}"
}
# lost NAME OTHER: whether NAME's node saw its last connection to OTHER close.
lost() { grep -q "grove_net::event_loop: disconnected peer=${PEER[$2]}" "${LOG[$1]}"; }
connected_to() {
  g "$1" --json peers | python3 -c "
import json, sys
peers = json.load(sys.stdin)
sys.exit(0 if any(p['peer'] == sys.argv[1] and p['connected'] for p in peers) else 1)" "${PEER[$2]}"
}
bytes_from() {
  g "$1" --json peers | python3 -c "
import json, sys
peers = json.load(sys.stdin)
print(sum(p['bytes_received'] for p in peers if p['peer'] == sys.argv[1]))" "${PEER[$2]}"
}

device() { g "$1" --json device id | json_field device; }

# The circle every member device is in ("Lab"), held by the always-on node, which therefore
# relays for them; exported once the node has recorded its public address in it.
setup_circle() {
  g srv --json circle create Lab >/dev/null
  local value
  value=$(g srv --json value add --title Care --statement "We look after each other." | json_field id)
  PRINCIPLE=$(g srv --json principle add --value "$value" --statement "Ask before deciding for someone." | json_field id)
  TEAM=$(g srv --json team add Kitchen | json_field id)
  local m
  for m in a b c; do
    g srv member admit "$(device $m)" --name "$m" >/dev/null
  done
  serve srv srv --listen /ip4/0.0.0.0/tcp/4001 --listen /ip4/0.0.0.0/udp/4001/quic-v1 --no-mdns
  # The node records its addresses in Lab as its listeners report them; members must get
  # both, or they could not connect over QUIC, nor punch holes over it.
  wait_until 30 "srv to listen on its public TCP address" grep -q "listening address=/ip4/203.0.113.10/tcp/4001" "${LOG[srv]}"
  wait_until 30 "srv to listen on its public QUIC address" grep -q "listening address=/ip4/203.0.113.10/udp/4001/quic-v1" "${LOG[srv]}"
  g srv circle export --out "$W/lab.grove" >/dev/null
  for m in a b c; do
    g "$m" circle import "$W/lab.grove" >/dev/null
  done
}

RESULTS=()
FAILED=0
result() {
  RESULTS+=("$1")
  log "$1"
}
fail() {
  FAILED=1
  result "FAIL $*"
  show_logs
}

# show_logs: the end of each node's latest log, so that a failure can be read where only
# this script's output is kept (CI). The control socket's chatter is left out.
show_logs() {
  local name
  for name in "${!LOG[@]}"; do
    echo "---- ${LOG[$name]} (last 40 lines)" >&2
    grep -v "control connection failed" "${LOG[$name]}" | tail -40 | cut -c1-400 >&2 || true
  done
}

registered() { grep -q "registered at rendezvous point" "${LOG[$1]}"; }

# ---------------------------------------------------------------- scenario a

# pair_over TRANSPORT LISTEN: a and b, behind two endpoint-independent NATs, start on
# TRANSPORT; b must find a through the rendezvous point, reach it through the relay, and
# DCUtR must then give them a direct connection.
pair_over() {
  local transport=$1 listen=$2 t0 first direct
  serve a a --no-relay --no-mdns --listen "$listen" || return 1
  wait_until 30 "a to register at the rendezvous point" registered a || return 1
  decide a "before b, $transport"
  t0=$(now)
  serve b b --no-relay --no-mdns --listen "$listen" || return 1
  wait_until 60 "b to sync with a ($transport)" peer_synced b a || return 1
  first=$(since "$t0")
  wait_until 60 "b to have a's decision" has b "before b, $transport" || return 1
  if ! wait_until 30 "a direct connection between a and b ($transport)" direct_to b a; then
    stop a
    stop b
    fail "a: EIM NAT pair over $transport: synced through the relay in ${first} s but no hole punch (see ${LOG[b]})"
    return 0
  fi
  direct=$(since "$t0")
  local via
  via=$(direct_transport b a)
  decide b "after the punch, $transport"
  local t1
  t1=$(now)
  wait_until 30 "a to have b's decision ($transport)" has a "after the punch, $transport" || return 1
  result "PASS a: EIM NAT pair over $transport: first sync ${first} s; direct ($via, DCUtR) after ${direct} s; a decision crosses in $(since "$t1") s"
  stop a
  stop b
}

scenario_a() {
  pair_over TCP /ip4/0.0.0.0/tcp/4001 || fail "a: EIM NAT pair over TCP"
  pair_over QUIC /ip4/0.0.0.0/udp/4001/quic-v1 || fail "a: EIM NAT pair over QUIC"
}

# ---------------------------------------------------------------- scenario b

# joins NAME CODE: NAME's running node joins with CODE; prints the seconds it took.
join_big() {
  local name=$1 code=$2 t0
  t0=$(now)
  g "$name" join "$code" --name "$name" >"$W/$name.join" 2>&1 || {
    log "$name could not join: $(cat "$W/$name.join")"
    return 1
  }
  wait_until 300 "$name to hold all $DECISIONS decisions" \
    bash -c "[ \"\$(\"$GROVE\" --home \"$W/$name\" --circle \"$BIG\" --json decision list | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')\" = \"$TOTAL\" ]" || return 1
  since "$t0"
}

# a holds a circle of $DECISIONS decisions that the always-on node does not hold; c, behind
# a symmetric NAT, joins it with a's invite, whose only address c can use is a's relayed
# one. No hole punch can work through c's NAT, so the whole first sync crosses the relay.
# b (behind an endpoint-independent NAT) joins the same way, for the direct comparison.
scenario_b() {
  local t0 secs bytes code
  t0=$(now)
  g a demo --decisions "$DECISIONS" >/dev/null
  log "seeded a circle of $DECISIONS decisions on a in $(since "$t0") s"
  BIG=$(g a --json circle list | python3 -c "import json,sys; print([c['id'] for c in json.load(sys.stdin) if c['name'] != 'Lab'][0])")
  TOTAL=$(count a "$BIG")
  serve a a --no-relay --no-mdns --listen /ip4/0.0.0.0/tcp/4001 --listen /ip4/0.0.0.0/udp/4001/quic-v1 || return 1
  wait_until 30 "a to take a relayed address" grep -q '/p2p-circuit' "$W/a.out" || return 1
  serve c c --no-relay --no-mdns --listen /ip4/0.0.0.0/tcp/4001 --listen /ip4/0.0.0.0/udp/4001/quic-v1 || return 1
  serve b b --no-relay --no-mdns --listen /ip4/0.0.0.0/tcp/4001 --listen /ip4/0.0.0.0/udp/4001/quic-v1 || return 1

  code=$(g a --circle "$BIG" --json invite create --uses 1 | json_field code)
  secs=$(join_big c "$code") || return 1
  bytes=$(bytes_from c a)
  local how="relayed"
  if direct_to c a; then how="direct ($(direct_transport c a))"; fi
  if [ "$how" != relayed ]; then
    fail "b: symmetric NAT: c reached a $how, which its NAT should not allow"
    return 0
  fi
  local c_line="symmetric NAT (c) <- EIM NAT (a): first sync of $TOTAL decisions through the relay in ${secs} s, $bytes bytes ($(python3 -c "print(f'{$bytes / $secs / 1e6:.2f}')") MB/s)"

  code=$(g a --circle "$BIG" --json invite create --uses 1 | json_field code)
  secs=$(join_big b "$code") || return 1
  bytes=$(bytes_from b a)
  how="relayed"
  if direct_to b a; then how="direct ($(direct_transport b a))"; fi
  result "PASS b': EIM NAT (b) <- EIM NAT (a): first sync of $TOTAL decisions in ${secs} s, $bytes bytes ($(python3 -c "print(f'{$bytes / $secs / 1e6:.2f}')") MB/s), $how"

  # DCUtR gives up after three rounds (about 30 s after the relayed connection came up):
  # only then is "relayed" the pair's final state rather than a moment of it.
  if ! wait_until 60 "DCUtR between a and c to give up" punch_failed c a; then
    fail "b: symmetric NAT: DCUtR between c and a neither succeeded nor gave up"
    return 0
  fi
  if direct_to c a; then
    fail "b: symmetric NAT: c reached a directly after all ($(direct_transport c a))"
    return 0
  fi
  local tried
  tried=$(grep "Attempting to hole-punch" "${LOG[c]}" "${LOG[a]}" | grep -E "${PEER[a]}|${PEER[c]}" | grep -oE "/(tcp|quic-v1)/" | sort -u | tr -d / | tr '\n' ' ')
  result "PASS b: $c_line; hole punch over ${tried% } tried and failed, as a symmetric NAT makes it"
}

punch_failed() {
  grep "hole punch failed" "${LOG[$1]}" "${LOG[$2]}" | grep -qE "peer=(${PEER[$1]}|${PEER[$2]})"
}

# ---------------------------------------------------------------- scenario c

# d1 and d2 share a circle no always-on node knows, on one bridged LAN, with no address
# given: only mDNS can bring them together.
scenario_c() {
  local t0
  g d1 --json circle create Kitchen >/dev/null
  local value principle team
  value=$(g d1 --json value add --title Care --statement "We feed whoever comes." | json_field id)
  principle=$(g d1 --json principle add --value "$value" --statement "Nobody eats alone." | json_field id)
  team=$(g d1 --json team add Cooks | json_field id)
  g d1 member admit "$(device d2)" --name d2 >/dev/null
  g d1 circle export --out "$W/kitchen.grove" >/dev/null
  g d2 circle import "$W/kitchen.grove" >/dev/null
  # Started one after the other, then (three times) both at once: two nodes that find
  # each other at the same moment both dial, and those dials must not undo each other.
  local round times=""
  for round in 1 2 3 4; do
    g d1 --circle Kitchen decision log --team "$team" --principle "$principle" \
      --context netlab --choice "soup on friday $round" >/dev/null
    t0=$(now)
    launch d1 d1 --no-relay --listen /ip4/0.0.0.0/tcp/0 --listen /ip4/0.0.0.0/udp/0/quic-v1
    if [ "$round" -eq 1 ]; then started d1 || return 1; fi
    launch d2 d2 --no-relay --listen /ip4/0.0.0.0/tcp/0 --listen /ip4/0.0.0.0/udp/0/quic-v1
    started d1 || return 1
    started d2 || return 1
    wait_until 60 "d2 to get d1's decision by mDNS (round $round)" \
      has d2 "soup on friday $round" Kitchen || return 1
    times="$times $(since "$t0")"
    stop d1
    stop d2
  done
  result "PASS c: two members on one LAN, mDNS only: in sync after starting (s, one after the other, then together):$times"
  scenario_c_cut "$team" "$principle"
}

# c': the LAN between d1 and d2 goes silent until their connection dies (QUIC's idle
# timeout), then comes back. mDNS refreshes each one's record for the other every five
# minutes and reports a peer only once, so no discovery brings them together again: they
# must call each other back themselves.
scenario_c_cut() {
  local team=$1 principle=$2 t0 secs n
  launch d1 d1 --no-relay --listen /ip4/0.0.0.0/udp/0/quic-v1
  launch d2 d2 --no-relay --listen /ip4/0.0.0.0/udp/0/quic-v1
  started d1 || return 1
  started d2 || return 1
  wait_until 30 "d1 and d2 to connect" connected_to d2 d1 || return 1
  for n in d1 d2; do
    ip netns exec "$P-$n" nft -f - <<'NFT'
table ip cut {
  chain in { type filter hook input priority 0; ip saddr 10.1.0.0/24 drop; }
}
NFT
  done
  wait_until 60 "d1 and d2 to lose their connection" lost d1 d2 || return 1
  wait_until 60 "d2 and d1 to lose their connection" lost d2 d1 || return 1
  g d1 --circle Kitchen decision log --team "$team" --principle "$principle" \
    --context netlab --choice "soup after the cut" >/dev/null
  t0=$(now)
  for n in d1 d2; do
    ip netns exec "$P-$n" nft delete table ip cut
  done
  wait_until 60 "d2 to get d1's decision after the LAN came back" \
    has d2 "soup after the cut" Kitchen || return 1
  secs=$(since "$t0")
  stop d1
  stop d2
  result "PASS c': the LAN between two members went silent until their connection died: in sync again ${secs} s after it came back"
}

# ---------------------------------------------------------------- scenario d

# a (a laptop) leaves its home network for a cafe's: its address moves from 10.1.0.0/24
# behind r1 to 10.4.0.0/24 behind r4. Syncing must resume within 10 s. Then the always-on
# node restarts, and everyone must reconnect to it.
scenario_d() {
  local t0 secs
  wait_until 30 "a to be connected to srv" connected_to a srv || return 1
  wait_until 30 "b to be connected to srv" connected_to b srv || return 1
  t0=$(now)
  ip -n "$P-a" link del eth0
  plug a r4 10.4.0 10
  decide b "while a moved"
  if ! wait_until 10 "a to sync again after moving" has a "while a moved"; then
    fail "d: a moved to another network and had not synced again after 10 s (see ${LOG[a]})"
    wait_until 60 "a to sync again at all" has a "while a moved" || return 1
  fi
  secs=$(since "$t0")
  decide a "from the cafe"
  wait_until 20 "b to get a's decision from the cafe" has b "from the cafe" || return 1
  result "PASS d: a moved to another network: in sync again ${secs} s after the move"

  t0=$(now)
  stop srv
  serve srv srv --listen /ip4/0.0.0.0/tcp/4001 --listen /ip4/0.0.0.0/udp/4001/quic-v1 --no-mdns || return 1
  local m late=""
  for m in a b c; do
    wait_until 10 "srv to see $m again" connected_to srv "$m" || late="$late $m"
  done
  if [ -n "$late" ]; then
    fail "d': the always-on node restarted and had not seen$late again after 10 s (see ${LOG[srv]})"
    for m in $late; do
      wait_until 60 "srv to see $m at all" connected_to srv "$m" || return 1
    done
  fi
  secs=$(since "$t0")
  decide srv "after the restart"
  for m in a b c; do
    wait_until 20 "$m to get srv's decision after its restart" has "$m" "after the restart" || return 1
  done
  result "PASS d': the always-on node restarted: a, b and c connected to it again ${secs} s after it stopped, and in sync"
}

# ---------------------------------------------------------------- run

log "building the networks (namespaces $P-*)"
build_world
for m in srv a b c d1 d2; do
  g "$m" init >/dev/null
done
setup_circle
log "always-on node ${PEER[srv]} at 203.0.113.10 (TCP and QUIC, port 4001)"

ONLY=${NETLAB_ONLY:-a b c d}
wants() { [[ " $ONLY " == *" $1 "* ]]; }
if wants d && ! wants b; then ONLY="$ONLY b"; fi
for s in a b c d; do
  if wants "$s"; then
    "scenario_$s" || fail "$s (see logs in $W)"
  fi
done

echo
echo "netlab results:"
for r in "${RESULTS[@]}"; do
  echo "  $r"
done
if [ "$FAILED" -ne 0 ]; then
  NETLAB_KEEP=1
  exit 1
fi
