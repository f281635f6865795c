#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The net_iov allocator of the Rust core against gen_pool, in this guest.

The devmem family's alloc-bench runs, in the kernel, rounds of `batch`
allocations followed by their releases (as a NAPI poll refills its ring
and the stack later gives the buffers back) on our lock-free free stack
and on a gen_pool used as 6.12's C core uses it, each for at least a
second (the guest's clock may only tick in jiffies), and reports
operations and time. Each allocate+release pair of ours must cost less
than gen_pool's. The numbers are printed for the record.

Needs KSRC.
"""

import os

from devmem_rs import NlError, YnlFamily, ksft_eq, ksft_exit, ksft_run, ksft_true, spec

MSECS = int(os.environ.get("DEVMEM_BENCH_MSECS", "1000"))


def bench(niovs, batch):
    r = YnlFamily(spec("devmem")).alloc_bench({"niovs": niovs, "batch": batch, "msecs": MSECS})
    ours = r["nsecs"] / r["ops"]
    gp = r["genpool-nsecs"] / r["genpool-ops"]
    print(f"# {niovs} net_iovs, batch {batch}: ours {ours:.1f} ns, gen_pool {gp:.1f} ns "
          f"per allocate+release ({r['ops']} and {r['genpool-ops']} pairs in "
          f"{r['nsecs'] / 1e6:.0f} and {r['genpool-nsecs'] / 1e6:.0f} ms): "
          f"{gp / ours:.1f}x")
    ksft_true(r["nsecs"] >= MSECS * 1e6 and r["genpool-nsecs"] >= MSECS * 1e6,
              comment="each ran for the time asked")
    return ours, gp


def small_binding():
    """4 MiB of net_iovs (1024), refills of 64."""
    ours, gp = bench(1024, 64)
    ksft_true(ours < gp, comment=f"ours {ours:.1f} ns < gen_pool {gp:.1f} ns")


def large_binding():
    """256 MiB of net_iovs (65536), refills of 1024: gen_pool's first-fit
    search grows with what is allocated, our stack does not."""
    ours, gp = bench(65536, 1024)
    ksft_true(ours < gp, comment=f"ours {ours:.1f} ns < gen_pool {gp:.1f} ns")


def bad_requests():
    """batch over niovs: EINVAL; niovs over 1 Mi: ERANGE; 0: ERANGE (policy)."""
    fam = YnlFamily(spec("devmem"))

    def err(req):
        try:
            fam.alloc_bench(req)
            return 0
        except NlError as e:
            return -e.nl_msg.error

    ksft_eq(err({"niovs": 16, "batch": 17, "msecs": 1}), 22)
    ksft_eq(err({"niovs": (1 << 20) + 1, "batch": 1, "msecs": 1}), 34)
    ksft_eq(err({"niovs": 0, "batch": 1, "msecs": 1}), 34)
    ksft_eq(err({"niovs": 16, "batch": 1}), 22)


def main():
    ksft_run([small_binding, large_binding, bad_requests])
    ksft_exit()


if __name__ == "__main__":
    main()
