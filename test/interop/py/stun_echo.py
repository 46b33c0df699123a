#!/usr/bin/python3
"""A tiny STUN (RFC 5389) responder for the port-mapping namespace test.

miniupnpd 2.3.1 refuses to map ports while its external address is in a reserved range (every
documentation range is); with `ext_perform_stun=yes` it asks a STUN server instead, and this
one answers every Binding request with the sender's address (MAPPED-ADDRESS and
XOR-MAPPED-ADDRESS), so miniupnpd sees a 1:1 NAT and serves mappings.

Usage: stun_echo.py HOST PORT. Prints {"t":"ready"} once bound; exits when stdin closes.
"""
import json
import select
import socket
import struct
import sys

COOKIE = 0x2112A442


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((host, port))
    print(json.dumps({"t": "ready"}), flush=True)
    while True:
        r, _, _ = select.select([s, sys.stdin], [], [])
        if sys.stdin in r and not sys.stdin.readline():
            return
        if s not in r:
            continue
        data, (ip, p) = s.recvfrom(2048)
        if len(data) < 20 or struct.unpack("!H", data[:2])[0] != 0x0001:
            continue
        tid = data[4:20]  # cookie + transaction id (RFC 3489 clients: a 16-byte id)
        addr = socket.inet_aton(ip)
        mapped = struct.pack("!HHBBH", 0x0001, 8, 0, 1, p) + addr
        xport = p ^ (COOKIE >> 16)
        xaddr = struct.pack("!I", struct.unpack("!I", addr)[0] ^ COOKIE)
        xmapped = struct.pack("!HHBBH", 0x0020, 8, 0, 1, xport) + xaddr
        body = mapped + xmapped
        s.sendto(struct.pack("!HH", 0x0101, len(body)) + tid + body, (ip, p))
        print(json.dumps({"t": "answered", "from": "%s:%d" % (ip, p)}), flush=True)


if __name__ == "__main__":
    main()
