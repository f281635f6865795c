// SPDX-License-Identifier: GPL-2.0

//! The receiver: Device Memory TCP (`recvmsg(MSG_SOCK_DEVMEM)` into a
//! bound udmabuf, every payload byte read back through the dma-buf's
//! mapping and checked, tokens returned with `SO_DEVMEM_DONTNEED`), or a
//! plain copying receive (`recv` into a buffer, every byte checked).

use crate::dmabuf::Udmabuf;
use crate::genl::Netdev;
use crate::json::{self, Obj};
use crate::pattern::Pattern;
use crate::sys::{self, check, CpuTimes, Result, TickClock};
use std::io::Write;
use std::net::{Ipv4Addr, TcpListener};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Barrier;

const MSG_SOCK_DEVMEM: libc::c_int = 0x200_0000;
const SCM_DEVMEM_LINEAR: libc::c_int = 78;
const SCM_DEVMEM_DMABUF: libc::c_int = 79;
const SO_DEVMEM_DONTNEED: libc::c_int = 80;
/// Most tokens one `SO_DEVMEM_DONTNEED` takes (6.12: optlen <= 1024).
pub const MAX_DONTNEED: usize = 128;
/// Control buffer: room for about 1600 `SCM_DEVMEM_DMABUF` cmsgs.
const CTRL_LEN: usize = 64 << 10;

/// How payloads are received.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    /// `MSG_SOCK_DEVMEM` into a bound udmabuf.
    Devmem,
    /// Plain `recv` into a user buffer.
    Copy,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Devmem => "devmem",
            Mode::Copy => "copy",
        }
    }
}

/// Receiver settings.
pub struct RxOpts {
    /// Receive mode.
    pub mode: Mode,
    /// Interface whose queues get the dma-buf (devmem mode).
    pub ifname: Option<String>,
    /// Address to listen on.
    pub addr: Ipv4Addr,
    /// Port of flow 0; flow `i` listens on `port + i`.
    pub port: u16,
    /// First rx queue to bind; flow `i` is expected on `queue + i`.
    pub queue: u32,
    /// Number of flows (one thread each).
    pub flows: usize,
    /// CPU of each flow's thread (empty: not pinned).
    pub cpus: Vec<usize>,
    /// Size of the udmabuf.
    pub dmabuf_size: usize,
    /// Tokens per `SO_DEVMEM_DONTNEED` call (1..=128).
    pub batch: usize,
    /// Bytes asked for per `recvmsg`/`recv`.
    pub iov_len: usize,
    /// Seconds to wait for the senders to connect.
    pub accept_timeout: f64,
    /// A progress line a second on stderr.
    pub progress: bool,
}

/// What one flow saw.
#[derive(Default, Debug, Clone)]
struct FlowStats {
    bytes: u64,
    frags: u64,
    linear: u64,
    readable: u64,
    mismatches: u64,
    calls: u64,
    tokens: u64,
    freed: u64,
    dontneed_calls: u64,
    dontneed_ticks: u64,
    sync_calls: u64,
    sync_ticks: u64,
    end: f64,
    error: Option<String>,
}

struct Shared {
    bytes: Vec<AtomicU64>,
    failed: AtomicBool,
}

/// One payload piece reported by a `recvmsg`.
enum Piece {
    Linear(usize),
    Frag { off: u64, size: usize, token: u32 },
}

fn accept(l: &TcpListener, timeout: f64) -> Result<std::net::TcpStream> {
    let mut p = libc::pollfd {
        fd: l.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: `p` is one valid pollfd.
    let r = unsafe { libc::poll(&mut p, 1, (timeout * 1000.0) as libc::c_int) };
    check(r.into(), "poll")?;
    if r == 0 {
        return Err(format!("no sender connected within {timeout} s").into());
    }
    Ok(l.accept()?.0)
}

/// Returns `toks` with `SO_DEVMEM_DONTNEED`; the call is timed in ticks.
fn dontneed(fd: i32, toks: &[u32], st: &mut FlowStats) -> Result<()> {
    // struct dmabuf_token { token_start, token_count }
    let arg: Vec<[u32; 2]> = toks.iter().map(|&t| [t, 1]).collect();
    let t0 = sys::ticks();
    // SAFETY: `arg` is a valid array of `toks.len()` dmabuf_tokens.
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            SO_DEVMEM_DONTNEED,
            arg.as_ptr().cast(),
            (arg.len() * 8) as libc::socklen_t,
        )
    };
    st.dontneed_ticks += sys::ticks().wrapping_sub(t0);
    check(r.into(), "SO_DEVMEM_DONTNEED")?;
    st.dontneed_calls += 1;
    st.tokens += toks.len() as u64;
    st.freed += r as u64;
    Ok(())
}

