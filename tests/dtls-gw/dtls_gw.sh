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
#   dtls_gw.sh CASE ZREC_DTLS_GW CERTS DGW_LOAD WOLFSSL_BIN
#     dtls-peers    openssl s_client -dtls1_2, gnutls-cli --udp, wolfSSL's example
#                   client (DTLS 1.3 and 1.2) through the gateway to the backend
#     dtls-many     64 sessions at once (DTLS 1.3 with connection IDs, DTLS 1.2),
#                   each datagram answered exactly, every session closed
#     dtls-attack   a relay tampers with, replays and adds garbage to the
#                   traffic of some sessions while others talk directly:
#                   every bad datagram dropped and counted, all answers right
#     dtls-move     DTLS 1.3 clients whose address changes mid-session: found
#                   by connection ID, their flows follow
#     dtls-timeout  clients that vanish mid-handshake: the gateway
#                   retransmits, then gives up (--hs-timeout), others go on
#     dtls-provider the records on a DPDK crypto device (crypto_aesni_gcm) and
#                   on wolfCrypt (--provider)
#     dtls-cli      usage and start-up errors of the DTLS options
set -u
case=${1:?case} gw=${2:?gw} certs=${3:-} load=${4:-} wolfbin=${5:-}
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
        --log-level='*:error' --vdev="net_tap0,iface=$ifc" ${eal_extra:-} -- \
        --ip 10.77.0.2 --backend 10.77.0.1:5683 --seconds 120 "$@" \
        > "$work/gw.out" 2> "$work/gw.err" &
    gw_pid=$!
    local i
    # The interface moves into the namespace only once the port has started
    # ("listening"): the tap driver opens its queues by the interface's
    # name, and one opened after the move would make a new interface of
    # that name here, beside the one the clients see.
    for ((i = 0; i < 300; i++)); do
        grep -q "listening on" "$work/gw.err" && break
        kill -0 "$gw_pid" 2> /dev/null || fail "zrec-dtls-gw exited"
        sleep 0.1
    done
    grep -q "listening on" "$work/gw.err" || fail "zrec-dtls-gw did not start"
    ip link show "$ifc" > /dev/null 2>&1 || fail "no interface $ifc"
    ip link set "$ifc" netns "$ns" || fail "moving $ifc into $ns"
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add 10.77.0.1/24 dev "$ifc" || fail "address in $ns"
    ip -n "$ns" link set "$ifc" up || fail "link up in $ns"
}

stop_gw() {
    # The clients' last datagrams (close_notify), through a relay too, are
    # in flight when they exit: a moment for them to arrive.
    sleep 0.5
    kill -TERM "$gw_pid"
    wait "$gw_pid" || fail "zrec-dtls-gw exit status $?"
    gw_pid=
}

counter() { awk -v k="$1" '$1 == k { print $2 }' "$work/gw.out"; }

