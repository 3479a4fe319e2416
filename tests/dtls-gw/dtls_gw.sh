#!/usr/bin/env bash
# zrec-dtls-gw end to end: a DPDK net_tap device whose interface this test
# moves into a network namespace it creates; clients and the backend run in
# that namespace (10.77.0.1), the gateway is 10.77.0.2 on the tap.
#
#   dtls_gw.sh CASE ZREC_DTLS_GW
#     plain   20 clients x 50 datagrams of 1..1400 bytes through the gateway
#             to a backend and back, intact, one flow each; ARP answered
#     hostile malformed frames on the link between two rounds of clients:
#             dropped, counted, the clients served before and after
#     cli     --help, usage errors (exit 2)
set -u
case=${1:?case} gw=${2:?gw}
here=$(cd "$(dirname "$0")" && pwd)
ns=zrdg$$
ifc=zrdg$$
work=$(mktemp -d /tmp/zrec-dtls-gw.XXXXXX)
gw_pid=
cleanup() {
    [ -n "$gw_pid" ] && kill "$gw_pid" 2> /dev/null && wait "$gw_pid" 2> /dev/null
    ip netns pids "$ns" 2> /dev/null | xargs -r kill 2> /dev/null
    ip netns del "$ns" 2> /dev/null
    rm -rf "$work"
}
trap cleanup EXIT
fail() {
    echo "FAIL ($case): $*" >&2
    for f in gw.err gw.out clients.err backend.err; do
        [ -s "$work/$f" ] && { echo "--- $f" >&2; tail -20 "$work/$f" >&2; }
    done
    exit 1
}
note() { echo "# $*"; }

start_gw() { # [gateway options]
    ip netns add "$ns" || fail "ip netns add"
    "$gw" --no-huge --no-pci -m 256 --no-shconf --file-prefix="zrdg$$" --no-telemetry -l 0 \
        --log-level='*:error' --vdev="net_tap0,iface=$ifc" -- \
        --ip 10.77.0.2 --backend 10.77.0.1:5683 --seconds 120 "$@" \
        > "$work/gw.out" 2> "$work/gw.err" &
    gw_pid=$!
    local i
    for ((i = 0; i < 100; i++)); do
        ip link show "$ifc" > /dev/null 2>&1 && break
        kill -0 "$gw_pid" 2> /dev/null || fail "zrec-dtls-gw exited"
        sleep 0.1
    done
    ip link set "$ifc" netns "$ns" || fail "moving $ifc into $ns"
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add 10.77.0.1/24 dev "$ifc" || fail "address in $ns"
    ip -n "$ns" link set "$ifc" up || fail "link up in $ns"
    for ((i = 0; i < 100; i++)); do
        grep -q "listening on" "$work/gw.err" && return 0
        kill -0 "$gw_pid" 2> /dev/null || fail "zrec-dtls-gw exited"
        sleep 0.1
    done
    fail "zrec-dtls-gw did not start"
}

stop_gw() {
    kill -TERM "$gw_pid"
    wait "$gw_pid" || fail "zrec-dtls-gw exit status $?"
    gw_pid=
}

counter() { awk -v k="$1" '$1 == k { print $2 }' "$work/gw.out"; }

case $case in
plain)
    start_gw --plain
    ip netns exec "$ns" timeout 60 python3 "$here/udp_peer.py" backend 10.77.0.1 5683 \
        2> "$work/backend.err" &
    sleep 0.3
    ip netns exec "$ns" timeout 90 python3 "$here/udp_peer.py" clients 10.77.0.2 4433 20 50 \
        > "$work/clients.out" 2> "$work/clients.err" || fail "clients"
    note "$(cat "$work/clients.out")"
    stop_gw
    [ "$(counter flows)" = 20 ] || fail "flows: $(counter flows)"
    [ "$(counter to_client)" -ge 1000 ] || fail "to_client: $(counter to_client)"
    [ "$(counter arp_answered)" -ge 1 ] || fail "no ARP answered"
    note "gateway: $(tr '\n' ' ' < "$work/gw.out")"
    ;;
hostile)
    # Malformed frames from the link (random bytes, truncated and lying
    # headers, bad checksums, fragments, ARP garbage) between two rounds of
    # real clients: dropped and counted, nothing crashes, the clients are
    # served before and after.
    start_gw --plain
    ip netns exec "$ns" timeout 60 python3 "$here/udp_peer.py" backend 10.77.0.1 5683 \
        2> "$work/backend.err" &
    sleep 0.3
    ip netns exec "$ns" timeout 60 python3 "$here/udp_peer.py" clients 10.77.0.2 4433 5 20 \
        > "$work/clients.out" 2> "$work/clients.err" || fail "clients before"
    mac=$(ip -n "$ns" neigh show 10.77.0.2 | awk '{for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1)}')
    [ -n "$mac" ] || fail "no neighbour entry for the gateway"
    ip netns exec "$ns" timeout 60 python3 "$here/udp_peer.py" hostile "$ifc" "$mac" 9000 \
        > "$work/hostile.out" 2> "$work/hostile.err" || fail "hostile sender: $(cat "$work/hostile.err")"
    note "$(cat "$work/hostile.out")"
    ip netns exec "$ns" timeout 60 python3 "$here/udp_peer.py" clients 10.77.0.2 4433 5 20 \
        > "$work/clients2.out" 2> "$work/clients.err" || fail "clients after the hostile frames"
    note "after: $(cat "$work/clients2.out")"
    stop_gw
    note "gateway: $(tr '\n' ' ' < "$work/gw.out")"
    [ "$(counter dropped_malformed)" -ge 3000 ] || fail "dropped_malformed: $(counter dropped_malformed)"
    [ "$(counter flows)" = 10 ] || fail "flows: $(counter flows) (a hostile frame made a flow?)"
    ;;
cli)
    "$gw" --help > "$work/help" || fail "--help"
    for s in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" --backend --plain; do
        grep -q -- "$s" "$work/help" || fail "--help lacks $s"
    done
    "$gw" --no-huge --no-pci -m 64 --no-shconf --file-prefix="zrdgc$$" --no-telemetry -l 0 \
        --log-level='*:error' -- --backend 10.0.0.1:1 --plain 2> "$work/e1"
    [ $? = 2 ] || fail "missing --ip: not exit 2"
    grep -q -- "--ip is required" "$work/e1" || fail "no message for a missing --ip"
    "$gw" --no-huge --no-pci -m 64 --no-shconf --file-prefix="zrdgc$$" --no-telemetry -l 0 \
        --log-level='*:error' -- --ip 10.0.0.2 --backend nonsense --plain 2> "$work/e2"
    [ $? = 2 ] || fail "bad --backend: not exit 2"
    "$gw" --no-huge --no-pci -m 64 --no-shconf --file-prefix="zrdgc$$" --no-telemetry -l 0 \
        --log-level='*:error' -- --ip 10.0.0.2 --backend 10.0.0.1:1 --plain 2> "$work/e3"
    [ $? = 1 ] || fail "no port: not exit 1"
    grep -q "no DPDK port" "$work/e3" || fail "no message for a missing port"
    ;;
*)
    echo "unknown case $case" >&2
    exit 2
    ;;
esac
echo "ok: $case"
