#!/usr/bin/python3
"""Runs one command and prints its wall time and peak RSS as JSON (used by bench/create.ts).

Usage: measure.py <command> [args...]
Prints {"seconds": s, "cpuSeconds": c, "maxRssKiB": k, "status": code, "stdout": text} on stdout:
wall time, user + system CPU time of the child (all its threads), and its peak RSS. The peak RSS
is the child's own ru_maxrss from wait4(2): the largest resident set of that process (all its
threads), file-backed pages included. The command's stderr passes through.
"""
import json
import os
import subprocess
import sys
import time


def main():
    start = time.monotonic()
    child = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE)
    out = child.stdout.read()
    _pid, status, usage = os.wait4(child.pid, 0)
    seconds = time.monotonic() - start
    print(json.dumps({
        "seconds": seconds,
        "cpuSeconds": usage.ru_utime + usage.ru_stime,
        "maxRssKiB": usage.ru_maxrss,
        "status": os.waitstatus_to_exitcode(status),
        "stdout": out.decode("utf-8", "replace"),
    }))


if __name__ == "__main__":
    main()