fn parse_cmsgs(msg: &libc::msghdr, pieces: &mut Vec<Piece>, dmabuf_id: u32) -> Result<()> {
    pieces.clear();
    // SAFETY: the kernel filled `msg`'s control buffer; the CMSG macros
    // stay within msg_controllen, and payloads are read unaligned.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(msg);
        while !c.is_null() {
            let h = &*c;
            if h.cmsg_level == libc::SOL_SOCKET
                && (h.cmsg_type == SCM_DEVMEM_LINEAR || h.cmsg_type == SCM_DEVMEM_DMABUF)
            {
                if (h.cmsg_len as usize) < libc::CMSG_LEN(24) as usize {
                    return Err("short devmem cmsg".into());
                }
                // struct dmabuf_cmsg
                let d = libc::CMSG_DATA(c);
                let off = (d as *const u64).read_unaligned();
                let size = (d.add(8) as *const u32).read_unaligned() as usize;
                let token = (d.add(12) as *const u32).read_unaligned();
                let id = (d.add(16) as *const u32).read_unaligned();
                if h.cmsg_type == SCM_DEVMEM_LINEAR {
                    pieces.push(Piece::Linear(size));
                } else if id != dmabuf_id {
                    return Err(format!("frag from dma-buf {id}, bound {dmabuf_id}").into());
                } else {
                    pieces.push(Piece::Frag { off, size, token });
                }
            }
            c = libc::CMSG_NXTHDR(msg, c);
        }
    }
    Ok(())
}

struct FlowCtx<'a> {
    opts: &'a RxOpts,
    buf: Option<&'a Udmabuf>,
    dmabuf_id: u32,
    pat: &'a Pattern,
    shared: &'a Shared,
    idx: usize,
}

fn recv_devmem(cx: &FlowCtx<'_>, fd: i32, st: &mut FlowStats) -> Result<()> {
    let ub = cx.buf.ok_or("no dma-buf")?;
    let mut data = vec![0u8; cx.opts.iov_len];
    let mut ctrl = vec![0u64; CTRL_LEN / 8];
    let mut pieces = Vec::new();
    let mut pending: Vec<u32> = Vec::with_capacity(4096);
    loop {
        let mut iov = libc::iovec {
            iov_base: data.as_mut_ptr().cast(),
            iov_len: data.len(),
        };
        // SAFETY: a zeroed msghdr is valid; we point it at live buffers.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = ctrl.as_mut_ptr().cast();
        msg.msg_controllen = CTRL_LEN;
        // SAFETY: `msg` describes valid buffers.
        let n = unsafe { libc::recvmsg(fd, &mut msg, MSG_SOCK_DEVMEM) };
        if n < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
            continue;
        }
        let n = check(n as libc::c_long, "recvmsg(MSG_SOCK_DEVMEM)")? as usize;
        if n == 0 {
            break;
        }
        st.calls += 1;
        parse_cmsgs(&msg, &mut pieces, cx.dmabuf_id)?;
        if pieces.is_empty() {
            // Bytes without a devmem cmsg: a readable skb, so the flow
            // did not arrive on the bound queue.
            st.readable += n as u64;
            return Err(format!(
                "{n} bytes arrived without devmem cmsgs: the flow is not on the bound \
                 queue (check header split and the ntuple rule, ethtool -n/-S)"
            )
            .into());
        }
        let mut lin = 0;
        let frags = pieces.iter().any(|p| matches!(p, Piece::Frag { .. }));
        if frags {
            let t = sys::ticks();
            ub.begin_read()?;
            st.sync_ticks += sys::ticks().wrapping_sub(t);
            st.sync_calls += 1;
        }
        for p in &pieces {
            let chunk = match *p {
                Piece::Linear(len) => {
                    let c = data
                        .get(lin..lin + len)
                        .ok_or("linear cmsg past the data")?;
                    lin += len;
                    st.linear += len as u64;
                    c
                }
                Piece::Frag { off, size, token } => {
                    st.frags += 1;
                    pending.push(token);
                    ub.bytes(off, size).ok_or("frag outside the dma-buf")?
                }
            };
            if !cx.pat.matches(st.bytes, chunk) {
                st.mismatches += 1;
            }
            st.bytes += chunk.len() as u64;
        }
        if frags {
            let t = sys::ticks();
            ub.end_read()?;
            st.sync_ticks += sys::ticks().wrapping_sub(t);
            st.sync_calls += 1;
        }
        cx.shared.bytes[cx.idx].store(st.bytes, Relaxed);
        let mut done = 0;
        while pending.len() - done >= cx.opts.batch {
            dontneed(fd, &pending[done..done + cx.opts.batch], st)?;
            done += cx.opts.batch;
        }
        pending.drain(..done);
    }
    for c in pending.chunks(cx.opts.batch) {
        dontneed(fd, c, st)?;
    }
    Ok(())
}

