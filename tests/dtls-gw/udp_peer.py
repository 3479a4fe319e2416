"""UDP peers for tests/dtls-gw/dtls_gw.sh, run inside its network namespace.

  udp_peer.py backend IP PORT            echo each datagram back, prefixed b"echo:"
  udp_peer.py mirror IP PORT             echo each datagram back as it is
  udp_peer.py clients IP PORT N COUNT    N client sockets, COUNT datagrams each
                                         (1..1400 random bytes); every answer must
                                         be b"echo:" + what was sent
  udp_peer.py hostile IFACE GW_MAC COUNT malformed frames on the link (AF_PACKET)
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
            udp = struct.pack("!HHHH", 40000, 4433, 8 + len(body), 0x1234) + body
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


if __name__ == "__main__":
    if sys.argv[1] == "backend":
        backend(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1] == "mirror":
        backend(sys.argv[2], int(sys.argv[3]), b"")
    elif sys.argv[1] == "hostile":
        hostile(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        clients(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
