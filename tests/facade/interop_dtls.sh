#!/usr/bin/env bash
# DTLS interop of the facade with independent implementations, through the
# tools (the DTLS counterpart of interop.sh):
#   zrec-client against `openssl s_server -dtls1_2`, `gnutls-serv --udp --echo`
#   and wolfSSL's example server (`-u -e`, DTLS 1.2 and 1.3);
#   `openssl s_client -dtls1_2`, `gnutls-cli --udp` and wolfSSL's example
#   client (`-u -B`) against `zrec-server --echo`.
# A multi-datagram payload (300 lines of 800..1200 bytes: one line = one
# record = one datagram, < 1400 bytes, from zrec-client) must arrive intact.
#
#   interop_dtls.sh PEER PROTO CIPHER TOOLDIR CERTDIR WOLFSSL_BINDIR
#     PEER:  openssl-server | gnutls-server | wolfssl-server |
#            openssl-client | gnutls-client | wolfssl-client |
#            wolfssl-client-keyupdate (DTLS 1.3: the client sends a KeyUpdate
#            first; a relay checks both directions reach the next epoch)
#     PROTO: dtls1.2 | dtls1.3 (dtls1.3: wolfSSL only: OpenSSL 3.0 and
#            GnuTLS 3.7 have no DTLS 1.3);  CIPHER: an IANA name
#
# Every sender is flow-controlled (see pace()); peers' stdin is held open
# only while needed (see hold()); everything is bounded by a timeout.
set -euo pipefail
peer=$1 proto=$2 cipher=$3 tools=$4 certs=$5 wolfbin=${6:-}
work=$(mktemp -d)
# ZREC_INTEROP_KEEP=1: keep the work directory (logs, outputs) for a look.
[ -n "${ZREC_INTEROP_KEEP:-}" ] && echo "work directory: $work" >&2
pids=()
# zrec-server runs under `timeout --foreground`: without it, timeout follows
# the SIGTERM it forwards with a SIGCONT, which can discard the SIGSTOP of
# LeakSanitizer's exit-time tracer (sanitized builds: zrec-server exits
# cleanly on SIGTERM, and then LSan checks) - the tracer then waits forever.
cleanup() {
  rm -f "$work/.hold"
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -n "${ZREC_INTEROP_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
touch "$work/.hold"

fail() {
  echo "FAIL: $peer $proto $cipher: $*" >&2
  for f in "$work"/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -20 "$f" >&2; }; done
  exit 1
}

python3 -c '
import random, sys
r = random.Random(11)
sys.stdout.write("".join(
    "".join(r.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(r.randint(800, 1200))) + "\n"
    for _ in range(300)))' > "$work/payload"
size=$(stat -c %s "$work/payload")
lines=$(wc -l < "$work/payload")

# pace FILE ECHO: writes FILE to stdout one line at a time (a peer that reads
# its stdin in chunks then sends about one line per record) with flow
# control: at most $window bytes ahead of what has arrived in ECHO (the file
# where the receiving side writes what it gets), and the second line only
# once the first has arrived (the handshake is done).  UDP on loopback keeps
# order but drops datagrams when a receive buffer overflows, which a busy
# machine would otherwise make happen; this keeps every buffer far from
# full.  Gives up (status 1) when nothing arrives for 20 s.
window=16384
pace() {
  python3 -c '
import os, sys, time
src, echo, window = sys.argv[1], sys.argv[2], int(sys.argv[3])
def arrived():
    try:
        return os.stat(echo).st_size
    except FileNotFoundError:
        return 0
sent = 0
with open(src, "rb") as f:
    for line in f:
        deadline = time.monotonic() + 20
        while sent - arrived() > window or (sent and not arrived()):
            if time.monotonic() > deadline:
                sys.exit(1)
            time.sleep(0.0005)
        sys.stdout.buffer.write(line)
        sys.stdout.buffer.flush()
        sent += len(line)
        time.sleep(0.0005)' "$1" "$2" "$window"
}

# Keeps a peer's stdin open until this script ends (a plain `sleep` would
# outlive it and hold the test runner's output pipe open).
hold() { while [ -e "$work/.hold" ]; do sleep 0.1; done; }

# Waits until FILE contains TEXT (a peer's handshake is complete), at most
# 10 s; returns non-zero on timeout (the caller's later checks say why).
wait_text() {
  for _ in $(seq 1 200); do
    grep -qF "$2" "$1" 2>/dev/null && return 0
    [ -e "$work/.hold" ] || return 1
    sleep 0.05
  done
  return 1
}

