#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""`make bench`'s report: reads the guest's JSON summaries in
RESULTS/raw/<kernel>/out/bench/ and writes RESULTS/results.json (one object
per figure: name, value, unit, target, runs, kernel, date), summary.md (the
table) and PNG plots (matplotlib). Every number comes from those files;
figures that need a kernel that was not measured say so instead.

    bench-report.py [--variant full|quick] RESULTS
"""

import argparse
import glob
import json
import os
import platform
import re
import statistics
import sys
from datetime import datetime, timezone

CORE_NAMES = {"c": "C core (6.12 net/core/devmem.c)", "rust": "Rust core (devmem-rs)"}
CORE_SHORT = {"c": "C core", "rust": "Rust core"}
NEEDS_RUST = "not measured: needs both kernels (BENCH_CORES=\"rust c\")"


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def runs_of(bench, pattern, key, valid=lambda rx, tx: True):
    """Values of KEY in BENCH/PATTERN (with {r} for the run), by run number;
    stream runs count only when both ends succeeded and every byte the
    sender sent arrived verified."""
    out = {}
    for path in glob.glob(os.path.join(bench, pattern.format(r="*"))):
        m = re.search(r"\.(\d+)(\.rx)?\.json$", path)
        if not m:
            continue
        r = int(m.group(1))
        rx = load(path)
        tx = load(path.replace(".rx.json", ".tx.json")) if path.endswith(".rx.json") else None
        if rx is None or not valid(rx, tx):
            continue
        v = rx.get(key)
        if isinstance(v, (int, float)):
            out[r] = float(v)
    return out


def kruns(bench, pattern, num, den):
    """NUM / DEN of an in-kernel bench's reply in BENCH/PATTERN, by run."""
    out = {}
    for path in glob.glob(os.path.join(bench, pattern.format(r="*"))):
        m = re.search(r"\.(\d+)\.json$", path)
        j = load(path)
        if m and isinstance(j, dict) and j.get(den):
            out[int(m.group(1))] = j[num] / j[den]
    return out


def stream_ok(rx, tx):
    return (rx.get("ok") is True and tx is not None and tx.get("ok") is True
            and rx.get("bytes") == tx.get("bytes") and rx.get("mismatches") == 0)


def kernel_data(raw):
    """Measurements of one kernel (one VM boot)."""
    bench = os.path.join(raw, "out", "bench")
    info = load(os.path.join(bench, "kernel.json"))
    if info is None:
        return None
    d = {"info": info, "bench": bench}
    d["devmem"] = runs_of(bench, "devmem.b128.{r}.rx.json", "goodput_mbps", stream_ok)
    d["copy"] = runs_of(bench, "copy.{r}.rx.json", "goodput_mbps", stream_ok)
    # The same plain-copy stream over a veth pair (Rust kernel's boot).
    d["veth"] = runs_of(bench, "veth.{r}.rx.json", "goodput_mbps", stream_ok)
    d["devmem2"] = runs_of(bench, "devmem2.b128.{r}.rx.json", "goodput_mbps", stream_ok)
    # 1 flow with everything on vCPU 0 (runs only with 2 vCPUs or more).
    d["devmem1c"] = runs_of(bench, "devmem1c.b128.{r}.rx.json", "goodput_mbps", stream_ok)
    d["cpu_devmem"] = runs_of(bench, "devmem.b128.{r}.rx.json", "cpu_s_per_gib", stream_ok)
    d["cpu_copy"] = runs_of(bench, "copy.{r}.rx.json", "cpu_s_per_gib", stream_ok)
    for b in (1, 32, 128):
        d[f"dn{b}"] = runs_of(bench, f"devmem.b{b}.{{r}}.rx.json", "dontneed_ns_per_token",
                              stream_ok)
        d[f"gp{b}"] = runs_of(bench, f"devmem.b{b}.{{r}}.rx.json", "goodput_mbps", stream_ok)
    d["memcpy"] = runs_of(bench, "memcpy.{r}.json", "kernel_like_mbps")
    d["memcpy_libc"] = runs_of(bench, "memcpy.{r}.json", "libc_memcpy_mbps")
    d["memcpy_movsb"] = runs_of(bench, "memcpy.{r}.json", "rep_movsb_mbps")
    # In-kernel micro-benchmarks (devmem family): ns per allocate+release
    # pair, ours and gen_pool's, per configuration; ns per 128-token round
    # of the token store, ours and the xarray's, per path.
    d["alloc"] = {}
    for n in (1024, 65536):
        d["alloc"][n] = {
            "ours": kruns(bench, f"alloc.{n}.{{r}}.json", "nsecs", "ops"),
            "gp": kruns(bench, f"alloc.{n}.{{r}}.json", "genpool-nsecs", "genpool-ops")}
    d["tokens"] = {}
    for h in (0, 10000):
        d["tokens"][h] = {
            "recv": kruns(bench, f"tokens.{h}.{{r}}.json", "recv-nsecs", "rounds"),
            "dn": kruns(bench, f"tokens.{h}.{{r}}.json", "dontneed-nsecs", "rounds"),
            "xrecv": kruns(bench, f"tokens.{h}.{{r}}.json", "xa-recv-nsecs", "xa-rounds"),
            "xdn": kruns(bench, f"tokens.{h}.{{r}}.json", "xa-dontneed-nsecs", "xa-rounds")}
    d["bind"] = {}
    for path in glob.glob(os.path.join(bench, "bind.*.1.json")):
        size = path.split("/")[-1].split(".")[1]
        d["bind"][size] = runs_of(bench, f"bind.{size}.{{r}}.json", "bind_unbind_ms")
    return d


