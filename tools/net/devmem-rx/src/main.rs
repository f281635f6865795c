// SPDX-License-Identifier: GPL-2.0

//! devmem-rx: a Device Memory TCP receiver for any NIC that can split
//! headers and steer a flow to a queue, with a pattern sender and the
//! micro-benchmarks behind `make bench`. See `--help`.

mod dmabuf;
mod genl;
mod json;
mod micro;
mod pattern;
mod rx;
mod sys;
mod tx;

use std::collections::HashMap;
use std::net::Ipv4Addr;
use sys::{parse_size, Result};

const USAGE: &str = "\
usage: devmem-rx recv  [--mode devmem|copy] [--ifname IF --queue Q] [--addr A] [--port P]
                       [--flows N] [--cpus C0,C1..] [--dmabuf-size 64M] [--batch 1..128]
                       [--iov 1M] [--accept-timeout S] [--json FILE] [--quiet]
       devmem-rx send  --addr A [--port P] [--flows N] [--cpus C0,..] (--seconds S | --bytes B)
                       [--chunk 64K] [--json FILE]
       devmem-rx bind-bench  --ifname IF [--queue Q] [--size 64M] [--reps N] [--seconds S] [--json FILE]
       devmem-rx memcpy-bench [--size 16M] [--chunk 64K] [--seconds S] [--json FILE]
       devmem-rx alloc-bench [--niovs 1024] [--batch 64] [--msecs 1000] [--json FILE]
       devmem-rx token-bench [--held 0] [--frags 4] [--msecs 1000] [--json FILE]
       devmem-rx core

recv: listens on A:P (flow i on P+i). In devmem mode binds a udmabuf to rx
queues Q..Q+N-1 of IF (netdev bind-rx; the binding lasts until exit),
receives with recvmsg(MSG_SOCK_DEVMEM), reads every payload byte through
the dma-buf's mapping (DMA_BUF_IOCTL_SYNC around it) and checks it against
the pattern, and returns tokens with SO_DEVMEM_DONTNEED, --batch at a time
(timed with the cycle counter). In copy mode receives with recv() and
checks the bytes the same way. The NIC must already split headers and
steer flow i to queue Q+i (ethtool -G IF tcp-data-split on; ethtool -N).
Prints a progress line a second and a summary: bytes, seconds, goodput,
CPU (user and system of this process, softirq of all CPUs) per GiB.
Exits 0 only when every byte arrived as the pattern (devmem: all of it
through the dma-buf, every token returned).

send: streams the pattern (byte i of a flow = i % 251) to A:P.. .
bind-bench: bind-rx + unbind (closing the netlink socket) of a udmabuf.
memcpy-bench: memcpy bandwidth (rep movsb, 8-byte moves, libc memcpy).
alloc-bench, token-bench: the devmem family's in-kernel benches (our net_iov
allocator against gen_pool; our socket token store against 6.12's
xarray); --json writes the reply's counters under ynl's attribute names.
core: which devmem core the kernel runs (rust or c, from caps-get).
--json FILE writes the summary as JSON too.";

struct Args(HashMap<String, String>);

impl Args {
    fn parse(argv: &[String]) -> Result<Self> {
        let mut m = HashMap::new();
        let mut it = argv.iter();
        while let Some(a) = it.next() {
            let k = a
                .strip_prefix("--")
                .ok_or_else(|| format!("unexpected argument '{a}'"))?;
            if k == "quiet" || k == "help" {
                m.insert(k.to_string(), String::new());
                continue;
            }
            let v = it.next().ok_or_else(|| format!("--{k} needs a value"))?;
            m.insert(k.to_string(), v.clone());
        }
        Ok(Self(m))
    }

    fn take(&mut self, k: &str) -> Option<String> {
        self.0.remove(k)
    }

    fn get<T: std::str::FromStr>(&mut self, k: &str, default: T) -> Result<T> {
        match self.take(k) {
            Some(v) => v.parse().map_err(|_| format!("bad --{k} '{v}'").into()),
            None => Ok(default),
        }
    }

    fn size(&mut self, k: &str, default: u64) -> Result<u64> {
        self.take(k).map_or(Ok(default), |v| parse_size(&v))
    }

    fn cpus(&mut self) -> Result<Vec<usize>> {
        match self.take("cpus") {
            None => Ok(Vec::new()),
            Some(v) => v
                .split(',')
                .map(|c| c.parse().map_err(|_| format!("bad --cpus '{v}'").into()))
                .collect(),
        }
    }

    fn done(self) -> Result<()> {
        match self.0.keys().next() {
            Some(k) => Err(format!("unknown option --{k}").into()),
            None => Ok(()),
        }
    }
}

fn write_json(path: Option<String>, j: &str) -> Result<()> {
    if let Some(p) = path {
        std::fs::write(&p, format!("{j}\n")).map_err(|e| format!("{p}: {e}"))?;
    }
    Ok(())
}

