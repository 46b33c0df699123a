#!/usr/bin/python3
"""Creates a torrent with python3-libtorrent and reports what libtorrent made of it.

Used by test/interop/create-libtorrent.test.ts. Reads a JSON list of requests on stdin:
  [{"root": "/abs/path/file-or-folder", "pieceLength": 32768, "version": "v1"|"v2"|"hybrid",
    "tailPadding": true, "shoalTorrent": "/abs/path/to/shoal.torrent" (optional)}, ...]
and prints a JSON list with one object per request on stdout:
  {"v1": hex|null, "v2": hex|null, "files": [[path, size, isPad], ...] (as created),
   "shoal": {"v1": hex|null, "v2": hex|null, "numFiles": n} (when shoalTorrent was given)}

File list: for v1 the files are added in BEP 52 order (components compared as UTF-8 bytes),
computed here independently; for v2 and hybrid they are added in os.walk order and libtorrent
sorts them and places the padding files itself. Symbolic links and special files are skipped.
"""
import json
import os
import sys

import libtorrent as lt


def hashes(ti):
    ih = ti.info_hashes()
    return (str(ih.v1) if ih.has_v1() else None, str(ih.v2) if ih.has_v2() else None)


def create(req):
    root = req["root"].rstrip("/")
    version = req["version"]
    parent, name = os.path.split(root)
    fs = lt.file_storage()
    if os.path.isfile(root):
        fs.add_file(name, os.path.getsize(root))
    else:
        entries = []
        for dirpath, _dirnames, filenames in os.walk(root):
            for f in filenames:
                full = os.path.join(dirpath, f)
                if os.path.islink(full) or not os.path.isfile(full):
                    continue
                entries.append(os.path.relpath(full, root).split(os.sep))
        if version == "v1":
            entries.sort(key=lambda comps: [c.encode("utf-8") for c in comps])
        for comps in entries:
            fs.add_file(os.path.join(name, *comps), os.path.getsize(os.path.join(root, *comps)))
    flags = {"v1": lt.create_torrent.v1_only, "v2": lt.create_torrent.v2_only, "hybrid": 0}[version]
    if version == "hybrid" and not req.get("tailPadding", True):
        flags |= lt.create_torrent.canonical_files_no_tail_padding
    ct = lt.create_torrent(fs, req["pieceLength"], flags)
    lt.set_piece_hashes(ct, parent)
    ti = lt.torrent_info(lt.bencode(ct.generate()))
    v1, v2 = hashes(ti)
    # The files as created (padding included), not as re-derived when loading the torrent.
    files = ct.files()
    out = {
        "v1": v1,
        "v2": v2,
        "files": [
            [files.file_path(i), files.file_size(i), bool(files.file_flags(i) & lt.file_storage.flag_pad_file)]
            for i in range(files.num_files())
        ],
    }
    if req.get("shoalTorrent"):
        shoal = lt.torrent_info(req["shoalTorrent"])
        sv1, sv2 = hashes(shoal)
        out["shoal"] = {"v1": sv1, "v2": sv2, "numFiles": shoal.num_files()}
    return out


def main():
    print(json.dumps([create(req) for req in json.load(sys.stdin)]))


if __name__ == "__main__":
    main()