def size_mib(s):
    """MiB in a size like 64M or 1G."""
    return float(s[:-1]) * (1024 if s[-1] == "G" else 1)


def kname_of(d):
    i = d["info"]
    return f"{i.get('uname')}, {CORE_SHORT.get(i.get('core'), i.get('core'))}"


def med(runs):
    return statistics.median(runs.values()) if runs else None


def pair_ratio(a, b):
    """Per-run ratios a[r]/b[r] of runs in the same boot."""
    return {r: a[r] / b[r] for r in sorted(a) if r in b and b[r]}


def cross_ratio(a, b):
    """Ratios of two kernels' runs (different boots), paired by run number."""
    return pair_ratio(a, b)


class Report:
    def __init__(self, date):
        self.date = date
        self.figures = []

    def add(self, name, runs, unit, target, kernel, note=None):
        vals = [runs[r] for r in sorted(runs)] if runs else []
        fig = {"name": name, "value": statistics.median(vals) if vals else None,
               "unit": unit, "target": target, "runs": vals, "kernel": kernel,
               "date": self.date}
        if note or not vals:
            fig["note"] = note or "no valid run"
        self.figures.append(fig)


def meets(fig):
    t, v = fig["target"], fig["value"]
    if not t or v is None:
        return ""
    m = re.match(r"([≥≤])\s*([\d.]+)", t)
    if not m:
        return ""
    ok = v >= float(m.group(2)) if m.group(1) == "≥" else v <= float(m.group(2))
    return "yes" if ok else "**no**"


def fmt(v, unit):
    if v is None:
        return ""
    if unit == "×":
        return f"{v:.2f}×" if v >= 0.1 else f"{v:.2g}×"
    return f"{v:.3g} {unit}" if v < 100 else f"{v:.0f} {unit}"