fn recv_copy(cx: &FlowCtx<'_>, fd: i32, st: &mut FlowStats) -> Result<()> {
    let mut data = vec![0u8; cx.opts.iov_len];
    loop {
        // SAFETY: `data` is a valid buffer of `data.len()` bytes.
        let n = unsafe { libc::recv(fd, data.as_mut_ptr().cast(), data.len(), 0) };
        if n < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
            continue;
        }
        let n = check(n as libc::c_long, "recv")? as usize;
        if n == 0 {
            break;
        }
        st.calls += 1;
        if !cx.pat.matches(st.bytes, &data[..n]) {
            st.mismatches += 1;
        }
        st.bytes += n as u64;
        cx.shared.bytes[cx.idx].store(st.bytes, Relaxed);
    }
    Ok(())
}

fn flow(cx: FlowCtx<'_>, l: TcpListener, start: &Barrier) -> FlowStats {
    let mut st = FlowStats::default();
    let r = (|| -> Result<()> {
        let s = match cx.opts.cpus.get(cx.idx) {
            Some(&cpu) => sys::pin_to_cpu(cpu).and_then(|_| accept(&l, cx.opts.accept_timeout)),
            None => accept(&l, cx.opts.accept_timeout),
        };
        // Wait for every flow (and the main thread's first CPU sample)
        // even when this one failed, so nobody waits forever.
        start.wait();
        let s = s?;
        let fd = s.as_raw_fd();
        match cx.opts.mode {
            Mode::Devmem => recv_devmem(&cx, fd, &mut st),
            Mode::Copy => recv_copy(&cx, fd, &mut st),
        }
    })();
    st.end = sys::mono();
    if let Err(e) = r {
        st.error = Some(format!("flow {}: {e}", cx.idx));
        cx.shared.failed.store(true, Relaxed);
    }
    st
}

