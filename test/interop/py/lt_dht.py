#!/usr/bin/python3
"""One python3-libtorrent DHT node on 127.0.0.1, driven by test/interop/dht-libtorrent.test.ts
and test/interop/dht-bep44-libtorrent.test.ts.

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
    put_immutable HEX   BEP 44: put the bencoded value HEX as an immutable item
    get_immutable HEX   BEP 44: get the immutable item whose target is HEX (40 hex digits)
    put_mutable SEED PK SALT DATA
                        BEP 44: put the byte string DATA (hex) as a mutable item under the
                        public key PK (hex), signed with the ed25519 seed SEED (hex: the secret
                        handed to libtorrent is SHA-512(seed) clamped, as libtorrent keeps it);
                        SALT is hex or "-" for none. libtorrent looks the item up first and
                        puts seq = found seq + 1 (1 when none).
    get_mutable PK SALT BEP 44: get the mutable item under PK (hex) and SALT (hex or "-")
    stored TAG          print the BEP 44 items this node stores for others, tagged TAG
    quit                exit (end of stdin too: the node never outlives its driver)
- stdout: one JSON object a line, with "t" (type) and "ts" (time.monotonic()):
    {"t":"ready","port":N}
    {"t":"nodes","nodes":N}                       (every second and on `nodes`)
    {"t":"peers","ih":HEX,"peers":[[host,port],...]}   (a dht_get_peers_reply_alert)
    {"t":"announced","ih":HEX}                    (each time dht_announce was called)
    {"t":"put","target":HEX,"key":HEX,"salt":HEX,"seq":N,"num_success":N}   (a dht_put_alert)
    {"t":"immutable_item","target":HEX,"value":HEX}           (value: bencoded; "" when none)
    {"t":"mutable_item","key":HEX,"salt":HEX,"seq":N,"value":HEX,"signature":HEX,
     "authoritative":BOOL}                                     (a dht_mutable_item_alert)
    {"t":"stored","tag":TAG,"immutable":N,"mutable":N}        (on `stored TAG`)
    {"t":"error","msg":...}
Alerts are popped from this, the session's, thread; waiting is select() on stdin.
"""
import argparse
import hashlib
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


def raw(value):
    """Alert fields are bytes or (for some bindings) str: bytes either way."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("latin-1")
    return bytes(value)


def item_value(alert):
    """The bencoded value of an item alert, hex; "" when there is none. The 2.0.8 binding hands
    the item over as a dict whose "value" it converts only for string values: a list or dict
    value (or no item at all) raises, and reads here as none."""
    try:
        item = alert.item
        return lt.bencode(item["value"] if isinstance(item, dict) else item).hex()
    except RuntimeError:
        return ""


def hex_or_empty(text):
    return b"" if text == "-" else bytes.fromhex(text)


def libtorrent_secret(seed):
    """libtorrent's 64-byte ed25519 secret key: SHA-512(seed) with the scalar clamped."""
    h = bytearray(hashlib.sha512(seed).digest())
    h[0] &= 248
    h[31] &= 63
    h[31] |= 64
    return bytes(h)


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
    stored_tags = []  # `stored` requests answered by the next session_stats_alert

    def metric(values, name):
        return values.get(name, -1) if isinstance(values, dict) else values[lt.find_metric_idx(name)]

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
            elif isinstance(a, lt.session_stats_alert) and stored_tags:
                for tag in stored_tags:
                    out("stored", tag=tag, immutable=metric(a.values, "dht.dht_immutable_data"),
                        mutable=metric(a.values, "dht.dht_mutable_data"))
                stored_tags.clear()
            elif isinstance(a, lt.session_stats_alert):
                out("nodes", nodes=a.values.get("dht.dht_nodes", -1) if isinstance(a.values, dict)
                    else a.values[nodes_metric])
            elif isinstance(a, lt.dht_put_alert):
                out("put", target=str(a.target), key=raw(a.public_key).hex(), salt=raw(a.salt).hex(),
                    seq=a.seq, num_success=a.num_success)
            elif isinstance(a, lt.dht_immutable_item_alert):
                out("immutable_item", target=str(a.target), value=item_value(a))
            elif isinstance(a, lt.dht_mutable_item_alert):
                out("mutable_item", key=raw(a.key).hex(), salt=raw(a.salt).hex(), seq=a.seq,
                    value=item_value(a), signature=raw(a.signature).hex(),
                    authoritative=bool(a.authoritative))
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
            elif words[0] == "stored":
                stored_tags.append(words[1])
                ses.post_session_stats()
            elif words[0] == "put_immutable":
                ses.dht_put_immutable_item(lt.bdecode(bytes.fromhex(words[1])))
            elif words[0] == "get_immutable":
                ses.dht_get_immutable_item(sha1(words[1]))
            elif words[0] == "put_mutable":
                seed = bytes.fromhex(words[1])
                ses.dht_put_mutable_item(libtorrent_secret(seed), bytes.fromhex(words[2]),
                                         bytes.fromhex(words[4]), hex_or_empty(words[3]))
            elif words[0] == "get_mutable":
                ses.dht_get_mutable_item(bytes.fromhex(words[1]), hex_or_empty(words[2]))
            else:
                out("error", msg="unknown command %r" % words[0])
        except (IndexError, ValueError) as e:
            out("error", msg="bad command %r: %s" % (line.strip(), e))


if __name__ == "__main__":
    sys.exit(main())
