#!/usr/bin/python3
"""One python3-libtorrent peer on 127.0.0.1, driven by Shoal's interop tests and bench/transfer.ts.

Usage:
  lt_peer.py --torrent T --save DIR --port N [--seed] [--connect PORT ...] [--exit-when-done]
             [--status-ms MS] [--require-rc4] [--utp-only] [--upload-limit BPS]

- The session listens on 127.0.0.1:PORT only, with DHT, LSD, UPnP, NAT-PMP and uTP off and
  several connections per IP allowed (every peer of a loopback test is 127.0.0.1).
- `--utp-only`: uTP instead of TCP, both ways (TCP in and out off, uTP in and out on; the
  listen port then serves uTP on UDP, and `connect PORT` dials uTP).
- `--seed`: the data under DIR is checked first (a real hash check, not seed_mode); the peer
  prints {"t":"ready"} once it is seeding, or {"t":"error"} and exits 3 when the data is not
  complete.
- A leecher dials every `--connect` port on 127.0.0.1 (libtorrent's `connect_peer`), again every
  2 s while it has no peer, and prints {"t":"finished"} when every piece passed its hash check;
  with `--exit-when-done` it then exits 0.
- `--require-rc4`: MSE/PE forced both ways with RC4 only (`out_enc_policy` and `in_enc_policy` 0 =
  forced, `allowed_enc_level` 2 = RC4): plaintext BitTorrent connections are refused.
- `--host ADDR` / `--connect-host ADDR`: listen on ADDR and dial at CONNECT-HOST (default ADDR,
  default 127.0.0.1), for the network-namespace tests (a peer on the "internet" side of a NAT).
- `--download-limit BPS`: the same for downloads (libtorrent counts handshakes in it too).
- `--priorities 0,1,...`: file priorities by file index (0 = skip).
- `--upload-limit BPS`: upload rate limit, bytes/s. libtorrent exempts local-network peers from
  rate limits, so every address is put in the global peer class for the limit to hold on loopback.
- stdin takes commands, one a line: `connect PORT`, `quit`. End of stdin means quit, so the peer
  never outlives the process that drives it.

Every stdout line is one JSON object with a "t" (type) and "ts" (time.monotonic()). Alerts are
popped from this, the session's, thread: python3-libtorrent 2.0.8 crashed now and then when
wait_for_alert() ran on another thread. Waiting is done in select() on stdin, never in sleep().
"""
import argparse
import json
import os
import select
import sys
import time

import libtorrent as lt


def out(kind, **kw):
    sys.stdout.write(json.dumps(dict(t=kind, ts=time.monotonic(), **kw)) + "\n")
    sys.stdout.flush()