# Options of a DTLS gateway with the test certificates.
dtls_opts=(--cert "$certs/server-cert.pem" --key "$certs/server-key.pem")
in_ns() { ip netns exec "$ns" "$@"; }
backend() { # backend (answers "echo:" + datagram) | mirror
    in_ns timeout 120 python3 "$here/udp_peer.py" "$1" 10.77.0.1 5683 2> "$work/backend.err" &
    sleep 0.3
}
load() { # NAME dgw_load options...: runs in the namespace, output in $work/NAME.out
    local name=$1
    shift
    in_ns timeout 90 "$load" --ca "$certs/ca-cert.pem" "$@" > "$work/$name.out" \
        2> "$work/$name.err" || fail "dgw_load $name: $(cat "$work/$name.err")"
    note "$name: $(cat "$work/$name.out")"
}
relay() { # PORT MODE SECONDS: a relay in the namespace toward the gateway
    in_ns timeout 120 python3 "$here/udp_peer.py" relay 10.77.0.1 "$1" 10.77.0.2 4433 "$2" "$3" \
        "$work/relay-$1.out" 2> "$work/relay-$1.err" &
    sleep 0.3
}
ge() { # COUNTER MIN
    local v
    v=$(counter "$1")
    [ "${v:-0}" -ge "$2" ] || fail "$1 = ${v:-none}, expected at least $2"
}
eq() { # COUNTER VALUE
    [ "$(counter "$1")" = "$2" ] || fail "$1 = $(counter "$1"), expected $2"
}

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
dtls-peers)
    start_gw "${dtls_opts[@]}"
    backend mirror
    # OpenSSL 3.0 and GnuTLS 3.7 speak DTLS 1.2 (no 1.3); each line comes back.
    (echo "hello from openssl"; sleep 2) | in_ns timeout 20 openssl s_client -dtls1_2 \
        -connect 10.77.0.2:4433 -CAfile "$certs/ca-cert.pem" -verify_return_error -quiet \
        > "$work/openssl.out" 2> "$work/openssl.err"
    grep -q "hello from openssl" "$work/openssl.out" || fail "openssl s_client: no echo ($(tail -3 "$work/openssl.err"))"
    (echo "hello from gnutls"; sleep 2) | in_ns timeout 20 gnutls-cli --udp \
        --x509cafile "$certs/ca-cert.pem" --verify-hostname localhost -p 4433 10.77.0.2 \
        > "$work/gnutls.out" 2> "$work/gnutls.err"
    grep -aq "hello from gnutls" "$work/gnutls.out" || fail "gnutls-cli: no echo ($(tail -3 "$work/gnutls.err"))"
    # wolfSSL's example client: -B sends 20000 random bytes in 1000-byte
    # records and compares each echo.  It looks for ./certs from its root.
    for v in 4 3; do
        (cd "$wolfbin/../share/wolfssl" && in_ns timeout 30 "$wolfbin/wolfssl-client" -u -v $v \
            -h 10.77.0.2 -p 4433 -A "$certs/ca-cert.pem" -x -B 20000,1000) \
            > "$work/wolfssl-$v.out" 2>&1 || fail "wolfssl-client -v $v: $(tail -3 "$work/wolfssl-$v.out")"
        grep -q "Benchmark 20000 bytes" "$work/wolfssl-$v.out" || fail "wolfssl-client -v $v: not echoed"
    done
    stop_gw
    note "gateway: $(tr '\n' ' ' < "$work/gw.out")"
    eq handshakes_done 4
    eq handshakes_failed 0
    ge records_opened 42 # 2 lines, 2 x 20 records, the DTLS 1.3 ACK
    ge records_sealed 42
    ;;
dtls-many)
    start_gw "${dtls_opts[@]}" --max-flows 256
    backend backend
    load many13 --proto dtls1.3 --host 10.77.0.2 --port 4433 --clients 32 --count 30 --cid &
    a=$!
    load many12 --proto dtls1.2 --host 10.77.0.2 --port 4433 --clients 32 --count 30
    wait $a || fail "the DTLS 1.3 clients"
    stop_gw
    note "gateway: $(tr '\n' ' ' < "$work/gw.out")"
    eq flows 64
    eq handshakes_done 64
    eq closed 64
    ge records_opened 1920
    ge records_sealed 1920
    eq dropped_auth 0
    ;;
dtls-attack)
    start_gw "${dtls_opts[@]}"
    backend backend
    relay 6000 attack 60
    load clean13 --proto dtls1.3 --host 10.77.0.2 --port 4433 --clients 4 --count 40 --cid &
    a=$!
    load attacked13 --proto dtls1.3 --host 10.77.0.1 --port 6000 --clients 4 --count 40 --cid
    load attacked12 --proto dtls1.2 --host 10.77.0.1 --port 6000 --clients 4 --count 40
    wait $a || fail "the clients beside the attack"
    stop_gw
    note "relay: $(cat "$work/relay-6000.out")"
    note "gateway: $(tr '\n' ' ' < "$work/gw.out")"
    tampered=$(awk '{print $4}' "$work/relay-6000.out")
    replayed=$(awk '{print $6}' "$work/relay-6000.out")
    [ "${tampered:-0}" -ge 300 ] || fail "the relay tampered with only ${tampered:-0} records"
    # Tampered and replayed records of the handshakes' last flights go to
    # wolfSSL (dropped there): at most a few per session.
    ge dropped_auth $((tampered - 16))
    ge dropped_replay $((replayed - 32))
    ge dropped_record 100
    eq handshakes_done 12
    eq closed 12
    eq handshakes_failed 0
    ;;
