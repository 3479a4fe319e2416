"""UDP peers for tests/dtls-gw/dtls_gw.sh, run inside its network namespace.

  udp_peer.py backend IP PORT            echo each datagram back, prefixed b"echo:"
  udp_peer.py mirror IP PORT             echo each datagram back as it is
  udp_peer.py clients IP PORT N COUNT    N client sockets, COUNT datagrams each
                                         (1..1400 random bytes); every answer must
                                         be b"echo:" + what was sent
  udp_peer.py hostile IFACE GW_MAC COUNT malformed frames on the link (AF_PACKET)
  udp_peer.py relay IP PORT GW_IP GW_PORT MODE SECONDS STATS_FILE
                                         a man in the middle for DTLS clients:
                                         each client gets an upstream socket of
                                         its own toward the gateway; MODE is
                                         "attack" (before each protected record
                                         sent on, a copy with one bit flipped;
                                         after it, the same datagram again, a
                                         replay; every 10th, garbage datagrams)
                                         or "move:K" (after K datagrams from a
                                         client its upstream socket is replaced:
                                         the gateway sees a new address), or
                                         "cut:K" (after K datagrams from the
                                         gateway to a client, nothing more
                                         passes either way); its counts are
                                         kept up to date in STATS_FILE
"""
import os
import random
import socket
import sys
import time


def backend(ip, port, prefix=b"echo:"):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, port))
    s.settimeout(60)
    while True:
        data, peer = s.recvfrom(65535)
        s.sendto(prefix + data, peer)


def clients(ip, port, n, count):
    rng = random.Random(int.from_bytes(os.urandom(8), "little"))
    socks = []
    for _ in range(n):
        c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        c.settimeout(1.0)
        socks.append(c)
    # The gateway learns the backend's address by ARP first: the first
    # datagram may be dropped; retried for at most 10 s.
    deadline = time.time() + 10
    first = socks[0]
    while True:
        first.sendto(b"hello", (ip, port))
        try:
            if first.recv(65535) == b"echo:hello":
                break
        except socket.timeout:
            pass
        if time.time() > deadline:
            sys.exit("no answer through the gateway in 10 s")
    sent = ok = 0
    for r in range(count):
        for i, c in enumerate(socks):
            msg = os.urandom(rng.randint(1, 1400))
            for attempt in range(3):
                c.sendto(msg, (ip, port))
                sent += 1
                try:
                    got = c.recv(65535)
                except socket.timeout:
                    continue
                if got != b"echo:" + msg:
                    sys.exit(f"client {i}, datagram {r}: {len(got)} bytes back, not the echo")
                ok += 1
                break
            else:
                sys.exit(f"client {i}, datagram {r}: no answer in 3 tries")
    print(f"{ok} datagrams echoed intact ({sent} sent) by {n} clients")


def hostile(ifname, gw_mac, count):
    """Frames a network may send, on the link (AF_PACKET): random bytes,
    truncated headers, IPv4 with bad checksums or lengths, fragments, UDP
    with bad checksums, frames for other addresses."""
    import struct
    rng = random.Random(int.from_bytes(os.urandom(8), "little"))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((ifname, 0))
    dst = bytes.fromhex(gw_mac.replace(":", ""))
    src = s.getsockname()[4][:6]
    gw_ip = socket.inet_aton("10.77.0.2")
    me = socket.inet_aton("10.77.0.1")

    def csum(b):
        if len(b) % 2:
            b += b"\0"
        t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
        while t >> 16:
            t = (t & 0xFFFF) + (t >> 16)
        return ~t & 0xFFFF

    def ipv4(payload, flags_frag=0x4000, total=None, good_sum=True, dst_ip=gw_ip, ihl=5):
        tot = total if total is not None else 20 + len(payload)
        h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, tot, rng.getrandbits(16), flags_frag,
                        64, 17, 0, me, dst_ip)
        c = csum(h)
        if not good_sum:
            c ^= 0x5555
        return h[:10] + struct.pack("!H", c) + h[12:] + payload

    sent = 0
    for i in range(count):
        kind = i % 9
        body = os.urandom(rng.randint(0, 200))
        if kind == 0:
            frame = os.urandom(rng.randint(0, 1514))              # anything at all
        elif kind == 1:
            frame = dst + src + b"\x08\x00" + os.urandom(rng.randint(0, 19))  # truncated IPv4
        elif kind == 2:
            udp = struct.pack("!HHHH", 40000, 4433, 8 + len(body), 0) + body
            frame = dst + src + b"\x08\x00" + ipv4(udp, good_sum=False)       # bad IP checksum
        elif kind == 3:
            udp = struct.pack("!HHHH", 40000, 4433, 8 + len(body), 0) + body
            frame = dst + src + b"\x08\x00" + ipv4(udp, total=60000)           # IP length lies
        elif kind == 4:
            udp = struct.pack("!HHHH", 40000, 4433, 8 + len(body), 0) + body
            frame = dst + src + b"\x08\x00" + ipv4(udp, flags_frag=0x2000)     # a fragment
        elif kind == 5:
            udp = struct.pack("!HHHH", 40000, 4433, 8 + len(body) + 500, 0) + body
            frame = dst + src + b"\x08\x00" + ipv4(udp)                        # UDP length lies
        elif kind == 6:
            # A checksum that is surely wrong: the right one (RFC 768, over
            # the pseudo-header) changed, and not 0 ("no checksum").  A
            # fixed value was right by chance once in 65535 frames, and that
            # frame rightly made a flow.
            length = 8 + len(body)
            pseudo = me + gw_ip + struct.pack("!BBH", 0, 17, length)
            good = csum(pseudo + struct.pack("!HHHH", 40000, 4433, length, 0) + body) or 0xFFFF
            bad = (good ^ 0x5555) or (good ^ 0x1111)  # never 0
            udp = struct.pack("!HHHH", 40000, 4433, length, bad) + body
            frame = dst + src + b"\x08\x00" + ipv4(udp)                        # bad UDP checksum
        elif kind == 7:
            frame = dst + src + b"\x08\x06" + os.urandom(rng.randint(0, 40))  # ARP garbage
        else:
            udp = struct.pack("!HHHH", 40000, 4433, 8 + len(body), 0) + body
            frame = dst + src + b"\x08\x00" + ipv4(udp, ihl=15)                # options past the frame
        if len(frame) < 14:
            frame += bytes(14 - len(frame))
        s.send(frame[:1514])
        sent += 1
    print(f"{sent} hostile frames sent")


