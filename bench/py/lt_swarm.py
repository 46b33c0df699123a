#!/usr/bin/python3
"""Many python3-libtorrent peers in one process, for Shoal's swarm lab (test/helpers/swarm-lab.ts).

Usage: lt_swarm.py TORRENT

Each peer is its own libtorrent session listening on 127.0.0.1:PORT with DHT, LSD, UPnP,
NAT-PMP and uTP off, several connections per IP allowed (every peer is 127.0.0.1), and its own
upload/download rate limits. libtorrent exempts local-network peers from rate limits by default
(the local peer class); here every address is put in the global class so the limits hold on
loopback. Peers find each other through the torrent's (HTTP) tracker only.

stdin takes one command a line; end of stdin means quit, so the process never outlives its driver:
  add NAME PORT UP DOWN SAVE_DIR SEED FREE   start a peer (UP/DOWN bytes/s, 0 = unlimited;
                                              SEED 1: data is in SAVE_DIR, 2: the same with
                                              super-seeding (BEP 16); FREE 1: free-rider,
                                              never unchokes anyone and offers no allowed-fast set)
  pause NAME / resume NAME                   take a peer offline and back (churn)
  report [TAG]                                one "report" line with every peer's figures
                                              (and "name": TAG when given)
  quit

stdout: one JSON object a line with "t" (type) and "at" (wall clock, ms since the epoch, the
same clock the Node side uses): added, ready (a seed checked its data), finished (a leecher has
every piece), error, report.
"""
import json
import os
import select
import sys
import time

import libtorrent as lt


def now_ms():
    return int(time.time() * 1000)


def out(kind, **kw):
    sys.stdout.write(json.dumps(dict(t=kind, at=now_ms(), **kw)) + "\n")
    sys.stdout.flush()


class Peer:
    def __init__(self, ti, name, port, up, down, save, seed, free):
        cat = lt.alert.category_t
        settings = {
            "listen_interfaces": "127.0.0.1:%d" % port,
            "enable_dht": False,
            "enable_lsd": False,
            "enable_upnp": False,
            "enable_natpmp": False,
            "enable_incoming_utp": False,
            "enable_outgoing_utp": False,
            "allow_multiple_connections_per_ip": True,
            "upload_rate_limit": up,
            "download_rate_limit": down,
            "alert_mask": cat.status_notification | cat.error_notification | cat.storage_notification | cat.tracker_notification,
            "aio_threads": 1,
            "hashing_threads": 1,
        }
        if free:
            settings["unchoke_slots_limit"] = 0
            settings["allowed_fast_set_size"] = 0
        self.ses = lt.session(settings)
        # Rate limits apply to every address, loopback included.
        f = lt.ip_filter()
        f.add_rule("0.0.0.0", "255.255.255.255", 1 << lt.session.global_peer_class_id)
        self.ses.set_peer_class_filter(f)
        params = lt.add_torrent_params()
        params.ti = ti
        params.save_path = save
        if seed == 2:
            params.flags |= lt.torrent_flags.super_seeding
        self.h = self.ses.add_torrent(params)
        self.name = name
        self.seed = seed > 0
        self.ready = False
        self.finished_at = None

    def poll(self):
        for a in self.ses.pop_alerts():
            if isinstance(a, lt.torrent_checked_alert) and self.seed:
                s = self.h.status()
                if s.progress < 1.0:
                    out("error", name=self.name, msg="seed data incomplete: %.4f" % s.progress)
                elif not self.ready:
                    self.ready = True
                    out("ready", name=self.name)
            elif isinstance(a, lt.torrent_finished_alert) and not self.seed and self.finished_at is None:
                self.finished_at = now_ms()
                out("finished", name=self.name)
            elif isinstance(a, (lt.torrent_error_alert, lt.file_error_alert)):
                out("error", name=self.name, msg=a.message())
            elif isinstance(a, (lt.tracker_error_alert, lt.tracker_warning_alert)):
                out("tracker_error", name=self.name, msg=a.message())
            elif isinstance(a, lt.tracker_reply_alert):
                out("tracker_reply", name=self.name, peers=a.num_peers)

    def figures(self):
        s = self.h.status()
        return dict(name=self.name, uploaded=s.total_payload_upload, downloaded=s.total_payload_download,
                    progress=s.progress, finishedAt=self.finished_at)


def handle(cmd, peers, ti):
    """Runs one command; returns False on quit."""
    if not cmd:
        return True
    if cmd[0] == "quit":
        return False
    if cmd[0] == "add" and len(cmd) == 8:
        name, port, up, down, save, seed, free = cmd[1:]
        peers[name] = Peer(ti, name, int(port), int(up), int(down), save, int(seed), free == "1")
        out("added", name=name)
    elif cmd[0] == "pause" and len(cmd) == 2 and cmd[1] in peers:
        peers[cmd[1]].h.pause()
    elif cmd[0] == "resume" and len(cmd) == 2 and cmd[1] in peers:
        peers[cmd[1]].h.resume()
        peers[cmd[1]].h.force_reannounce()
    elif cmd[0] == "report" and len(cmd) <= 2:
        tag = {"name": cmd[1]} if len(cmd) == 2 else {}
        out("report", peers=[p.figures() for p in peers.values()], **tag)
    else:
        out("error", msg="bad command: %s" % " ".join(cmd))
    return True


def main():
    ti = lt.torrent_info(sys.argv[1])
    peers = {}
    pending = b""
    running = True
    while running:
        for p in peers.values():
            p.poll()
        readable, _, _ = select.select([sys.stdin], [], [], 0.05)
        if not readable:
            continue
        # Raw reads: a buffered readline() would keep further lines where select() cannot see them.
        chunk = os.read(sys.stdin.fileno(), 65536)
        if chunk == b"":
            break
        pending += chunk
        while b"\n" in pending:
            raw, pending = pending.split(b"\n", 1)
            if not handle(raw.decode().split(), peers, ti):
                running = False
                break
    for p in peers.values():
        p.ses.pause()
    sys.stdout.flush()
    # Sessions are torn down by process exit: destroying 100 sessions one by one takes seconds.
    os._exit(0)


if __name__ == "__main__":
    main()
