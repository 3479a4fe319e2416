#!/usr/bin/env bash
# Interop of the facade's TLS with independent implementations, through the
# tools: zrec-client against `openssl s_server` / `gnutls-serv --echo`, and
# `openssl s_client` / `gnutls-cli` against `zrec-server`.  A multi-megabyte
# payload must arrive intact in both directions.
#
#   interop.sh PEER PROTO CIPHER TOOLDIR CERTDIR
#     PEER:  openssl-server | gnutls-server | openssl-client | gnutls-client
#     PROTO: tls1.2 | tls1.3;  CIPHER: an IANA name, or cbc-preferred: the
#     zrec end sets no suite list and the OpenSSL server prefers CBC suites
#     the engine cannot carry; the handshake must settle on its AEAD one.
set -euo pipefail
peer=$1 proto=$2 cipher=$3 tools=$4 certs=$5
work=$(mktemp -d)
pids=()
cleanup() {
  rm -f "$work/.hold"
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
touch "$work/.hold"

fail() { echo "FAIL: $*" >&2; for f in "$work"/*.log; do echo "--- $f" >&2; tail -20 "$f" >&2; done; exit 1; }

# 3 MiB of printable lines (gnutls-serv --echo and s_server work in lines).
python3 -c '
import random, sys
r = random.Random(7)
out = []
n = 0
while n < 3 << 20:
    line = "".join(r.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(r.randint(1, 200))) + "\n"
    out.append(line); n += len(line)
sys.stdout.write("".join(out))' > "$work/payload"
size=$(stat -c %s "$work/payload")

# Keeps a peer's stdin open after the payload, until this script ends (a plain
# `sleep` would outlive it and hold the test runner's output pipe open).
hold() { while [ -e "$work/.hold" ]; do sleep 0.1; done; }

# A free port on loopback.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

wait_port() { # the server listens (asked of the kernel: a probe connection
               # would use up `s_server -naccept 1`'s only connection)
  for _ in $(seq 1 100); do
    [ -n "$(ss -Hltn "sport = :$port" 2>/dev/null)" ] && return 0
    sleep 0.05
  done
  fail "server did not come up on port $port"
}

wait_size() { # file reaches the payload size
  for _ in $(seq 1 400); do
    [ -f "$1" ] && [ "$(stat -c %s "$1")" -ge "$size" ] && return 0
    sleep 0.05
  done
  fail "$1: $(stat -c %s "$1" 2>/dev/null || echo 0) of $size bytes"
}

case $cipher in
  TLS_AES_128_GCM_SHA256) ossl13=TLS_AES_128_GCM_SHA256; gnutls=AES-128-GCM ;;
  TLS_AES_256_GCM_SHA384) ossl13=TLS_AES_256_GCM_SHA384; gnutls=AES-256-GCM ;;
  TLS_CHACHA20_POLY1305_SHA256) ossl13=TLS_CHACHA20_POLY1305_SHA256; gnutls=CHACHA20-POLY1305 ;;
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256) ossl12=ECDHE-RSA-AES128-GCM-SHA256; gnutls=AES-128-GCM ;;
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) ossl12=ECDHE-RSA-AES256-GCM-SHA384; gnutls=AES-256-GCM ;;
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256) ossl12=ECDHE-RSA-CHACHA20-POLY1305; gnutls=CHACHA20-POLY1305 ;;
  cbc-preferred) ossl12=ECDHE-RSA-AES128-SHA256:AES128-SHA256:ECDHE-RSA-AES256-GCM-SHA384
                 ossl13=TLS_AES_128_GCM_SHA256; gnutls=AES-256-GCM ;;
  *) fail "no peer mapping for $cipher" ;;
esac
if [ "$proto" = tls1.3 ]; then
  ossl_ver=-tls1_3; ossl_cipher=(-ciphersuites "$ossl13")
  gnutls_prio="NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+$gnutls"
else
  ossl_ver=-tls1_2; ossl_cipher=(-cipher "$ossl12")
  [ "$cipher" = cbc-preferred ] && ossl_cipher+=(-serverpref)
  gnutls_prio="NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+$gnutls"
fi

suite=(--cipher "$cipher")
[ "$cipher" = cbc-preferred ] && suite=()
client=("$tools/zrec-client" --proto "$proto" --host localhost --port "$port"
        --ca "$certs/ca-cert.pem" "${suite[@]}" --idle-timeout 1500)
server=("$tools/zrec-server" --proto "$proto" --port "$port" --bind 127.0.0.1
        --cert "$certs/server-cert.pem" --key "$certs/server-key.pem" "${suite[@]}")

case $peer in
  openssl-server)
    # zrec-client -> s_server: s_server prints what it receives and sends
    # its own stdin (a second payload) back.
    cp "$work/payload" "$work/back"
    (sleep 1; cat "$work/back"; hold) 2>/dev/null | openssl s_server -accept "$port" "$ossl_ver" "${ossl_cipher[@]}" \
       -cert "$certs/server-cert.pem" -key "$certs/server-key.pem" -quiet -naccept 1 \
       > "$work/server.out" 2> "$work/server.log" &
    pids+=($!)
    wait_port
    (cat "$work/payload"; sleep 4) | "${client[@]}" > "$work/client.out" 2> "$work/client.log" || fail "zrec-client failed"
    wait_size "$work/server.out"
    cmp -s "$work/payload" "$work/server.out" || fail "s_server received different bytes"
    cmp -s "$work/back" "$work/client.out" || fail "zrec-client received $(stat -c %s "$work/client.out") bytes, not the $size sent"
    ;;
  gnutls-server)
    gnutls-serv --echo --port "$port" --x509certfile "$certs/server-cert.pem" \
      --x509keyfile "$certs/server-key.pem" --priority "$gnutls_prio" --disable-client-cert \
      > "$work/server.log" 2>&1 &
    pids+=($!)
    wait_port
    "${client[@]}" < "$work/payload" > "$work/client.out" 2> "$work/client.log" || fail "zrec-client failed"
    cmp -s "$work/payload" "$work/client.out" || fail "echo through gnutls-serv: $(stat -c %s "$work/client.out") of $size bytes"
    ;;
  openssl-client|gnutls-client)
    "${server[@]}" --echo > "$work/server.out" 2> "$work/server.log" &
    pids+=($!)
    wait_port
    if [ "$peer" = openssl-client ]; then
      (cat "$work/payload"; hold) 2>/dev/null | openssl s_client -connect "127.0.0.1:$port" -servername localhost \
         "$ossl_ver" "${ossl_cipher[@]}" -CAfile "$certs/ca-cert.pem" -verify_return_error -quiet \
         > "$work/client.out" 2> "$work/client.log" &
    else
      (cat "$work/payload"; hold) 2>/dev/null | gnutls-cli --port "$port" --x509cafile "$certs/ca-cert.pem" \
         --priority "$gnutls_prio" --logfile="$work/client.log" localhost \
         > "$work/client.out" 2>> "$work/client.log" &
    fi
    pids+=($!)
    wait_size "$work/client.out"
    cmp -s "$work/payload" "$work/client.out" || fail "echo through zrec-server differs"
    ;;
  *) fail "unknown peer $peer" ;;
esac
echo "ok $peer $proto $cipher ($size bytes each way)"
