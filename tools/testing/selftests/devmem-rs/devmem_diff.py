#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Differential test of the two devmem cores (Rust and 6.12's C).

The same inputs go through whichever core this kernel runs: the errno of
every bad bind-rx input (devmem_errno.py's table) and an 8 MiB pattern
stream received into a udmabuf over the emulated port pair (every byte
checked; frags, linear and readable bytes counted). The results are kept
as a record, $DEVMEM_DIFF_OUT (make test copies it to
$DEVMEM_CACHE/diff/CORE.json), and compared with the other core's record
if one is there ($DEVMEM_CACHE/diff/OTHER.json, made by
`make test CORE=c` or `make test`): same errnos, same bytes, no linear
or readable payload on either, dma-buf frag counts within 20% of each
other (TCP segmentation varies from run to run). Without the other
record the comparison is skipped, saying so.

Needs KSRC, and DEVMEM_CACHE for ethtool >= 6.7 (tcp-data-split).
"""

import hashlib
import json
import os
import sys

from devmem_errno import Env, run_cases
from devmem_rs import KsftSkipEx, ksft_eq, ksft_exit, ksft_run, ksft_true, skip_without_ports
from devmem_teardown import Pair0, Recv, NSB, sender, wait_gone, ethtool, nsexec

CORE = os.environ.get("CORE", "rust")
OTHER = "c" if CORE == "rust" else "rust"
CACHE = os.environ.get("DEVMEM_CACHE", "")
OUT = os.environ.get("DEVMEM_DIFF_OUT", f"/run/devmem-out/diff-{CORE}.json")
STREAM = 8 << 20
RECORD = {"core": CORE}


def errnos():
    """The errno of every bad bind-rx input (checked against 6.12's)."""
    env = Env()
    try:
        RECORD["errno"] = run_cases(env)
    finally:
        env.close()


def stream():
    """An 8 MiB pattern stream into a udmabuf, every byte checked. With
    the device's hardware GRO off: one dma-buf frag per TCP segment, a
    count that depends on the core and TCP, not on how the device packs
    coalesced payloads (records before GRO_HW existed count the same)."""
    with Pair0() as p:
        et = ethtool()
        nsexec(NSB, et, "-K", p.b, "rx-gro-hw", "off", check=True, capture_output=True)
        r = Recv(NSB, p.b, 1)
        try:
            ident = int(r.cmd("bind")[0])
            r.cmd("listen")
            s = sender(1, STREAM)
            r.cmd("accept")
            r.cmd(f"recv {STREAM} give")
            got, frags, linear, held, readable = map(int, r.cmd("stats"))
            r.cmd("close-conn")
            ksft_eq(s.wait(timeout=60), 0)
        finally:
            r.exit()
            nsexec(NSB, et, "-K", p.b, "rx-gro-hw", "on", capture_output=True)
        ksft_eq(wait_gone(ident), None)
    pattern = bytes(i % 251 for i in range(STREAM))
    RECORD["stream"] = {"bytes": got, "sha256": hashlib.sha256(pattern[:got]).hexdigest(),
                        "frags": frags, "linear": linear, "readable": readable, "held": held,
                        "gro_hw": False}
    print(f"# {CORE} core: {got} bytes in {frags} dma-buf frags, {linear} linear, "
          f"{readable} readable")
    ksft_eq(got, STREAM)
    ksft_true(frags > 0 and linear == 0 and readable == 0 and held == 0, comment=str(RECORD))


def compare():
    """Both cores' records agree."""
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(RECORD, f, indent=1, sort_keys=True)
    ref_path = os.path.join(CACHE, "diff", f"{OTHER}.json")
    if not os.path.exists(ref_path):
        raise KsftSkipEx(f"no record of the {OTHER} core ({ref_path}): run "
                         f"'make test{' CORE=c' if OTHER == 'c' else ''}' once")
    ref = json.load(open(ref_path))
    common = sorted(set(RECORD["errno"]) & set(ref["errno"]))
    ksft_true(len(common) >= len(RECORD["errno"]) - 1, comment=f"{len(common)} cases in common")
    for case in common:
        ksft_eq(RECORD["errno"][case], ref["errno"][case], comment=f"errno: {case}")
    a, b = RECORD["stream"], ref["stream"]
    for key in ("bytes", "sha256", "linear", "readable", "held"):
        ksft_eq(a[key], b[key], comment=f"stream {key}: {CORE} vs {OTHER}")
    if a.get("gro_hw", False) == b.get("gro_hw", False):
        ksft_true(abs(a["frags"] - b["frags"]) <= 0.2 * max(a["frags"], b["frags"]),
                  comment=f"frags: {CORE} {a['frags']}, {OTHER} {b['frags']}")
    else:
        print(f"# frags not compared: hardware GRO {a.get('gro_hw')} here, "
              f"{b.get('gro_hw')} in the {OTHER} record")
    print(f"# {CORE} vs {OTHER}: {len(common)} errnos equal; {a['bytes']} bytes each, "
          f"frags {a['frags']} vs {b['frags']}")


def main():
    skip_without_ports()
    if not ethtool() or not os.path.exists("/dev/udmabuf"):
        print("1..0 # SKIP no ethtool >= 6.7 (tcp-data-split) or no /dev/udmabuf")
        sys.exit(4)
    ksft_run([errnos, stream, compare])
    ksft_exit()


if __name__ == "__main__":
    main()
