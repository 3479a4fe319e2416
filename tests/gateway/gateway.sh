#!/usr/bin/env bash
# tests/gateway/gateway.sh CASE GW PEER ECHO CERTDIR
#
# zrec-gw end to end, one case per run (meson suite 'gateway'):
#   GW     build/tools/zrec-gw
#   PEER   gw_peer: OpenSSL TLS client (bulk echo checks, many connections,
#          tampering, resets, resumption)
#   ECHO   gw_echo: the backend (echo / sink, PROXY v2 parser, dying backend)
#   CERTDIR  the test PKI (tools/gen-certs)
# Real peers too: openssl s_client and gnutls-cli.  Everything on 127.0.0.1,
# every wait bounded.
set -uo pipefail
case=${1:?case} gw=${2:?gw} peer=${3:?peer} echo_bin=${4:?echo} certs=${5:?certdir}

work=$(mktemp -d /tmp/zrec-gwtest.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do
        { kill -9 "$p" && wait "$p"; } 2> /dev/null
    done
    [ -n "${KEEP:-}" ] && echo "kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT

fail() {
    echo "FAIL ($case): $*" >&2
    for f in "$work"/gw.err "$work"/echo.err "$work"/access.log; do
        [ -s "$f" ] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }
    done
    exit 1
}
note() { echo "# $*"; }

# A free TCP port on 127.0.0.1 (bound by the kernel, then released).
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_for FILE TEXT [SECONDS]: until FILE contains TEXT.
wait_for() {
    local i
    for ((i = 0; i < ${3:-10} * 20; i++)); do
        grep -q -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

bport=$(free_port)
gport=$(free_port)
sport=$(free_port)
ca=$certs/ca-cert.pem

start_echo() { # [gw_echo options]
    "$echo_bin" --port "$bport" --timeout-ms 170000 "$@" 2> "$work/echo.err" &
    pids+=($!)
    wait_for "$work/echo.err" "listening" || fail "gw_echo did not start"
}

gw_pid=
start_gw() { # [zrec-gw options]
    "$gw" --listen "127.0.0.1:$gport" --backend "127.0.0.1:$bport" --workers 2 \
        --stats "127.0.0.1:$sport" --access-log "$work/access.log" "$@" 2> "$work/gw.err" &
    gw_pid=$!
    pids+=("$gw_pid")
    wait_for "$work/gw.err" "listening on" || fail "zrec-gw did not start"
}

tls_gw() { start_gw --cert "$certs/server-cert.pem" --key "$certs/server-key.pem" "$@"; }

# stat NAME: a counter from the stats endpoint.
stat() {
    local v
    v=$(timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$sport && cat <&3" | awk -v k="$1" '$1 == k { print $2 }')
    echo "${v:-missing}"
}

peer() { timeout 120 "$peer" --port "$gport" --ca "$ca" "$@"; }

expect_log() { # TEXT: the access log (lines land when connections end)
    wait_for "$work/access.log" "$1" 5 || fail "access log lacks '$1'"
}

random_file() { head -c "$2" /dev/urandom > "$1"; }

# echo_client CMD...: CMD (a TLS client reading stdin, printing what it
# receives) gets $work/in on stdin, kept open; its output goes to $work/out
# until as many bytes came back (at most 60 s), then it is stopped.
echo_client() {
    local want i
    want=$(wc -c < "$work/in")
    : > "$work/out"
    mkfifo "$work/fifo"
    { cat "$work/in"; exec sleep 90; } > "$work/fifo" &
    local feeder=$!
    timeout 90 "$@" < "$work/fifo" > "$work/out" 2>> "$work/client.err" &
    local cl=$!
    for ((i = 0; i < 1200; i++)); do
        [ "$(wc -c < "$work/out")" -ge "$want" ] && break
        kill -0 "$cl" 2> /dev/null || break
        sleep 0.05
    done
    kill "$cl" "$feeder" 2> /dev/null
    wait "$cl" "$feeder" 2> /dev/null
    rm -f "$work/fifo"
    return 0
}

case $case in

openssl-4mb)
    # openssl s_client sends 4 MiB through the gateway to an echo backend and
    # reads 4 MiB back; both must be intact.
    start_echo
    tls_gw
    random_file "$work/in" 4194304
    echo_client openssl s_client -connect "127.0.0.1:$gport" -CAfile "$ca" -verify_return_error -quiet
    cmp "$work/in" "$work/out" || fail "echo through s_client differs ($(wc -c < "$work/out") bytes)"
    ;;

gnutls-4mb)
    start_echo
    tls_gw
    random_file "$work/in" 4194304
    echo_client gnutls-cli --x509cafile="$ca" -p "$gport" --logfile="$work/client.err" localhost
    cmp "$work/in" "$work/out" || fail "echo through gnutls-cli differs ($(wc -c < "$work/out") bytes)"
    ;;