def machine():
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def plots(out, kernels, kb):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("bench-report: python3-matplotlib missing (make setup installs it): no plots",
              file=sys.stderr)
        return []
    made = []
    names = list(kernels)
    width = 0.8 / max(1, len(names))

    def bars(ax, groups, key_of, fmtv):
        for i, k in enumerate(names):
            d = kernels[k]
            xs, ys, lo, hi = [], [], [], []
            for j, (_, key) in enumerate(groups):
                runs = key_of(d, key)
                if not runs:
                    continue
                v = list(runs.values())
                m = statistics.median(v)
                xs.append(j + (i - (len(names) - 1) / 2) * width)
                ys.append(m)
                lo.append(m - min(v))
                hi.append(max(v) - m)
            if not xs:
                continue
            b = ax.bar(xs, ys, width, yerr=[lo, hi], capsize=4,
                       label=CORE_NAMES.get(d["info"].get("core"), k))
            ax.bar_label(b, labels=[fmtv(y) for y in ys], label_type="center", fontsize=8, color="white")
        ax.set_xticks(range(len(groups)), [g for g, _ in groups])
        ax.legend(fontsize=8)

    fig, ax = plt.subplots(figsize=(8, 4.5))
    groups = [("plain copy\nover veth", "veth"), ("plain copy", "copy"),
              ("devmem\nbatch 128", "gp128"), ("devmem\nbatch 32", "gp32"),
              ("devmem\nbatch 1", "gp1"), ("devmem, 1 flow\non 1 vCPU", "devmem1c"),
              ("devmem\n2 flows", "devmem2")]
    bars(ax, groups, lambda d, k: d[k], lambda y: f"{y:.1f}")
    mc = [med(d["memcpy"]) for d in kernels.values() if d["memcpy"]]
    ax.set_ylabel("goodput, MB/s (median; bars: min-max)")
    ax.set_title("Receive goodput per configuration (emulated NIC, QEMU TCG)"
                 + (f"\nguest memcpy bandwidth: {mc[0]:.0f} MB/s" if mc else ""), fontsize=10)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "goodput.png"), dpi=110)
    plt.close(fig)
    made.append("goodput.png")

    fig, ax = plt.subplots(figsize=(6, 4))
    bars(ax, [("batch 1", "dn1"), ("batch 32", "dn32"), ("batch 128", "dn128")],
         lambda d, k: d[k], lambda y: f"{y:.0f}")
    ax.set_ylabel("ns per token (median; bars: min-max)")
    ax.set_title("SO_DEVMEM_DONTNEED cost per token", fontsize=10)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "dontneed.png"), dpi=110)
    plt.close(fig)
    made.append("dontneed.png")

    sizes = sorted({s for d in kernels.values() for s in d["bind"]}, key=size_mib)
    if sizes:
        fig, ax = plt.subplots(figsize=(6, 4))
        bars(ax, [(f"{s}iB udmabuf", s) for s in sizes], lambda d, k: d["bind"].get(k, {}),
             lambda y: f"{y:.0f}")
        ax.set_ylabel("bind + unbind, ms (median; bars: min-max)")
        ax.set_title("bind-rx + unbind latency", fontsize=10)
        fig.tight_layout()
        fig.savefig(os.path.join(out, "bind.png"), dpi=110)
        plt.close(fig)
        made.append("bind.png")

    if kb is not None:
        # In-kernel: ours against the C core's structures, one boot.
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))

        def series(ax, groups, sides):
            w = 0.8 / len(sides)
            for i, (lab, key) in enumerate(sides):
                xs, ys, lo, hi = [], [], [], []
                for j, (_, src) in enumerate(groups):
                    v = list(src[key].values())
                    if not v:
                        continue
                    m = statistics.median(v)
                    xs.append(j + (i - (len(sides) - 1) / 2) * w)
                    ys.append(m)
                    lo.append(m - min(v))
                    hi.append(max(v) - m)
                if xs:
                    b = ax.bar(xs, ys, w, yerr=[lo, hi], capsize=4, label=lab)
                    ax.bar_label(b, labels=[f"{y:.0f}" for y in ys], fontsize=8)
            ax.set_xticks(range(len(groups)), [g for g, _ in groups], fontsize=8)
            # The two sides differ by one or two orders of magnitude.
            ax.set_yscale("log")
            ax.margins(y=0.3)
            ax.legend(fontsize=8, loc="upper left")

        series(a1, [("4 MiB, batch 64", kb["alloc"][1024]),
                    ("256 MiB, batch 1024", kb["alloc"][65536])],
               [("Rust allocator", "ours"), ("gen_pool (C core)", "gp")])
        a1.set_ylabel("ns per allocate + release, log scale")
        a1.set_title("net_iov allocation (alloc-bench)", fontsize=10)
        series(a2, [("DONTNEED,\n0 held", kb["tokens"][0]),
                    ("DONTNEED,\n10000 held", kb["tokens"][10000])],
               [("Rust token store", "dn"), ("6.12 xarray", "xdn")])
        a2.set_ylabel("ns per 128 tokens returned, log scale")
        a2.set_title("token recycle, in-kernel (token-bench)", fontsize=10)
        fig.tight_layout()
        fig.savefig(os.path.join(out, "inkernel.png"), dpi=110)
        plt.close(fig)
        made.append("inkernel.png")
    return made


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--variant", default="full")
    ap.add_argument("results")
    args = ap.parse_args()
    out = args.results
    kernels = {}
    # The Rust core's kernel first.
    for raw in sorted(glob.glob(os.path.join(out, "raw", "*")),
                      key=lambda p: (os.path.basename(p) != "rust", p)):
        d = kernel_data(raw)
        if d:
            kernels[os.path.basename(raw)] = d
    if not kernels:
        print("bench-report: no measurements found", file=sys.stderr)
        return 1
    date = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    rep = Report(date)
    by_core = {d["info"].get("core"): d for d in kernels.values()}

    for d in kernels.values():
        kname = kname_of(d)
        i = d["info"]
        rep.add("devmem receive goodput / plain-copy receive goodput (1 flow)",
                pair_ratio(d["devmem"], d["copy"]), "×", "≥ 1.5×", kname)
        rep.add("receiver CPU (user + sys + softirq) per GiB, devmem / plain copy",
                pair_ratio(d["cpu_devmem"], d["cpu_copy"]), "×", "≤ 0.5×", kname)
        mem = med(d["memcpy"])
        rep.add("devmem goodput / guest memcpy bandwidth",
                {r: v / mem for r, v in d["devmem"].items()} if mem else {}, "×", "≥ 0.7×",
                kname)
        # Flow i of the 2 wholly on vCPU i, against 1 flow wholly on
        # vCPU 0; a guest with 1 vCPU has only the shared-vCPU figure.
        two_cpus = int(i.get("cpus", 0)) >= 2
        rep.add("devmem goodput, 2 flows on 2 bound queues (2 vCPUs) / 1 flow on 1 queue "
                "(1 vCPU)", pair_ratio(d["devmem2"], d["devmem1c" if two_cpus else "devmem"]),
                "×", "≥ 1.8×", kname,
                None if two_cpus else f"the guest had {i.get('cpus')} vCPU: both flows on it")
        if d["veth"]:
            rep.add("plain TCP goodput, emulated port pair / veth (copy receiver, 1 flow, "
                    "the driver's offloads on)", pair_ratio(d["copy"], d["veth"]), "×",
                    "≥ 1.0×", kname)
        rep.add("devmem receive goodput (1 flow, DONTNEED batch 128)", d["devmem"], "MB/s", "",
                kname)
        rep.add("plain-copy receive goodput (1 flow)", d["copy"], "MB/s", "", kname)
        if d["veth"]:
            rep.add("plain-copy receive goodput over veth (1 flow)", d["veth"], "MB/s", "",
                    kname)
        rep.add("devmem receive goodput, 2 flows", d["devmem2"], "MB/s", "", kname)
        if two_cpus:
            rep.add("devmem receive goodput, 1 flow on vCPU 0 alone", d["devmem1c"], "MB/s", "",
                    kname)
        rep.add("receiver CPU per GiB, devmem", d["cpu_devmem"], "s/GiB", "", kname)
        rep.add("receiver CPU per GiB, plain copy", d["cpu_copy"], "s/GiB", "", kname)
        rep.add("guest memcpy bandwidth (as the kernel copies: rep movsb with FSRM, "
                "else 8-byte moves)",
                d["memcpy"], "MB/s", "", kname)
        for b in (1, 32, 128):
            rep.add(f"SO_DEVMEM_DONTNEED cost per token, batch {b}", d[f"dn{b}"], "ns", "",
                    kname)
        for size, runs in sorted(d["bind"].items(), key=lambda kv: size_mib(kv[0])):
            rep.add(f"bind + unbind latency, {size}iB udmabuf", runs, "ms", "", kname)

    rust, c = by_core.get("rust"), by_core.get("c")
    both = "Rust vs C kernels" if rust and c else ""

    def cross(name, key_of, target):
        if rust and c:
            rep.add(name, cross_ratio(key_of(rust), key_of(c)), "×", target, both)
        else:
            rep.add(name, {}, "×", target, "", NEEDS_RUST)

    cross("goodput, Rust core / C core", lambda d: d["devmem"], "≥ 1.0×")
    for b in (1, 32, 128):
        cross(f"SO_DEVMEM_DONTNEED cost per token, Rust / C, batch {b}",
              lambda d, b=b: d[f"dn{b}"], "≤ 0.5×")
    # The sizes measured (64M and 1G; QUICK=1 binds 128M instead of 1G).
    for size in sorted({s for d in kernels.values() for s in d["bind"]}, key=size_mib):
        cross(f"bind + unbind latency, {size}iB udmabuf, Rust / C",
              lambda d, s=size: d["bind"].get(s, {}), "≤ 0.5×")

    # The in-kernel benches run the same Rust code in either kernel: the
    # figures come from the Rust core's kernel (else whichever ran them).
    kb = next((d for d in [rust, c] + list(kernels.values())
               if d and any(d["alloc"][n]["ours"] for n in d["alloc"])), None)
    if kb is None:
        rep.add("net_iov allocate + release cost, Rust allocator / C gen_pool", {}, "×",
                "≤ 0.5×", "", "no alloc-bench run")
    else:
        kn = kname_of(kb) + ", in-kernel (alloc-bench, token-bench)"
        for n, what in ((1024, "4 MiB binding (1024 net_iovs), batches of 64"),
                        (65536, "256 MiB binding (65536 net_iovs), batches of 1024")):
            a = kb["alloc"][n]
            rep.add(f"net_iov allocate + release cost, Rust allocator / C gen_pool, {what}",
                    pair_ratio(a["ours"], a["gp"]), "×", "≤ 0.5×", kn)
            rep.add(f"net_iov allocate + release, Rust allocator, {what}", a["ours"], "ns", "", kn)
            rep.add(f"net_iov allocate + release, gen_pool, {what}", a["gp"], "ns", "", kn)
        for h, what in ((0, "nothing else held, skbs of 4 frags"),
                        (10000, "10000 tokens held, skbs of 17 frags")):
            t = kb["tokens"][h]
            rep.add(f"token store, SO_DEVMEM_DONTNEED path per 128 tokens, Rust / 6.12 xarray, "
                    f"{what}", pair_ratio(t["dn"], t["xdn"]), "×", "≤ 0.5×", kn)
            rep.add(f"token store, recvmsg path per 128 tokens, Rust / 6.12 xarray, {what}",
                    pair_ratio(t["recv"], t["xrecv"]), "×", "", kn)
            for key, lab in (("dn", "Rust, DONTNEED"), ("xdn", "xarray, DONTNEED"),
                             ("recv", "Rust, recvmsg"), ("xrecv", "xarray, recvmsg")):
                rep.add(f"token store per 128 tokens, {lab}, {what}", t[key], "ns", "", kn)

    made = plots(out, kernels, kb)
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(rep.figures, f, indent=1, ensure_ascii=False)
        f.write("\n")

    info = next(iter(kernels.values()))["info"]
    host = load(os.path.join(out, "host.json")) or {}
    load_s = (f"; host load average {host['loadavg_start']} at the start, "
              f"{host['loadavg_end']} at the end") if host else ""
    lines = [f"# make bench ({args.variant})", "",
             f"{date}; host: {machine()}; guest: QEMU TCG, {info.get('cpus')} vCPUs, "
             f"{int(info.get('mem_kib', 0)) / (1 << 20):.1f} GiB of RAM seen{load_s}", "",
             "| figure | target | measured (median) | met | runs | kernel |",
             "|---|---|---|---|---|---|"]
    # The figures with a target (the table) first, then the
    # absolute figures they come from.
    for fig in ([f for f in rep.figures if f["target"]]
                + [f for f in rep.figures if not f["target"]]):
        runs = ", ".join(fmt(v, fig["unit"]).replace(" " + fig["unit"], "") for v in fig["runs"])
        val = fmt(fig["value"], fig["unit"]) if fig["value"] is not None else ""
        if fig.get("note"):
            val = f"{val} ({fig['note']})" if val else fig["note"]
        lines.append(f"| {fig['name']} | {fig['target'] or '-'} | {val} | {meets(fig)} | "
                     f"{runs} | {fig['kernel']} |")
    lines += ["", "Plots: " + ", ".join(made) if made else "No plots (no matplotlib).", ""]
    for k in kernels:
        try:
            with open(os.path.join(out, "raw", k, "guest-reports.log")) as f:
                reports = [re.sub(r"^\d+:(\[ *[\d.]+\] )?", "", x.rstrip()) for x in f]
        except OSError:
            continue
        if reports:
            lines += [f"Kernel reports in the guest log ({k} kernel, raw/{k}/guest.log):", "",
                      *[f"    {x}" for x in reports[:8]], ""]
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write("\n".join(lines))
    missing = [f["name"] for f in rep.figures if f["value"] is None and f.get("note") != NEEDS_RUST
               and not f.get("note", "").startswith(NEEDS_RUST)]
    for m in missing:
        print(f"bench-report: no valid run for: {m}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