# Waits until FILE holds the whole payload, at most 30 s.
wait_size() {
  for _ in $(seq 1 600); do
    [ -f "$1" ] && [ "$(stat -c %s "$1")" -ge "$size" ] && return 0
    [ -e "$work/.hold" ] || return 1
    sleep 0.05
  done
  return 1
}
size_of() { stat -c %s "$1" 2>/dev/null || echo 0; }

# A free UDP port on loopback.
port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

wait_port() { # the server's UDP socket is bound (asked of the kernel: a
              # probe datagram would start a handshake)
  for _ in $(seq 1 200); do
    [ -n "$(ss -Huln "sport = :$port" 2>/dev/null)" ] && return 0
    sleep 0.05
  done
  fail "server did not come up on UDP port $port"
}

# Waits (at most 10 s) for a peer server to exit by itself, which it does
# once it has seen zrec-client's close_notify; its exit status must be 0.
wait_exit() {
  local pid=$1
  for _ in $(seq 1 200); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  kill -0 "$pid" 2>/dev/null && fail "$2 still running 10 s after zrec-client closed (no close_notify seen?)"
  wait "$pid" || fail "$2 exited with status $?"
}

case $proto in
  dtls1.2|dtls1.3) ;;
  *) fail "unknown protocol $proto" ;;
esac
case $cipher in
  TLS_AES_128_GCM_SHA256) wolf=TLS13-AES128-GCM-SHA256 ;;
  TLS_AES_256_GCM_SHA384) wolf=TLS13-AES256-GCM-SHA384 ;;
  TLS_CHACHA20_POLY1305_SHA256) wolf=TLS13-CHACHA20-POLY1305-SHA256 ;;
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256) ossl=ECDHE-RSA-AES128-GCM-SHA256; gnutls=AES-128-GCM; wolf=$ossl ;;
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) ossl=ECDHE-RSA-AES256-GCM-SHA384; gnutls=AES-256-GCM; wolf=$ossl ;;
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256) ossl=ECDHE-RSA-CHACHA20-POLY1305; gnutls=CHACHA20-POLY1305; wolf=$ossl ;;
  *) fail "no peer mapping for $cipher" ;;
esac
case $peer in
  openssl-*|gnutls-*)
    [ "$proto" = dtls1.2 ] || fail "$peer has no $proto"
    [ -n "${ossl:-}" ] || fail "$cipher is not a DTLS 1.2 suite" ;;
  wolfssl-*)
    [ -x "$wolfbin/wolfssl-server" ] && [ -x "$wolfbin/wolfssl-client" ] ||
      fail "no wolfSSL example server/client in '$wolfbin' (tools/bootstrap installs them)"
    # The examples look for ./certs/dh2048.pem from their working directory
    # ("wolf root"); our certificates are passed by absolute path.
    wolfroot=$wolfbin/../share/wolfssl
    [ -f "$wolfroot/certs/dh2048.pem" ] || fail "$wolfroot/certs: wolfSSL's certs tree missing"
    if [ "$proto" = dtls1.3 ]; then wolfver=4; else wolfver=3; fi ;;
esac
gnutls_prio="NORMAL:-VERS-ALL:+VERS-DTLS1.2:-CIPHER-ALL:+${gnutls:-}"

# --sni: the certificate names localhost; 127.0.0.1 keeps the client off ::1
# (UDP has no connection refusal to fall back on).
client=("$tools/zrec-client" --proto "$proto" --host 127.0.0.1 --sni localhost --port "$port"
        --ca "$certs/ca-cert.pem" --cipher "$cipher" --idle-timeout 1500)
server=("$tools/zrec-server" --proto "$proto" --port "$port" --bind 127.0.0.1
        --cert "$certs/server-cert.pem" --key "$certs/server-key.pem" --cipher "$cipher" --echo)

# zrec-client's stdin: the payload (flow-controlled by ECHO, where it
# arrives), then open until every FILE holds the whole payload (or 30 s
# pass); at EOF zrec-client idles --idle-timeout and closes.  Nothing to wait
# for if zrec-client has gone (pace fails on the pipe).
client_input() {
  local echo=$1
  pace "$work/payload" "$echo" 2>/dev/null || return 0
  for f in "$@"; do wait_size "$f" || break; done
}