tls12)
    # TLS 1.2 (ECDHE-RSA-AES256-GCM) and TLS 1.3 ChaCha20-Poly1305 end to end.
    start_echo
    tls_gw
    peer --tls1.2 --bytes 1048576 > "$work/out" || fail "TLS 1.2 transfer failed"
    printf 'chacha\n' > "$work/in"
    echo_client openssl s_client -connect "127.0.0.1:$gport" -CAfile "$ca" \
        -ciphersuites TLS_CHACHA20_POLY1305_SHA256 -quiet
    cmp "$work/in" "$work/out" || fail "ChaCha20-Poly1305 echo differs"
    expect_log "suite=TLS13-CHACHA20-POLY1305-SHA256"
    expect_log "version=TLSv1.2"
    ;;

keyupdate)
    # openssl s_client's KeyUpdate, with update_requested ("K": the gateway
    # must answer with its own) and without ("k"); data flows across both
    # (RFC 8446 §4.6.3).
    start_echo
    tls_gw
    (echo hello; sleep 0.3; echo K; sleep 0.3; echo after-update; sleep 0.3; echo k; sleep 0.3
        echo again; sleep 0.5) | timeout 20 openssl s_client -connect "127.0.0.1:$gport" \
        -CAfile "$ca" -no_ign_eof -msg > "$work/out" 2>&1
    [ "$(grep -cx KEYUPDATE "$work/out")" = 2 ] || fail "s_client did not send two KeyUpdates"
    # Exactly one KeyUpdate back: the answer to the requested one.
    [ "$(grep -c '^<<< TLS 1.3, Handshake .*KeyUpdate' "$work/out")" = 1 ] ||
        fail "gateway KeyUpdates: $(grep -c '^<<< TLS 1.3, Handshake .*KeyUpdate' "$work/out"), want 1"
    got=$(grep -xE 'hello|after-update|again' "$work/out" | tr '\n' ' ')
    [ "$got" = "hello after-update again " ] || fail "echo across KeyUpdates: '$got'"
    expect_log 'records_in=3 records_out=3'
    ;;

concurrent-20)
    # 20 clients at once, 4 MiB each way each, all intact.
    start_echo
    tls_gw
    peer --conns 20 --bytes 4194304 > "$work/out" || fail "20 concurrent transfers failed"
    grep -q "ok conns=20" "$work/out" || fail "summary: $(cat "$work/out")"
    ;;

conns-1000)
    # 1000 connections open at once (handshakes done, held), then each echoes.
    ulimit -n 8192 2> /dev/null || ulimit -n "$(ulimit -Hn)"
    start_echo
    tls_gw
    peer --conns 1000 --bytes 2048 --hold-ms 500 > "$work/out" || fail "1000 connections failed"
    grep -q "ok conns=1000" "$work/out" || fail "summary: $(cat "$work/out")"
    [ "$(stat conns_total)" -ge 1000 ] || fail "stats conns_total $(stat conns_total)"
    ;;

