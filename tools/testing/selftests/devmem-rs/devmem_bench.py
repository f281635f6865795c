#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The Rust core's allocator and token store against 6.12's, in this guest.

The devmem family's alloc-bench runs, in the kernel, rounds of `batch`
allocations followed by their releases (as a NAPI poll refills its ring
and the stack later gives the buffers back) on our lock-free free stack
and on a gen_pool used as 6.12's C core uses it, each for at least a
second (the guest's clock may only tick in jiffies), and reports
operations and time. Each allocate+release pair of ours must cost less
than gen_pool's. The numbers are printed for the record.

token-bench does the same for a socket's token store: rounds of 128
tokens received (in skbs of a few frags) and handed back in one
SO_DEVMEM_DONTNEED call, on our table and on an xarray driven as 6.12's
tcp.c and sock.c drive it, with other tokens held throughout. Both must
hand out the same tokens (the kernel checks every round), and ours must
take less time on both paths.

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


def tokens(held, frags):
    r = YnlFamily(spec("devmem")).token_bench({"held": held, "frags": frags, "msecs": MSECS})
    n, nx = r["rounds"], r["xa-rounds"]
    recv, dn = r["recv-nsecs"] / n, r["dontneed-nsecs"] / n
    xrecv, xdn = r["xa-recv-nsecs"] / nx, r["xa-dontneed-nsecs"] / nx
    print(f"# tokens: {held} held, skbs of {frags} frags, {n} rounds of 128: "
          f"recv ours {recv:.0f} ns, xarray {xrecv:.0f} ns ({xrecv / recv:.1f}x); "
          f"DONTNEED ours {dn:.0f} ns, xarray {xdn:.0f} ns ({xdn / dn:.1f}x) per 128 tokens")
    ksft_true(recv < xrecv, comment=f"recv: ours {recv:.0f} ns < xarray {xrecv:.0f} ns")
    ksft_true(dn < xdn, comment=f"DONTNEED: ours {dn:.0f} ns < xarray {xdn:.0f} ns")


def tokens_few_held():
    """Nothing else held, skbs of 4 frags (MTU 1500 GRO)."""
    tokens(0, 4)


def tokens_many_held():
    """10000 tokens held by the application, full skbs (17 frags)."""
    tokens(10000, 17)


def token_bad_requests():
    """frags 0 or 18: ERANGE (policy); held over 1 Mi: ERANGE, 1 Mi served;
    missing: EINVAL."""
    fam = YnlFamily(spec("devmem"))

    def err(req):
        try:
            fam.token_bench(req)
            return 0
        except NlError as e:
            return -e.nl_msg.error

    ksft_eq(err({"held": 0, "frags": 0, "msecs": 1}), 34)
    ksft_eq(err({"held": 0, "frags": 18, "msecs": 1}), 34)
    ksft_eq(err({"held": (1 << 20) + 1, "frags": 1, "msecs": 1}), 34)
    # The largest request is served (its 4 MiB arrays are vmalloc'ed).
    ksft_eq(err({"held": 1 << 20, "frags": 17, "msecs": 1}), 0)
    ksft_eq(err({"held": 0, "frags": 1}), 22)
    ksft_eq(err({"frags": 1, "msecs": 1}), 22)


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
    ksft_run([small_binding, large_binding, bad_requests, tokens_few_held, tokens_many_held,
              token_bad_requests])
    ksft_exit()


if __name__ == "__main__":
    main()