def proc_status():
    """RssAnon / RssFile / VmHWM of this process in KiB (libtorrent 2.x maps files into memory)."""
    res = {}
    try:
        with open("/proc/self/status") as f:
            for line in f:
                key, _, val = line.partition(":")
                if key in ("RssAnon", "RssFile", "VmHWM", "VmRSS"):
                    res[key] = int(val.split()[0])
    except OSError:
        pass
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--torrent", required=True)
    ap.add_argument("--magnet", help="download this magnet link instead of --torrent")
    ap.add_argument("--save", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--seed", action="store_true")
    ap.add_argument("--connect", type=int, action="append", default=[])
    ap.add_argument("--exit-when-done", action="store_true")
    ap.add_argument("--status-ms", type=int, default=1000)
    ap.add_argument("--require-rc4", action="store_true")
    ap.add_argument("--utp-only", action="store_true")
    ap.add_argument("--upload-limit", type=int, default=0)
    ap.add_argument("--download-limit", type=int, default=0)
    ap.add_argument("--priorities", help="file priorities, comma-separated (0 = skip)")
    ap.add_argument("--host", default="127.0.0.1",
                    help="address to listen on and to dial --connect ports at (a namespace's address)")
    ap.add_argument("--connect-host", help="address to dial --connect ports at (default: --host)")
    args = ap.parse_args()

    cat = lt.alert.category_t
    ses = lt.session({
        "listen_interfaces": "%s:%d" % (args.host, args.port),
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_incoming_utp": args.utp_only,
        "enable_outgoing_utp": args.utp_only,
        "enable_incoming_tcp": not args.utp_only,
        "enable_outgoing_tcp": not args.utp_only,
        "allow_multiple_connections_per_ip": True,
        "alert_mask": cat.status_notification | cat.error_notification | cat.connect_notification
        | cat.storage_notification,
    })
    if args.require_rc4:
        ses.apply_settings({"out_enc_policy": 0, "in_enc_policy": 0, "allowed_enc_level": 2,
                            "prefer_rc4": True})
    if args.upload_limit > 0 or args.download_limit > 0:
        ses.apply_settings({"upload_rate_limit": args.upload_limit,
                            "download_rate_limit": args.download_limit})
        f = lt.ip_filter()
        f.add_rule("0.0.0.0", "255.255.255.255", 1 << lt.session.global_peer_class_id)
        ses.set_peer_class_filter(f)
    if args.magnet:
        params = lt.parse_magnet_uri(args.magnet)
        params.save_path = args.save
        h = ses.add_torrent(params)
        out("added", port=args.port, pieces=0, bytes=0)
    else:
        params = lt.add_torrent_params()
        params.ti = lt.torrent_info(args.torrent)
        params.save_path = args.save
        if args.priorities:
            params.file_priorities = [int(x) for x in args.priorities.split(",")]
        h = ses.add_torrent(params)
        out("added", port=args.port, pieces=params.ti.num_pieces(), bytes=params.ti.total_size())

    connect_ports = list(args.connect)

    def dial():
        for p in connect_ports:
            h.connect_peer((args.host if args.connect_host is None else args.connect_host, p))

    if not args.seed:
        dial()
    last_status = 0.0
    last_dial = time.monotonic()
    finished = False
    ready = False
    code = 0
    while True:
        quit_now = False
        for a in ses.pop_alerts():
            if isinstance(a, lt.listen_succeeded_alert):
                out("listening", port=a.port)
            elif isinstance(a, lt.listen_failed_alert):
                out("error", msg=a.message())
                code = 2
                quit_now = True
            elif isinstance(a, lt.torrent_checked_alert):
                s = h.status()
                out("checked", progress=s.progress)
                if args.seed and s.progress < 1.0:
                    out("error", msg="seed data incomplete: progress %.4f" % s.progress)
                    code = 3
                    quit_now = True
            elif isinstance(a, lt.peer_connect_alert):
                out("peer_connect", endpoint="%s:%d" % a.endpoint)
            elif isinstance(a, lt.peer_disconnected_alert):
                out("peer_disconnected", endpoint="%s:%d" % a.endpoint, msg=a.message())
            elif isinstance(a, lt.peer_error_alert):
                out("peer_error", msg=a.message())
            elif isinstance(a, lt.hash_failed_alert):
                out("hash_failed", piece=a.piece_index)
            elif isinstance(a, (lt.torrent_error_alert, lt.file_error_alert)):
                out("error", msg=a.message())
                code = 4
                quit_now = True
            elif isinstance(a, lt.torrent_finished_alert) and not args.seed and not finished:
                finished = True
                s = h.status()
                out("finished", downloaded=s.total_payload_download, uploaded=s.total_payload_upload,
                    mem=proc_status())
                if args.exit_when_done:
                    quit_now = True
        now = time.monotonic()
        s = h.status()
        if args.seed and not ready and s.is_seeding:
            ready = True
            out("ready")
        if now - last_status >= args.status_ms / 1000.0:
            last_status = now
            out("status", state=str(s.state), progress=s.progress, down=s.download_payload_rate,
                up=s.upload_payload_rate, peers=s.num_peers, downloaded=s.total_payload_download,
                uploaded=s.total_payload_upload)
        if not args.seed and not finished and s.num_peers == 0 and now - last_dial >= 2.0:
            last_dial = now
            dial()
        if quit_now:
            break
        readable, _, _ = select.select([sys.stdin], [], [], 0.05)
        if readable:
            line = sys.stdin.readline()
            if line == "":
                break
            cmd = line.split()
            if cmd[:1] == ["quit"]:
                break
            if len(cmd) == 2 and cmd[0] == "connect":
                port = int(cmd[1])
                connect_ports.append(port)
                h.connect_peer((args.host if args.connect_host is None else args.connect_host, port))
    out("exit", code=code)
    del h
    del ses
    os._exit(code)


if __name__ == "__main__":
    main()