sni)
    # The ClientHello's SNI picks the certificate; no SNI or an unknown name
    # gets the first pair.
    start_echo
    start_gw --cert "$certs/server-cert.pem" --key "$certs/server-key.pem" \
        --cert "$certs/sni-a-cert.pem" --key "$certs/sni-a-key.pem" \
        --cert "$certs/sni-b-cert.pem" --key "$certs/sni-b-key.pem"
    for name in a.zrec.test b.zrec.test localhost; do
        cn=$(peer --sni "$name" --print-cn --bytes 100 | sed -n 's/^cn=//p')
        [ "$cn" = "$name" ] || fail "SNI $name got certificate CN '$cn'"
    done
    cn=$(echo | timeout 10 openssl s_client -connect "127.0.0.1:$gport" -noservername 2> /dev/null |
        sed -n 's/^subject=.*CN = //p')
    [ "$cn" = localhost ] || fail "no SNI got CN '$cn'"
    expect_log "sni=b.zrec.test"
    ;;

proxy-v2)
    # PROXY protocol v2 to the backend: client address, ALPN and SNI as
    # TLVs, parsed by gw_echo against the specification.
    start_echo --proxy-log "$work/proxy.log"
    tls_gw --proxy-protocol --alpn h2,http/1.1
    peer --sni localhost --alpn http/1.1 --print-alpn --print-local-port --bytes 65536 > "$work/out" ||
        fail "transfer with PROXY header failed"
    lport=$(sed -n 's/^local_port=//p' "$work/out")
    grep -q '^alpn=http/1.1' "$work/out" || fail "ALPN: $(cat "$work/out")"
    want="ok src=127.0.0.1:$lport dst=127.0.0.1:$gport alpn=http/1.1 authority=localhost"
    wait_for "$work/proxy.log" "$want" 5 || fail "PROXY header: got '$(cat "$work/proxy.log")', want '$want'"
    expect_log "alpn=http/1.1"
    ;;

resume)
    # TLS 1.3 resumption with a ticket from the gateway (wolfSSL's own keys).
    start_echo
    tls_gw
    peer --resume --bytes 4096 > "$work/out" || fail "resumption failed: $(cat "$work/out")"
    grep -q "resumed=1" "$work/out" || fail "not resumed: $(cat "$work/out")"
    [ "$(stat handshakes_resumed)" -ge 1 ] || fail "stats handshakes_resumed $(stat handshakes_resumed)"
    expect_log "resumed=1"
    ;;