dtls-move)
    start_gw "${dtls_opts[@]}"
    backend backend
    relay 6000 move:10 60
    load moving --proto dtls1.3 --host 10.77.0.1 --port 6000 --clients 6 --count 40 --cid
    stop_gw
    note "relay: $(cat "$work/relay-6000.out")"
    note "gateway: $(tr '\n' ' ' < "$work/gw.out")"
    eq cid_moves 6
    eq flows 6
    eq closed 6
    ;;
dtls-timeout)
    start_gw "${dtls_opts[@]}" --hs-timeout 100,400
    backend backend
    # The relay lets the cookie request and the ServerHello's first datagram
    # through, then nothing: the gateway retransmits its flight and gives up.
    relay 6000 cut:2 60
    in_ns timeout 10 "$load" --ca "$certs/ca-cert.pem" --proto dtls1.2 --host 10.77.0.1 \
        --port 6000 --clients 1 --count 1 > /dev/null 2>&1 && fail "a cut handshake completed"
    load after --proto dtls1.2 --host 10.77.0.2 --port 4433 --clients 2 --count 10
    stop_gw
    note "gateway: $(tr '\n' ' ' < "$work/gw.out")"
    eq handshakes_timed_out 1
    eq handshakes_done 2
    ;;
dtls-provider)
    for p in cryptodev wolfcrypt; do
        if [ $p = cryptodev ]; then
            eal_extra=--vdev=crypto_aesni_gcm0 start_gw "${dtls_opts[@]}" --provider cryptodev:crypto_aesni_gcm0
        else
            start_gw "${dtls_opts[@]}" --provider wolfcrypt
        fi
        backend backend
        load prov13-$p --proto dtls1.3 --host 10.77.0.2 --port 4433 --clients 4 --count 30 --cid
        load prov12-$p --proto dtls1.2 --host 10.77.0.2 --port 4433 --clients 4 --count 30
        stop_gw
        note "gateway ($p): $(tr '\n' ' ' < "$work/gw.out")"
        eq handshakes_done 8
        ge records_opened 240
        [ $p = cryptodev ] && ge offload_device_ops 480
        ip netns pids "$ns" | xargs -r kill 2> /dev/null
        ip netns del "$ns"
        sleep 0.3
    done
    ;;
dtls-cli)
    eal=(--no-huge --no-pci -m 64 --no-shconf --file-prefix="zrdgc$$" --no-telemetry -l 0 --log-level='*:error' --)
    base=(--ip 10.0.0.2 --backend 10.0.0.1:1)
    expect() { # STATUS MESSAGE options...
        local st=$1 msg=$2
        shift 2
        "$gw" "${eal[@]}" "${base[@]}" "$@" > /dev/null 2> "$work/err"
        local rc=$?
        [ $rc = "$st" ] || fail "$*: exit $rc, expected $st"
        grep -q -- "$msg" "$work/err" || fail "$*: no '$msg' in: $(cat "$work/err")"
    }
    expect 2 "give --cert and --key" 
    expect 2 "give --cert and --key" --cert "$certs/server-cert.pem"
    expect 2 "no --cert" --plain --cert "$certs/server-cert.pem"
    expect 2 "expected 1.2, 1.3" "${dtls_opts[@]}" --dtls 1.1
    expect 2 "expected ipsecmb" "${dtls_opts[@]}" --provider quantum
    expect 2 "MAX below MIN" "${dtls_opts[@]}" --hs-timeout 500,100
    # Start-up errors need a port: a net_null device.
    eal=(--no-huge --no-pci -m 64 --no-shconf --file-prefix="zrdgc$$" --no-telemetry -l 0 --log-level='*:error' --vdev=net_null0 --)
    expect 1 "not a PEM or DER certificate" --cert /dev/null --key "$certs/server-key.pem"
    expect 1 "not the private key" --cert "$certs/server-cert.pem" --key "$certs/ecc-key.pem"
    expect 1 "cryptodev:nosuch" "${dtls_opts[@]}" --provider cryptodev:nosuch
    ;;
*)
    echo "unknown case $case" >&2
    exit 2
    ;;
esac
echo "ok: $case"
