#!/usr/bin/python3
"""Creates a torrent of one file or folder with python3-libtorrent (used by bench/create.ts).

Usage: lt_create.py <path> <piece length> <v1|v2|hybrid> <output .torrent>
Prints the info-hashes as JSON: {"v1": hex|null, "v2": hex|null}.
"""
import json
import os
import sys

import libtorrent as lt


def main():
    path, piece_length, version, output = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    path = os.path.abspath(path)
    fs = lt.file_storage()
    lt.add_files(fs, path)
    flags = {"v1": lt.create_torrent.v1_only, "v2": lt.create_torrent.v2_only, "hybrid": 0}[version]
    ct = lt.create_torrent(fs, piece_length, flags)
    lt.set_piece_hashes(ct, os.path.dirname(path))
    data = lt.bencode(ct.generate())
    with open(output, "wb") as f:
        f.write(data)
    ih = lt.torrent_info(data).info_hashes()
    print(json.dumps({"v1": str(ih.v1) if ih.has_v1() else None, "v2": str(ih.v2) if ih.has_v2() else None}))


if __name__ == "__main__":
    main()