ticket-keys)
    # Two gateways sharing a HAProxy-format key file resume each other's
    # sessions; a gateway with other keys does not.
    start_echo
    for i in 1 2 3; do head -c 48 /dev/urandom | base64 -w0; echo; done > "$work/keys"
    head -c 80 /dev/urandom | base64 -w0 > "$work/other"
    echo >> "$work/other"
    tls_gw --ticket-keys "$work/keys"
    gport1=$gport
    gport=$(free_port) sport=$(free_port)
    "$gw" --listen "127.0.0.1:$gport" --backend "127.0.0.1:$bport" --workers 1 \
        --cert "$certs/server-cert.pem" --key "$certs/server-key.pem" --ticket-keys "$work/keys" \
        2> "$work/gw2.err" &
    pids+=($!)
    wait_for "$work/gw2.err" "listening on" || fail "second zrec-gw did not start"
    gport2=$gport
    gport=$(free_port)
    "$gw" --listen "127.0.0.1:$gport" --backend "127.0.0.1:$bport" --workers 1 \
        --cert "$certs/server-cert.pem" --key "$certs/server-key.pem" --ticket-keys "$work/other" \
        2> "$work/gw3.err" &
    pids+=($!)
    wait_for "$work/gw3.err" "listening on" || fail "third zrec-gw did not start"
    gport3=$gport
    gport=$gport1
    peer --resume --resume-port "$gport2" --bytes 4096 > "$work/out" ||
        fail "no resumption across gateways sharing keys: $(cat "$work/out")"
    grep -q "resumed=1" "$work/out" || fail "not resumed: $(cat "$work/out")"
    if peer --resume --resume-port "$gport3" --bytes 4096 > "$work/out3" 2>&1; then
        fail "resumed on a gateway with other keys"
    fi
    grep -q "not resumed\|was not reused\|resumed=0" "$work/out3" ||
        fail "unexpected failure with other keys: $(cat "$work/out3")"
    # Rolling the file (drop the oldest key, add a new one) and SIGHUP: a
    # ticket openssl s_client saved before the roll still resumes, since its
    # key is still in the file.
    gport=$gport1
    (echo x; sleep 0.5) | timeout 10 openssl s_client -connect "127.0.0.1:$gport" -CAfile "$ca" \
        -sess_out "$work/sess.pem" -no_ign_eof > "$work/s1.out" 2>&1
    [ -s "$work/sess.pem" ] || fail "s_client saved no session: $(tail -3 "$work/s1.out")"
    { tail -n 2 "$work/keys"; head -c 48 /dev/urandom | base64 -w0; echo; } > "$work/keys.new"
    mv "$work/keys.new" "$work/keys"
    kill -HUP "$gw_pid"
    wait_for "$work/gw.err" "reloaded" 5 || fail "no reload message"
    (echo x; sleep 0.5) | timeout 10 openssl s_client -connect "127.0.0.1:$gport" -CAfile "$ca" \
        -sess_in "$work/sess.pem" -no_ign_eof > "$work/s2.out" 2>&1
    grep -q "^Reused, TLSv1.3" "$work/s2.out" || fail "ticket from before the key roll not resumed"
    # A malformed key file is refused at start, with a message.
    echo "not base64 !!" > "$work/bad"
    if "$gw" --listen "127.0.0.1:$(free_port)" --backend "127.0.0.1:$bport" \
        --cert "$certs/server-cert.pem" --key "$certs/server-key.pem" --ticket-keys "$work/bad" \
        2> "$work/bad.err"; then
        fail "bad key file accepted"
    fi
    grep -q "ticket-keys" "$work/bad.err" || fail "no message for a bad key file"
    ;;

tamper)
    # A tampered record gets bad_record_mac and only that connection ends;
    # the other three carry on intact.
    start_echo
    tls_gw
    peer --tamper --conns 4 --bytes 2097152 > "$work/out" || fail "tamper run failed: $(cat "$work/out")"
    grep -q "tamper: got bad_record_mac" "$work/out" || fail "no bad_record_mac: $(cat "$work/out")"
    [ "$(stat errors_bad_record_mac)" = 1 ] || fail "stats errors_bad_record_mac $(stat errors_bad_record_mac)"
    expect_log 'close="bad_record_mac"'
    peer --bytes 65536 > /dev/null || fail "gateway unusable after a tampered record"
    ;;

reset-mid)
    # A client resets in the middle of a record: that connection closes
    # cleanly, the others and later ones are served.
    start_echo
    tls_gw
    peer --reset-mid --conns 3 --bytes 1048576 > "$work/out" || fail "reset run failed: $(cat "$work/out")"
    expect_log 'close="client reset"'
    peer --bytes 65536 > /dev/null || fail "gateway unusable after a client reset"
    ;;

backend-refused)
    # Nothing listens on the backend port: the client's connection ends
    # (close_notify), the reason is logged, the gateway goes on.
    tls_gw
    peer --expect-fail --bytes 4096 > "$work/out" || fail "client did not see the connection end"
    expect_log 'close="backend connect: Connection refused"'
    [ "$(stat errors_backend_connect)" -ge 1 ] || fail "stats errors_backend_connect $(stat errors_backend_connect)"
    ;;

