#!/usr/bin/python3
"""One python3-libtorrent DHT node on 127.0.0.1, driven by test/interop/dht-libtorrent.test.ts.

Usage:
  lt_dht.py --port N --save DIR --bootstrap HOST:PORT [--bootstrap ...] [--reannounce-ms MS]

- The session listens on 127.0.0.1:PORT (TCP and UDP; the DHT runs on that UDP socket), with
  LSD, UPnP, NAT-PMP off and the DHT bootstrapped only through the given nodes (never the public
  routers). Every node of the test shares the address 127.0.0.1, so libtorrent's one-node-per-IP
  routing restrictions and its per-IP query block are lifted.
- stdin takes commands, one a line:
    announce HEX        add a torrent known only by its info-hash HEX (40 hex digits, like a
                        magnet link): libtorrent announces it on the DHT with its listen port;
                        force_dht_announce() again every --reannounce-ms
    get_peers HEX       look HEX up, again every --reannounce-ms, printing every reply
    nodes               print the routing table size now
    quit                exit (end of stdin too: the node never outlives its driver)
- stdout: one JSON object a line, with "t" (type) and "ts" (time.monotonic()):
    {"t":"ready","port":N}
    {"t":"nodes","nodes":N}                       (every second and on `nodes`)
    {"t":"peers","ih":HEX,"peers":[[host,port],...]}   (a dht_get_peers_reply_alert)
    {"t":"announced","ih":HEX}                    (each time dht_announce was called)
    {"t":"error","msg":...}
Alerts are popped from this, the session's, thread; waiting is select() on stdin.
"""
import argparse
import json
import select
import sys
import time

import libtorrent as lt


def out(kind, **kw):
    sys.stdout.write(json.dumps(dict(t=kind, ts=time.monotonic(), **kw)) + "\n")
    sys.stdout.flush()


def sha1(hex_text):
    return lt.sha1_hash(bytes.fromhex(hex_text))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--save", required=True)
    ap.add_argument("--bootstrap", action="append", default=[])
    ap.add_argument("--reannounce-ms", type=int, default=2000)
    args = ap.parse_args()

    cat = lt.alert.category_t
    ses = lt.session({
        "listen_interfaces": "127.0.0.1:%d" % args.port,
        "enable_dht": True,
        "dht_bootstrap_nodes": ",".join(args.bootstrap),
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "dht_restrict_routing_ips": False,
        "dht_restrict_search_ips": False,
        "dht_block_ratelimit": 100000,
        "alert_mask": cat.dht_notification | cat.dht_operation_notification | cat.error_notification
        | cat.status_notification | cat.stats_notification,
    })
    out("ready", port=args.port)

    announces = {}  # hex -> torrent_handle
    lookups = set()
    period = args.reannounce_ms / 1000.0
    next_round = time.monotonic()
    next_nodes = time.monotonic()
    nodes_metric = lt.find_metric_idx("dht.dht_nodes")

    while True:
        now = time.monotonic()
        if now >= next_round:
            next_round = now + period
            for ih, h in announces.items():
                h.force_dht_announce()
                out("announced", ih=ih)
            for ih in lookups:
                ses.dht_get_peers(sha1(ih))
        if now >= next_nodes:
            next_nodes = now + 1.0
            ses.post_session_stats()

        for a in ses.pop_alerts():
            if isinstance(a, lt.dht_get_peers_reply_alert):
                peers = [[p[0], p[1]] for p in a.peers()]
                out("peers", ih=str(a.info_hash), peers=peers)
            elif isinstance(a, lt.session_stats_alert):
                out("nodes", nodes=a.values.get("dht.dht_nodes", -1) if isinstance(a.values, dict)
                    else a.values[nodes_metric])
            elif isinstance(a, lt.listen_failed_alert):
                out("error", msg=a.message())

        r, _, _ = select.select([sys.stdin], [], [], 0.1)
        if not r:
            continue
        line = sys.stdin.readline()
        if line == "":
            return 0
        words = line.split()
        if not words:
            continue
        try:
            if words[0] == "quit":
                return 0
            if words[0] == "announce":
                ih = words[1].lower()
                if ih not in announces:
                    params = lt.add_torrent_params()
                    params.info_hashes = lt.info_hash_t(sha1(ih))
                    params.save_path = args.save
                    announces[ih] = ses.add_torrent(params)
                next_round = time.monotonic()
            elif words[0] == "get_peers":
                lookups.add(words[1].lower())
                next_round = time.monotonic()
            elif words[0] == "nodes":
                next_nodes = time.monotonic()
            else:
                out("error", msg="unknown command %r" % words[0])
        except (IndexError, ValueError) as e:
            out("error", msg="bad command %r: %s" % (line.strip(), e))


if __name__ == "__main__":
    sys.exit(main())