/// Receives `opts.flows` streams; prints a summary; returns its JSON and
/// whether every byte arrived and was verified.
pub fn run(opts: &RxOpts) -> Result<(String, bool)> {
    if !(1..=MAX_DONTNEED).contains(&opts.batch) {
        return Err(format!("--batch must be 1..={MAX_DONTNEED}").into());
    }
    let mut netdev = None;
    let mut ub = None;
    let mut dmabuf_id = 0;
    let queues: Vec<u32> = (0..opts.flows as u32).map(|i| opts.queue + i).collect();
    if opts.mode == Mode::Devmem {
        let ifname = opts.ifname.as_deref().ok_or("devmem mode needs --ifname")?;
        let ifindex = sys::ifindex(ifname)?;
        let b = Udmabuf::new(opts.dmabuf_size)?;
        let mut nl = Netdev::open()?;
        dmabuf_id = nl.bind_rx(ifindex, b.fd(), &queues)?;
        netdev = Some(nl);
        ub = Some(b);
    }
    let listeners = (0..opts.flows)
        .map(|i| TcpListener::bind((opts.addr, opts.port + i as u16)))
        .collect::<std::io::Result<Vec<_>>>()?;
    match opts.mode {
        Mode::Devmem => eprintln!(
            "devmem-rx: listening on {}:{}.. ({} flow(s)), dma-buf {} MiB bound to {} queue(s) {:?} as id {}",
            opts.addr,
            opts.port,
            opts.flows,
            opts.dmabuf_size >> 20,
            opts.ifname.as_deref().unwrap_or("?"),
            queues,
            dmabuf_id
        ),
        Mode::Copy => eprintln!(
            "devmem-rx: listening on {}:{}.. ({} flow(s)), plain copy",
            opts.addr, opts.port, opts.flows
        ),
    }
    let pat = Pattern::new(opts.iov_len.max(1 << 16));
    let shared = Shared {
        bytes: (0..opts.flows).map(|_| AtomicU64::new(0)).collect(),
        failed: AtomicBool::new(false),
    };
    let start = Barrier::new(opts.flows + 1);
    let (stats, t0, cpu0, clk) = std::thread::scope(|sc| -> Result<_> {
        let handles: Vec<_> = listeners
            .into_iter()
            .enumerate()
            .map(|(idx, l)| {
                let cx = FlowCtx {
                    opts,
                    buf: ub.as_ref(),
                    dmabuf_id,
                    pat: &pat,
                    shared: &shared,
                    idx,
                };
                let start = &start;
                sc.spawn(move || flow(cx, l, start))
            })
            .collect();
        start.wait();
        let t0 = sys::mono();
        let clk = TickClock::start();
        let cpu0 = CpuTimes::now()?;
        let mut last = t0;
        while !handles.iter().all(|h| h.is_finished()) {
            std::thread::sleep(std::time::Duration::from_millis(50));
            let now = sys::mono();
            if opts.progress && now - last >= 1.0 {
                last = now;
                let b: u64 = shared.bytes.iter().map(|b| b.load(Relaxed)).sum();
                // One write per line: formatting straight into the
                // unbuffered stderr makes a write(2) per padding
                // character, which in the TCG guest (log on 9p) cost a
                // fifth of the receiver's CPU time.
                let line = format!(
                    "devmem-rx: {:6.1} s {:9.1} MiB {:8.2} MB/s\n",
                    now - t0,
                    b as f64 / (1 << 20) as f64,
                    b as f64 / (now - t0) / 1e6
                );
                let _ = std::io::stderr().write_all(line.as_bytes());
            }
        }
        let stats: Vec<FlowStats> = handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect();
        Ok((stats, t0, cpu0, clk))
    })?;
    let cpu = CpuTimes::now()?.since(&cpu0);
    let hz = clk.hz();
    drop(netdev);
    Ok(summarize(opts, &stats, t0, &cpu, hz, dmabuf_id))
}