backend-killed)
    # The backend dies (RST) after 1 MiB: the client sees the end before its
    # 4 MiB came back, the gateway logs it and keeps serving.
    start_echo --close-after-bytes 1048576
    tls_gw
    peer --expect-fail --bytes 4194304 > "$work/out" || fail "client did not see the backend die"
    wait_for "$work/access.log" 'close="backend' 5 || fail "no backend close in the log"
    peer --bytes 65536 > /dev/null || fail "gateway unusable after a backend died"
    ;;

sigterm)
    # SIGTERM: no new connections, the live transfer completes, exit 0.
    start_echo
    tls_gw
    peer --bytes 67108864 --chunk 16384 > "$work/out" &
    tp=$!
    for ((i = 0; i < 200; i++)); do
        [ "$(stat bytes_up)" -gt 1048576 ] 2> /dev/null && break
        sleep 0.05
    done
    kill -TERM "$gw_pid"
    wait_for "$work/gw.err" "draining" 5 || fail "no drain message"
    sleep 0.2
    if peer --bytes 1024 > /dev/null 2>&1; then fail "new connection accepted while draining"; fi
    wait "$tp" || fail "live transfer did not complete during the drain: $(cat "$work/out")"
    for ((i = 0; i < 100; i++)); do kill -0 "$gw_pid" 2> /dev/null || break; sleep 0.05; done
    wait "$gw_pid"
    rc=$?
    [ $rc = 0 ] || fail "zrec-gw exit status $rc after SIGTERM"
    grep -q "stopped" "$work/gw.err" || fail "no stop message"
    ;;

sighup)
    # SIGHUP reloads the certificate while a transfer runs; the transfer
    # completes, new connections get the new certificate.
    start_echo
    cp "$certs/server-cert.pem" "$work/cert.pem"
    cp "$certs/server-key.pem" "$work/key.pem"
    start_gw --cert "$work/cert.pem" --key "$work/key.pem"
    peer --bytes 33554432 > "$work/out" &
    tp=$!
    sleep 0.3
    cp "$certs/sni-a-cert.pem" "$work/cert.pem"
    cp "$certs/sni-a-key.pem" "$work/key.pem"
    kill -HUP "$gw_pid"
    wait_for "$work/gw.err" "reloaded" 5 || fail "no reload message"
    cn=$(peer --sni a.zrec.test --print-cn --bytes 100 | sed -n 's/^cn=//p')
    [ "$cn" = a.zrec.test ] || fail "after SIGHUP got CN '$cn'"
    wait "$tp" || fail "transfer across the reload failed: $(cat "$work/out")"
    ;;

small-pool)
    # Two slots per ring under four 8 MiB transfers: receives stop on the
    # empty ring and resume as slots come back; nothing is lost.
    start_echo
    tls_gw --pool-slots 2 --workers 1
    peer --conns 4 --bytes 8388608 > "$work/out" || fail "transfers through a tiny pool failed"
    [ "$(stat pool_empty)" -gt 0 ] || fail "the pool never ran empty (pool_empty $(stat pool_empty))"
    note "pool_empty=$(stat pool_empty) reserve_receives=$(stat reserve_receives) copies=$(stat copies)"
    ;;

straddle)
    # 16 KiB records land across 20 KiB slots: many open scattered, and not
    # one byte is copied.
    start_echo
    tls_gw --workers 1
    peer --bytes 16777216 --chunk 16384 > "$work/out" || fail "transfer failed"
    sc=$(stat records_scattered) cp=$(stat copies)
    note "records_scattered=$sc records_contiguous=$(stat records_contiguous) copies=$cp"
    [ "$sc" -gt 0 ] || fail "no record straddled two slots"
    [ "$cp" = 0 ] || fail "$cp copies"
    ;;