case $peer in
  openssl-server)
    # s_server has no echo mode: it prints what it receives, and sends its
    # own stdin (a second payload, paced once the handshake is done) back.
    # -brief: "Protocol version: ..." on stderr when the handshake is done.
    python3 -c 'import sys; sys.stdout.write("".join(l[::-1][1:] + "\n" for l in open(sys.argv[1])))' \
      "$work/payload" > "$work/back"
    # Through a FIFO, not a pipe: s_server must be a job of its own for
    # wait_exit (waiting on a pipeline waits for its feeder too).
    mkfifo "$work/server.in"
    (wait_text "$work/server.log" "Protocol version" && pace "$work/back" "$work/client.out"; hold) 2>/dev/null \
      > "$work/server.in" &
    pids+=($!)
    timeout 60 openssl s_server -dtls1_2 -accept "$port" -cipher "$ossl" -brief -naccept 1 \
      -cert "$certs/server-cert.pem" -key "$certs/server-key.pem" \
      < "$work/server.in" > "$work/server.out" 2> "$work/server.log" &
    spid=$!
    pids+=($spid)
    wait_port
    client_input "$work/server.out" "$work/client.out" |
      timeout 60 "${client[@]}" > "$work/client.out" 2> "$work/client.log" || fail "zrec-client failed"
    cmp -s "$work/payload" "$work/server.out" ||
      fail "s_server received $(size_of "$work/server.out") bytes, not the $size sent (or different ones)"
    cmp -s "$work/back" "$work/client.out" ||
      fail "zrec-client received $(size_of "$work/client.out") bytes from s_server, not the $size sent (or different ones)"
    wait_exit "$spid" "openssl s_server"
    ;;
  gnutls-server)
    # --mtu: gnutls refuses records over its MTU (1200 by default); lines fit,
    # the larger MTU is headroom only.
    timeout 60 gnutls-serv --udp --echo --mtu 16384 --port "$port" \
      --x509certfile "$certs/server-cert.pem" --x509keyfile "$certs/server-key.pem" \
      --priority "$gnutls_prio" --disable-client-cert > "$work/server.log" 2>&1 &
    pids+=($!)
    wait_port
    client_input "$work/client.out" |
      timeout 60 "${client[@]}" > "$work/client.out" 2> "$work/client.log" || fail "zrec-client failed"
    cmp -s "$work/payload" "$work/client.out" ||
      fail "echo through gnutls-serv: $(size_of "$work/client.out") of $size bytes (or different ones)"
    ;;
  wolfssl-server)
    # -e: echo each record back; -d: no client certificate; -C 1 (default):
    # exit after the first connection, once it sees close_notify.
    (cd "$wolfroot" && exec timeout 60 "$wolfbin/wolfssl-server" -u -v "$wolfver" -p "$port" -e -d \
       -l "$wolf" -c "$certs/server-cert.pem" -k "$certs/server-key.pem") \
       > "$work/server.log" 2>&1 &
    spid=$!
    pids+=($spid)
    wait_port
    client_input "$work/client.out" |
      timeout 60 "${client[@]}" > "$work/client.out" 2> "$work/client.log" || fail "zrec-client failed"
    cmp -s "$work/payload" "$work/client.out" ||
      fail "echo through wolfssl-server: $(size_of "$work/client.out") of $size bytes (or different ones)"
    wait_exit "$spid" "wolfssl-server"
    ;;
  openssl-client|gnutls-client)
    timeout --foreground 60 "${server[@]}" > "$work/server.out" 2> "$work/server.log" &
    pids+=($!)
    wait_port
    # pace: the first line alone, so that no part of the payload waits in
    # the pipe while the handshake runs (these clients read stdin in chunks).
    feed() { pace "$work/payload" "$work/client.out"; hold; }
    if [ "$peer" = openssl-client ]; then
      # -ign_eof: also keeps s_client commands (a line starting with Q, R or
      # k) out of the payload.
      feed 2>/dev/null |
        timeout 60 openssl s_client -dtls1_2 -connect "127.0.0.1:$port" -servername localhost \
          -cipher "$ossl" -CAfile "$certs/ca-cert.pem" -verify_return_error -brief -ign_eof \
          > "$work/client.out" 2> "$work/client.log" &
    else
      feed 2>/dev/null |
        timeout 60 gnutls-cli --udp --mtu 16384 --port "$port" --x509cafile "$certs/ca-cert.pem" \
          --verify-hostname localhost --sni-hostname localhost --priority "$gnutls_prio" \
          --logfile="$work/client.log" 127.0.0.1 > "$work/client.out" 2>> "$work/client.log" &
    fi
    pids+=($!)
    wait_size "$work/client.out" || true
    cmp -s "$work/payload" "$work/client.out" ||
      fail "echo through zrec-server: $(size_of "$work/client.out") of $size bytes (or different ones)"
    ;;
  wolfssl-client)
    timeout --foreground 60 "${server[@]}" > "$work/server.out" 2> "$work/server.log" &
    pids+=($!)
    wait_port
    # -B TOTAL,BLOCK: sends TOTAL bytes of random data in BLOCK-byte records
    # (the same block each time), each one after the echo of the previous one
    # arrived and compared equal; it exits non-zero on a difference.  (An
    # echo that never comes costs it a 2 s wait, not a failure: the example
    # has no stricter mode.)  -x: no client certificate.
    (cd "$wolfroot" && exec timeout 60 "$wolfbin/wolfssl-client" -u -v "$wolfver" -h 127.0.0.1 -p "$port" \
       -l "$wolf" -A "$certs/ca-cert.pem" -x -B "$size,1000") \
       > "$work/client.log" 2>&1 || fail "wolfssl-client failed (status $?)"
    grep -q "Benchmark $size bytes" "$work/client.log" || fail "wolfssl-client did not report $size bytes echoed"
    ;;
  wolfssl-client-keyupdate)
    [ "$proto" = dtls1.3 ] || fail "KeyUpdate is a DTLS 1.3 message"
    timeout --foreground 60 "${server[@]}" > "$work/server.out" 2> "$work/server.log" &
    pids+=($!)
    wait_port
    # A relay between wolfssl-client and zrec-server that notes each
    # datagram's direction and first byte.  RFC 9147 §4: a unified header
    # (001xxxxx) carries the epoch's low two bits; application data starts
    # in epoch 3, so bits 00 mean epoch 4, reached only once the KeyUpdate
    # was ACKed (§8): the client's by zrec-server, and zrec-server's own
    # (it answers update_requested) by the client.
    rport=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    timeout 30 python3 -c '