fn summarize(
    opts: &RxOpts,
    stats: &[FlowStats],
    t0: f64,
    cpu: &CpuTimes,
    hz: Option<f64>,
    dmabuf_id: u32,
) -> (String, bool) {
    let sum = |f: fn(&FlowStats) -> u64| stats.iter().map(f).sum::<u64>();
    let bytes = sum(|s| s.bytes);
    let secs = stats.iter().map(|s| s.end).fold(t0, f64::max) - t0;
    let gbps = bytes as f64 / secs / 1e6;
    let gib = bytes as f64 / (1u64 << 30) as f64;
    let cpu_total = cpu.user + cpu.sys + cpu.softirq;
    let tokens = sum(|s| s.tokens);
    let dn_ticks = sum(|s| s.dontneed_ticks);
    let ns_per_token = match hz {
        Some(hz) if tokens > 0 => dn_ticks as f64 / hz / tokens as f64 * 1e9,
        _ => f64::NAN,
    };
    let sync_calls = sum(|s| s.sync_calls);
    let sync_s = hz.map_or(f64::NAN, |hz| sum(|s| s.sync_ticks) as f64 / hz);
    let mismatches = sum(|s| s.mismatches);
    let errors: Vec<&str> = stats.iter().filter_map(|s| s.error.as_deref()).collect();
    let mut ok = errors.is_empty() && mismatches == 0 && bytes > 0;
    if opts.mode == Mode::Devmem {
        ok = ok && sum(|s| s.frags) > 0 && sum(|s| s.freed) == sum(|s| s.frags);
    }
    for e in &errors {
        eprintln!("devmem-rx: error: {e}");
    }
    eprintln!(
        "devmem-rx: {} {} flow(s): {} bytes in {:.2} s = {:.2} MB/s; {}",
        opts.mode.name(),
        opts.flows,
        bytes,
        secs,
        gbps,
        if bytes == 0 {
            "nothing received".to_string()
        } else if mismatches == 0 {
            "every byte verified".to_string()
        } else {
            format!("{mismatches} chunks did NOT match the pattern")
        }
    );
    eprintln!(
        "devmem-rx: cpu: user {:.2} s + sys {:.2} s (this process) + softirq {:.2} s (all cpus) = {:.2} s, {:.2} s/GiB",
        cpu.user,
        cpu.sys,
        cpu.softirq,
        cpu_total,
        cpu_total / gib
    );
    if opts.mode == Mode::Devmem {
        eprintln!(
            "devmem-rx: {} frags, {} linear bytes; {} tokens returned in {} SO_DEVMEM_DONTNEED calls of {} ({} frags freed), {:.0} ns/token",
            sum(|s| s.frags),
            sum(|s| s.linear),
            tokens,
            sum(|s| s.dontneed_calls),
            opts.batch,
            sum(|s| s.freed),
            ns_per_token
        );
        eprintln!(
            "devmem-rx: {} DMA_BUF_IOCTL_SYNC calls took {:.2} s ({:.0} us each, {:.0}% of the receive time)",
            sync_calls,
            sync_s,
            sync_s / sync_calls as f64 * 1e6,
            sync_s / secs / opts.flows as f64 * 100.0
        );
    }
    let flows: Vec<String> = stats
        .iter()
        .map(|s| {
            Obj::default()
                .int("bytes", s.bytes)
                .num("seconds", s.end - t0)
                .int("frags", s.frags)
                .int("mismatches", s.mismatches)
                .str("error", s.error.as_deref().unwrap_or(""))
                .finish()
        })
        .collect();
    let j = Obj::default()
        .str("tool", "devmem-rx recv")
        .str("mode", opts.mode.name())
        .bool("ok", ok)
        .int("flows", opts.flows as u64)
        .int("bytes", bytes)
        .num("seconds", secs)
        .num("goodput_mbps", gbps)
        .int("mismatches", mismatches)
        .num("cpu_user_s", cpu.user)
        .num("cpu_sys_s", cpu.sys)
        .num("cpu_softirq_s", cpu.softirq)
        .num("cpu_irq_s", cpu.irq)
        .num("cpu_busy_all_s", cpu.busy)
        .num("cpu_s_per_gib", cpu_total / gib)
        .int("recv_calls", sum(|s| s.calls))
        .int("frags", sum(|s| s.frags))
        .int("linear_bytes", sum(|s| s.linear))
        .int("readable_bytes", sum(|s| s.readable))
        .int("dmabuf_id", dmabuf_id.into())
        .int("dmabuf_size", opts.dmabuf_size as u64)
        .int("batch", opts.batch as u64)
        .int("tokens", tokens)
        .int("frags_freed", sum(|s| s.freed))
        .int("dontneed_calls", sum(|s| s.dontneed_calls))
        .num("dontneed_ns_per_token", ns_per_token)
        .int("sync_calls", sync_calls)
        .num("sync_s", sync_s)
        .num("tick_hz", hz.unwrap_or(f64::NAN))
        .raw("per_flow", &json::array(&flows))
        .finish();
    (j, ok)
}