handshake-timeout)
    # A silent client and a stalled ClientHello are closed after the
    # handshake timeout; garbage is closed at once.
    start_echo
    tls_gw --handshake-timeout 400
    exec 3<> "/dev/tcp/127.0.0.1/$gport"            # says nothing
    exec 4<> "/dev/tcp/127.0.0.1/$gport"
    printf '\x16\x03\x01\x02\x00\x01' >&4           # a ClientHello that stops
    closed() { timeout "$2" cat <&"$1" > /dev/null 2>&1; [ $? != 124 ]; }
    closed 3 5 || fail "silent connection not closed"
    closed 4 5 || fail "stalled handshake not closed"
    [ "$(stat handshakes_timed_out)" = 2 ] || fail "handshakes_timed_out $(stat handshakes_timed_out)"
    exec 5<> "/dev/tcp/127.0.0.1/$gport"
    printf 'GET / HTTP/1.0\r\n\r\n' >&5
    closed 5 1 || fail "garbage not closed at once"
    expect_log 'close="not a TLS handshake"'
    peer --bytes 4096 > /dev/null || fail "gateway unusable after hostile handshakes"
    ;;

idle-many)
    # 2000 idle connections held open while a bulk transfer runs: the idle
    # ones hold no slots and the transfer completes.
    ulimit -n 16384 2> /dev/null || ulimit -n "$(ulimit -Hn)"
    start_echo
    tls_gw --max-conns 10000
    peer --conns 2000 --bytes 16 --hold-ms 4000 --seed 7 > "$work/idle.out" &
    ip=$!
    for ((i = 0; i < 400; i++)); do
        [ "$(stat conns_active)" -ge 2000 ] 2> /dev/null && break
        sleep 0.05
    done
    [ "$(stat conns_active)" -ge 2000 ] || fail "2000 idle connections not established ($(stat conns_active))"
    peer --bytes 16777216 > "$work/out" || fail "bulk transfer beside 2000 idle connections failed"
    wait "$ip" || fail "idle connections failed: $(cat "$work/idle.out")"
    ;;

max-conns)
    # --max-conns: the connection over the limit is closed at once and counted.
    start_echo
    tls_gw --max-conns 5
    peer --conns 5 --bytes 16 --hold-ms 1500 > "$work/held.out" &
    hp=$!
    for ((i = 0; i < 100; i++)); do
        [ "$(stat conns_active)" -ge 5 ] 2> /dev/null && break
        sleep 0.05
    done
    peer --expect-fail --bytes 16 > /dev/null || fail "sixth connection was served"
    [ "$(stat errors_conn_limit)" -ge 1 ] || fail "errors_conn_limit $(stat errors_conn_limit)"
    wait "$hp" || fail "the five held connections failed"
    ;;

idle-timeout)
    # A connection silent both ways for --idle-timeout gets close_notify.
    start_echo
    tls_gw --idle-timeout 500
    peer --hold-ms 1500 --bytes 16 --expect-fail > "$work/out" || fail "idle connection was not closed"
    expect_log 'close="idle timeout"'
    ;;

plain)
    # --plain: the same data path without TLS, 4 MiB each way intact.
    start_echo
    start_gw --plain
    random_file "$work/in" 4194304
    timeout 60 python3 - "$gport" "$work/in" "$work/out" <<'PY' || fail "plain echo failed"
import socket, sys, threading
port, src, dst = int(sys.argv[1]), sys.argv[2], sys.argv[3]
data = open(src, "rb").read()
s = socket.create_connection(("127.0.0.1", port))
threading.Thread(target=lambda: (s.sendall(data), s.shutdown(socket.SHUT_WR)), daemon=True).start()
got = bytearray()
while len(got) < len(data):
    b = s.recv(1 << 20)
    if not b:
        break
    got += b
open(dst, "wb").write(got)
PY
    cmp "$work/in" "$work/out" || fail "plain echo differs"
    expect_log "up=4194304 down=4194304"
    ;;

