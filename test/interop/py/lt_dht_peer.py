#!/usr/bin/python3
"""A python3-libtorrent peer that finds others only through the DHT (no tracker, no connect_peer).

Usage:
  lt_dht_peer.py --port N --save DIR --bootstrap HOST:PORT [...] (--seed TORRENT | --magnet URI)

- Listens on 127.0.0.1:PORT (TCP and the DHT's UDP), LSD/UPnP/NAT-PMP/uTP off; every node of
  the test is 127.0.0.1, so libtorrent's one-node-per-IP DHT restrictions are lifted.
- --seed: checks the data under DIR against TORRENT and seeds it, announcing on the DHT.
- --magnet: downloads the magnet (metadata over BEP 9, then the data) into DIR.
- force_dht_announce() every 2 s (a magnet added before the DHT is bootstrapped otherwise waits
  long: see INTEROP-NOTES).
- stdout: one JSON object a line: ready, status (progress, peers), finished, error.
  stdin closing (or `quit`) ends the process.
"""
import argparse
import json
import select
import sys
import time

import libtorrent as lt


def out(kind, **kw):
    sys.stdout.write(json.dumps(dict(t=kind, **kw)) + "\n")
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--save", required=True)
    ap.add_argument("--bootstrap", action="append", default=[])
    ap.add_argument("--seed")
    ap.add_argument("--magnet")
    args = ap.parse_args()
    cat = lt.alert.category_t
    ses = lt.session({
        "listen_interfaces": "127.0.0.1:%d" % args.port,
        "enable_dht": True,
        "dht_bootstrap_nodes": ",".join(args.bootstrap),
        "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
        "enable_incoming_utp": False, "enable_outgoing_utp": False,
        "allow_multiple_connections_per_ip": True,
        "dht_restrict_routing_ips": False, "dht_restrict_search_ips": False,
        "dht_block_ratelimit": 100000,
        "alert_mask": cat.status_notification | cat.error_notification,
    })
    if args.seed:
        p = lt.add_torrent_params()
        p.ti = lt.torrent_info(args.seed)
    else:
        p = lt.parse_magnet_uri(args.magnet)
    p.save_path = args.save
    h = ses.add_torrent(p)
    out("ready", port=args.port)
    finished = False
    next_announce = 0.0
    next_status = 0.0
    while True:
        now = time.monotonic()
        if now >= next_announce:
            next_announce = now + 2.0
            h.force_dht_announce()
        for a in ses.pop_alerts():
            if isinstance(a, lt.torrent_finished_alert) and not finished:
                finished = True
                out("finished")
            elif isinstance(a, lt.torrent_error_alert):
                out("error", msg=a.message())
        if now >= next_status:
            next_status = now + 1.0
            s = h.status()
            out("status", progress=s.progress, peers=s.num_peers, seeding=s.is_seeding, state=str(s.state))
        r, _, _ = select.select([sys.stdin], [], [], 0.1)
        if r:
            line = sys.stdin.readline()
            if line == "" or line.strip() == "quit":
                return


if __name__ == "__main__":
    main()