def protected(d):
    """A DTLS record under keys: DTLS 1.2 application data (epoch > 0), or a
    DTLS 1.3 unified header (RFC 9147 §4: first byte 001xxxxx)."""
    return len(d) > 13 and (d[0] == 23 or (d[0] & 0xE0) == 0x20)


def relay(ip, port, gw_ip, gw_port, mode, seconds, stats_file):
    import select
    down = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    down.bind((ip, port))
    gw = (gw_ip, gw_port)
    up = {}        # client address -> [upstream socket, datagrams relayed]
    owner = {}     # upstream socket -> client address (old ones stay open)
    move_after = int(mode.split(":")[1]) if mode.startswith("move:") else 0
    cut_after = int(mode.split(":")[1]) if mode.startswith("cut:") else 0
    answers = {}   # client address -> datagrams from the gateway
    stats = {"relayed": 0, "tampered": 0, "replayed": 0, "garbage": 0, "moved": 0, "cut": 0}
    rng = random.Random(int.from_bytes(os.urandom(8), "little"))

    def new_up(client):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind((ip, 0))
        owner[u] = client
        return u

    def save():
        with open(stats_file + ".tmp", "w") as f:
            f.write(" ".join("%s %d" % kv for kv in stats.items()) + "\n")
        os.replace(stats_file + ".tmp", stats_file)

    save()
    end = time.time() + seconds
    while time.time() < end:
        r, _, _ = select.select([down] + list(owner), [], [], 0.2)
        if r:
            save()
        for sock in r:
            data, src = sock.recvfrom(65535)
            if sock is not down:
                client = owner[sock]
                answers[client] = answers.get(client, 0) + 1
                if cut_after and answers[client] > cut_after:
                    stats["cut"] += 1
                    continue
                down.sendto(data, client)
                continue
            if cut_after and answers.get(src, 0) >= cut_after:
                stats["cut"] += 1
                continue
            entry = up.setdefault(src, [None, 0])
            if entry[0] is None:
                entry[0] = new_up(src)
            entry[1] += 1
            if move_after and entry[1] == move_after + 1:
                entry[0] = new_up(src)
                stats["moved"] += 1
            u = entry[0]
            attack = mode == "attack" and protected(data)
            if attack:
                bad = bytearray(data)
                bad[rng.randrange(13, len(bad))] ^= 1 << rng.randrange(8)
                u.sendto(bytes(bad), gw)
                stats["tampered"] += 1
            u.sendto(data, gw)
            stats["relayed"] += 1
            if attack:
                u.sendto(data, gw)
                stats["replayed"] += 1
                if entry[1] % 10 == 0:
                    for n in (1, 13, 40, 300):
                        u.sendto(os.urandom(n), gw)
                        stats["garbage"] += 1


if __name__ == "__main__":
    if sys.argv[1] == "backend":
        backend(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1] == "relay":
        relay(sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), sys.argv[6],
              float(sys.argv[7]), sys.argv[8])
    elif sys.argv[1] == "mirror":
        backend(sys.argv[2], int(sys.argv[3]), b"")
    elif sys.argv[1] == "hostile":
        hostile(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        clients(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