import socket, select, sys
rport, sport, log = int(sys.argv[1]), int(sys.argv[2]), open(sys.argv[3], "w", buffering=1)
front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); front.bind(("127.0.0.1", rport))
back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); back.connect(("127.0.0.1", sport))
client = None
while True:
    r, _, _ = select.select([front, back], [], [], 20)
    if not r:
        break
    for s in r:
        if s is front:
            d, client = front.recvfrom(65536); back.send(d); log.write("c2s %d\n" % d[0])
        else:
            d = back.recv(65536); front.sendto(d, client); log.write("s2c %d\n" % d[0])
' "$rport" "$port" "$work/relay.txt" 2> "$work/relay.log" &
    pids+=($!)
    for _ in $(seq 1 100); do [ -n "$(ss -Huln "sport = :$rport" 2>/dev/null)" ] && break; sleep 0.05; done
    # -I: wolfSSL_update_keys() (update_requested) before the application
    # data; the example then sends "hello wolfssl!" and prints the echo.
    (cd "$wolfroot" && exec timeout 30 "$wolfbin/wolfssl-client" -u -v 4 -h 127.0.0.1 -p "$rport" \
       -l "$wolf" -A "$certs/ca-cert.pem" -x -I) \
       > "$work/client.log" 2>&1 || fail "wolfssl-client failed (status $?)"
    grep -q "hello wolfssl!" "$work/client.log" || fail "no echo after the KeyUpdate"
    epoch4() { awk -v dir="$1" '$1 == dir && $2 >= 32 && $2 < 64 && $2 % 4 == 0' "$work/relay.txt" | grep -q .; }
    epoch4 c2s || fail "the client never reached epoch 4: its KeyUpdate was not ACKed"
    epoch4 s2c || fail "zrec-server never reached epoch 4: it did not answer update_requested"
    ;;
  *) fail "unknown peer $peer" ;;
esac
# zrec-server goes on serving after a client's error, which it names on
# stderr ("recvfrom: EBADMSG (...)"): there must be none.  (zrec-client's
# errors are its exit status.)
if [ "${peer%-client}" != "$peer" ] &&
   grep -E '^(recvfrom|sendto|poll): ' "$work/server.log" >&2; then
  fail "zrec-server reported errors"
fi
if [ "$peer" = wolfssl-client-keyupdate ]; then
  echo "ok $peer $proto $cipher (KeyUpdate both ways, data before and after)"
elif [ "$peer" = wolfssl-client ]; then
  echo "ok $peer $proto $cipher ($size bytes in 1000-byte datagrams, each way)"
else
  echo "ok $peer $proto $cipher ($size bytes, $lines datagrams, each way)"
fi
