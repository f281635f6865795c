#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The devmem generic netlink family, driven with ynl from the kernel tree.

Needs KSRC: the 6.12 kernel tree devmem-rs is built in, with
Documentation/netlink/specs/devmem.yaml linked into it (scripts/kernel.sh).
"""

import json
import os
import subprocess
import sys

from devmem_rs import (KSRC, NlError, YnlFamily, ksft_eq, ksft_exit, ksft_in,
                       ksft_run, ksft_true, spec)

SPEC = spec("devmem")

# The devmem user ABI of Linux 6.12 (include/uapi/asm-generic/socket.h,
# include/linux/socket.h, include/uapi/linux/uio.h, net/core/sock.c).
ABI_6_12 = {
    "family-version": 1,
    "so-devmem-dontneed": 80,
    "scm-devmem-linear": 78,
    "scm-devmem-dmabuf": 79,
    "msg-sock-devmem": 0x2000000,
    "dmabuf-cmsg-size": 24,
    "max-dontneed-tokens": 128,
    "max-dontneed-frags": 1024,
}

# The devmem core serving bind-rx: make test builds the one CORE names.
CORE = os.environ.get("CORE", "rust")
CAPS = dict(ABI_6_12, implementation=CORE)


def caps_get_lib() -> None:
    """caps-get through the ynl library, spec validated by its schema."""
    fam = YnlFamily(SPEC)
    caps = fam.caps_get({})
    for key, val in CAPS.items():
        ksft_eq(caps.get(key), val, comment=key)


def caps_get_cli() -> None:
    """caps-get through the ynl command line tool, as users run it."""
    out = subprocess.run([sys.executable, os.path.join(KSRC, "tools/net/ynl/cli.py"),
                          "--spec", SPEC, "--do", "caps-get", "--output-json"],
                         check=True, capture_output=True, text=True).stdout
    ksft_eq(json.loads(out), CAPS)


def family_registered() -> None:
    """The genetlink controller lists the family, its version and its op."""
    ctrl = YnlFamily(spec("nlctrl"))
    fam = ctrl.getfamily({"family-name": "devmem"})
    ksft_eq(fam["family-name"], "devmem")
    ksft_eq(fam["version"], 1)
    # An indexed array: a list of {index: {"id": cmd, "flags": {...}}}.
    ops = {op["id"]: op["flags"] for item in fam["ops"] for op in item.values()}
    for cmd in (1, 2, 3):  # caps-get, binding-get, alloc-bench
        ksft_in(cmd, ops)
        ksft_true("cmd-cap-do" in ops[cmd], comment=str(ops[cmd]))
    ksft_true("admin-perm" not in ops[1], comment="caps-get is for anyone")
    ksft_true("admin-perm" in ops[2] and "admin-perm" in ops[3], comment=str(ops))


def implementation_in_boot_log() -> None:
    """The boot log says which core serves bind-rx, as caps-get does."""
    log = subprocess.run(["dmesg"], check=True, capture_output=True, text=True).stdout
    lines = [l for l in log.splitlines() if "devmem_rs: Device Memory TCP core" in l]
    ksft_eq(len(lines), 1, comment=str(lines))
    ksft_true(f"(implementation: {CORE})" in lines[0], comment=lines[0])


def unknown_cmd() -> None:
    """A command the family does not have is refused with EOPNOTSUPP."""
    fam = YnlFamily(SPEC)
    # Rewrite the spec's only op to an unknown command number.
    fam.msgs["caps-get"].req_value = 42
    try:
        fam.caps_get({})
    except NlError as e:
        ksft_eq(e.nl_msg.error, -95)  # EOPNOTSUPP
        return
    raise AssertionError("unknown command accepted")


def main() -> None:
    ksft_run([caps_get_lib, caps_get_cli, family_registered, implementation_in_boot_log,
              unknown_cmd])
    ksft_exit()


if __name__ == "__main__":
    main()