fn main_() -> Result<bool> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = argv.first() else {
        println!("{USAGE}");
        return Ok(false);
    };
    let mut a = Args::parse(&argv[1..])?;
    if a.take("help").is_some() || cmd == "--help" || cmd == "help" {
        println!("{USAGE}");
        return Ok(true);
    }
    let json = a.take("json");
    match cmd.as_str() {
        "recv" => {
            let mode = match a.take("mode").as_deref() {
                None | Some("devmem") => rx::Mode::Devmem,
                Some("copy") => rx::Mode::Copy,
                Some(m) => return Err(format!("unknown --mode {m}").into()),
            };
            let opts = rx::RxOpts {
                mode,
                ifname: a.take("ifname"),
                addr: a.get("addr", Ipv4Addr::UNSPECIFIED)?,
                port: a.get("port", 5201)?,
                queue: a.get("queue", 1)?,
                flows: a.get("flows", 1)?,
                cpus: a.cpus()?,
                dmabuf_size: a.size("dmabuf-size", 64 << 20)? as usize,
                batch: a.get("batch", rx::MAX_DONTNEED)?,
                iov_len: a.size("iov", 1 << 20)? as usize,
                accept_timeout: a.get("accept-timeout", 60.0)?,
                progress: a.take("quiet").is_none(),
            };
            a.done()?;
            let (j, ok) = rx::run(&opts)?;
            write_json(json, &j)?;
            Ok(ok)
        }
        "send" => {
            let opts = tx::TxOpts {
                addr: a.get("addr", Ipv4Addr::LOCALHOST)?,
                port: a.get("port", 5201)?,
                flows: a.get("flows", 1)?,
                cpus: a.cpus()?,
                seconds: a.take("seconds").map(|s| s.parse()).transpose()?,
                bytes: a.take("bytes").map(|s| parse_size(&s)).transpose()?,
                chunk: a.size("chunk", 64 << 10)? as usize,
                connect_timeout: a.get("connect-timeout", 30.0)?,
            };
            a.done()?;
            let (j, ok) = tx::run(&opts)?;
            write_json(json, &j)?;
            Ok(ok)
        }
        "bind-bench" => {
            let opts = micro::BindOpts {
                ifname: a.take("ifname").ok_or("bind-bench needs --ifname")?,
                queue: a.get("queue", 1)?,
                size: a.size("size", 64 << 20)? as usize,
                min_reps: a.get("reps", 3)?,
                min_seconds: a.get("seconds", 2.0)?,
            };
            a.done()?;
            write_json(json, &micro::bind(&opts)?)?;
            Ok(true)
        }
        "memcpy-bench" => {
            let size = a.size("size", 16 << 20)? as usize;
            let chunk = a.size("chunk", 64 << 10)? as usize;
            let secs = a.get("seconds", 2.0)?;
            a.done()?;
            write_json(json, &micro::memcpy(size, chunk.max(1), secs)?)?;
            Ok(true)
        }
        "alloc-bench" | "token-bench" => {
            let token = cmd == "token-bench";
            let args = if token {
                [a.get("held", 0)?, a.get("frags", 4)?, a.get("msecs", 1000)?]
            } else {
                [
                    a.get("niovs", 1024)?,
                    a.get("batch", 64)?,
                    a.get("msecs", 1000)?,
                ]
            };
            a.done()?;
            let r = genl::Devmem::open()?
                .bench(token, args)
                .map_err(|e| format!("{cmd}: {e}"))?;
            let v = |k: &str| r.iter().find(|(n, _)| *n == k).map_or(0, |(_, v)| *v) as f64;
            let per = |ns: &str, n: &str| v(ns) / v(n).max(1.0);
            if token {
                println!(
                    "devmem-rx token-bench: recv ours {:.0} ns, xarray {:.0} ns; DONTNEED ours \
                     {:.0} ns, xarray {:.0} ns per 128 tokens",
                    per("recv-nsecs", "rounds"),
                    per("xa-recv-nsecs", "xa-rounds"),
                    per("dontneed-nsecs", "rounds"),
                    per("xa-dontneed-nsecs", "xa-rounds")
                );
            } else {
                println!(
                    "devmem-rx alloc-bench: ours {:.1} ns, gen_pool {:.1} ns per allocate+release",
                    per("nsecs", "ops"),
                    per("genpool-nsecs", "genpool-ops")
                );
            }
            let j = r
                .iter()
                .fold(json::Obj::default(), |o, (k, v)| o.int(k, *v));
            write_json(json, &j.finish())?;
            Ok(true)
        }
        "core" => {
            a.done()?;
            println!("{}", genl::Devmem::open()?.core()?);
            Ok(true)
        }
        c => Err(format!("unknown command '{c}'\n{USAGE}").into()),
    }
}

fn main() {
    match main_() {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("devmem-rx: {e}");
            std::process::exit(2);
        }
    }
}
