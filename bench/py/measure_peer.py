#!/usr/bin/python3
"""Runs one peer process and records what it cost (used by bench/transfer.ts).

Usage: measure_peer.py OUT.json COMMAND [ARGS...]

The command inherits this process's stdin, stdout and stderr, so whoever drives it sees its
output live and can write to its stdin. While it runs, /proc/<pid>/status is sampled every
20 ms for VmRSS, RssAnon and RssFile (libtorrent 2.x maps the files it serves or downloads, so
its resident set includes file pages; RssAnon is the memory it allocated itself). When it
exits, OUT.json receives:
  {"status": exit code (negative: killed by that signal),
   "userSeconds", "systemSeconds", "cpuSeconds": CPU time of the child, all its threads (wait4),
   "maxRssKiB": peak resident set (ru_maxrss from wait4),
   "peakRssAnonKiB", "peakRssFileKiB", "peakVmRssKiB": largest sampled values,
   "samples": number of samples taken,
   "mainRunSeconds", "mainWaitSeconds": the main thread's time on a CPU and its time runnable
   but waiting for one (/proc/<pid>/schedstat, last sample), "threadsWaitSeconds": the wait of
   all its threads summed. On a shared, loaded machine the wait says how much of the wall time a
   process spent queued for a CPU rather than waiting for its own I/O.}
SIGTERM and SIGINT are passed on to the child.
"""
import json
import os
import signal
import subprocess
import sys
import time

SAMPLE_SECONDS = 0.02


def sample(pid, peaks):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                key, _, val = line.partition(":")
                if key in peaks:
                    peaks[key] = max(peaks[key], int(val.split()[0]))
        return True
    except (OSError, ValueError):
        return False


def sample_sched(pid, last):
    """Last schedstat (run ns, run-queue wait ns) of every thread of `pid`, by thread id."""
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                run, wait, _ = f.read().split()
            last[int(tid)] = (int(run), int(wait))
        except (OSError, ValueError):
            pass


def main():
    out_path, argv = sys.argv[1], sys.argv[2:]
    child = subprocess.Popen(argv)

    def forward(signum, _frame):
        try:
            child.send_signal(signum)
        except ProcessLookupError:
            pass

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    peaks = {"VmRSS": 0, "RssAnon": 0, "RssFile": 0}
    samples = 0
    sched = {}
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid == child.pid:
            break
        if sample(child.pid, peaks):
            samples += 1
            sample_sched(child.pid, sched)
        time.sleep(SAMPLE_SECONDS)
    result = {
        "status": os.waitstatus_to_exitcode(status),
        "userSeconds": usage.ru_utime,
        "systemSeconds": usage.ru_stime,
        "cpuSeconds": usage.ru_utime + usage.ru_stime,
        "maxRssKiB": usage.ru_maxrss,
        "peakRssAnonKiB": peaks["RssAnon"],
        "peakRssFileKiB": peaks["RssFile"],
        "peakVmRssKiB": peaks["VmRSS"],
        "samples": samples,
        "mainRunSeconds": sched.get(child.pid, (0, 0))[0] / 1e9,
        "mainWaitSeconds": sched.get(child.pid, (0, 0))[1] / 1e9,
        "threadsWaitSeconds": sum(w for _, w in sched.values()) / 1e9,
    }
    with open(out_path + ".tmp", "w") as f:
        json.dump(result, f)
    os.replace(out_path + ".tmp", out_path)
    code = result["status"]
    sys.exit(code if code >= 0 else 128 - code)


if __name__ == "__main__":
    main()