cli)
    # The command line: --help, usage errors (exit 2), start-up errors (1).
    "$gw" --help > "$work/help" || fail "--help failed"
    for s in NAME SYNOPSIS DESCRIPTION OPTIONS SIGNALS "EXIT STATUS" --ticket-keys --proxy-protocol; do
        grep -q -- "$s" "$work/help" || fail "--help lacks $s"
    done
    "$gw" --listen 127.0.0.1:1 2> "$work/e1"
    [ $? = 2 ] || fail "missing --backend: not exit 2"
    grep -q -- "--backend is required" "$work/e1" || fail "no message for a missing --backend"
    "$gw" --listen nonsense --backend 127.0.0.1:1 --plain 2> "$work/e2"
    [ $? = 2 ] || fail "bad --listen: not exit 2"
    "$gw" --listen "127.0.0.1:$gport" --backend 127.0.0.1:1 --cert /nonexistent --key /nonexistent 2> "$work/e3"
    [ $? = 1 ] || fail "unreadable certificate: not exit 1"
    grep -q "/nonexistent" "$work/e3" || fail "no message naming the bad file"
    "$gw" --listen "127.0.0.1:$gport" --backend 127.0.0.1:1 --plain --pool-slots 3 2> "$work/e4"
    [ $? = 2 ] || fail "--pool-slots 3: not exit 2"
    "$gw" --listen "127.0.0.1:$gport" --backend 127.0.0.1:1 --plain --provider nonsense 2> "$work/e5"
    [ $? = 2 ] || fail "--provider nonsense: not exit 2"
    grep -q "expected ipsecmb, wolfcrypt or cryptodev:DEVICE" "$work/e5" || fail "no message for a bad --provider"
    "$gw" --listen "127.0.0.1:$gport" --backend 127.0.0.1:1 --plain \
        --provider cryptodev:no_such_device0 2> "$work/e6"
    [ $? = 1 ] || fail "--provider cryptodev:no_such_device0: not exit 1"
    grep -q "no_such_device0" "$work/e6" || fail "no message naming the missing device"
    ;;

cryptodev)
    # --provider cryptodev:crypto_aesni_gcm0: the records' AEAD on a DPDK
    # software crypto device, wolfSSL's handshake AES-GCM too; TLS 1.3 (1 MiB
    # through openssl s_client) and TLS 1.2 (gw_peer) intact, the counters
    # show the device did the work and nothing fell back to software.
    start_echo
    tls_gw --provider cryptodev:crypto_aesni_gcm0
    random_file "$work/in" 1048576
    echo_client openssl s_client -connect "127.0.0.1:$gport" -CAfile "$ca" -verify_return_error \
        -ciphersuites TLS_AES_128_GCM_SHA256 -quiet
    cmp "$work/in" "$work/out" || fail "echo through the crypto device differs"
    peer --tls1.2 --bytes 262144 > "$work/out2" || fail "TLS 1.2 transfer failed"
    [ "$(stat provider)" = "cryptodev:crypto_aesni_gcm0" ] || fail "provider: $(stat provider)"
    ops=$(stat offload_device_ops) hs=$(stat handshake_aead_ops)
    note "records on the device: $ops; wolfSSL's handshake AES-GCM operations on it: $hs"
    [ "$ops" -gt 100 ] || fail "only $ops records on the device"
    [ "$hs" -gt 0 ] || fail "no handshake record on the device"
    for f in full error no_qp aad; do
        [ "$(stat offload_fallback_$f)" = 0 ] || fail "offload_fallback_$f: $(stat offload_fallback_$f)"
    done
    # A clean stop: the device freed, EAL cleaned up, its runtime directory gone.
    kill -TERM "$gw_pid"
    wait "$gw_pid" || fail "zrec-gw exit status $? after SIGTERM"
    [ ! -e "/var/run/dpdk/zrec-gw-$gw_pid" ] || fail "EAL's runtime directory left behind"
    ;;

*)
    echo "unknown case $case" >&2
    exit 2
    ;;
esac
echo "ok: $case"
