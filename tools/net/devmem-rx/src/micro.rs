// SPDX-License-Identifier: GPL-2.0

//! Micro-benchmarks: `bind-rx` + unbind latency of a udmabuf, and the
//! machine's memcpy bandwidth (the emulated NIC moves payloads by memcpy).

use crate::dmabuf::Udmabuf;
use crate::genl::Netdev;
use crate::json::Obj;
use crate::sys::{self, Result, TickClock};

/// Bind latency settings.
pub struct BindOpts {
    /// Interface.
    pub ifname: String,
    /// Rx queue to bind.
    pub queue: u32,
    /// udmabuf size.
    pub size: usize,
    /// At least this many bind/unbind pairs...
    pub min_reps: u32,
    /// ...and at least this many seconds in all.
    pub min_seconds: f64,
}

/// Binds and unbinds a udmabuf repeatedly: `bind-rx` request to ack, and
/// closing the netlink socket (which unbinds and restarts the queue).
pub fn bind(opts: &BindOpts) -> Result<String> {
    let ifindex = sys::ifindex(&opts.ifname)?;
    let t = sys::mono();
    let buf = Udmabuf::create(opts.size)?;
    let create = sys::mono() - t;
    let clk = TickClock::start();
    let t0 = sys::mono();
    let (mut reps, mut bind_t, mut unbind_t) = (0u32, 0u64, 0u64);
    while reps < opts.min_reps || sys::mono() - t0 < opts.min_seconds {
        let mut nl = Netdev::open()?;
        let k0 = sys::ticks();
        nl.bind_rx(ifindex, buf.0, &[opts.queue])?;
        let k1 = sys::ticks();
        drop(nl);
        let k2 = sys::ticks();
        bind_t += k1.wrapping_sub(k0);
        unbind_t += k2.wrapping_sub(k1);
        reps += 1;
    }
    let hz = clk
        .hz()
        .ok_or("bind-bench ran under half a second: raise --min-seconds")?;
    let ms = |t: u64| t as f64 / hz / f64::from(reps) * 1e3;
    eprintln!(
        "devmem-rx bind-bench: {} MiB udmabuf on {} queue {}: bind {:.1} ms + unbind {:.1} ms = {:.1} ms (mean of {} pairs over {:.1} s; created in {:.2} s)",
        opts.size >> 20,
        opts.ifname,
        opts.queue,
        ms(bind_t),
        ms(unbind_t),
        ms(bind_t + unbind_t),
        reps,
        sys::mono() - t0,
        create
    );
    Ok(Obj::default()
        .str("tool", "devmem-rx bind-bench")
        .int("size", opts.size as u64)
        .int("reps", reps.into())
        .num("bind_ms", ms(bind_t))
        .num("unbind_ms", ms(unbind_t))
        .num("bind_unbind_ms", ms(bind_t + unbind_t))
        .num("create_s", create)
        .num("tick_hz", hz)
        .finish())
}

/// `rep movsb`: what the kernel's memcpy does on CPUs with FSRM/ERMS.
#[cfg(target_arch = "x86_64")]
fn rep_movsb(dst: &mut [u8], src: &[u8]) {
    let n = dst.len().min(src.len());
    // SAFETY: copies n bytes between two valid, non-overlapping buffers.
    unsafe {
        core::arch::asm!(
            "rep movsb",
            inout("rcx") n => _,
            inout("rdi") dst.as_mut_ptr() => _,
            inout("rsi") src.as_ptr() => _,
            options(nostack, preserves_flags)
        );
    }
}

/// 8-byte moves, four per round: what the kernel's memcpy does without
/// FSRM (`memcpy_orig`). Copies `len & !31` bytes, the rest bytewise.
#[cfg(target_arch = "x86_64")]
fn movq_loop(dst: &mut [u8], src: &[u8]) {
    let n = dst.len().min(src.len());
    let big = n & !31;
    if big > 0 {
        // SAFETY: copies `big` bytes between two valid, non-overlapping
        // buffers, 32 bytes a round.
        unsafe {
            core::arch::asm!(
                "2:",
                "mov r8, [rsi]",
                "mov r9, [rsi + 8]",
                "mov r10, [rsi + 16]",
                "mov r11, [rsi + 24]",
                "mov [rdi], r8",
                "mov [rdi + 8], r9",
                "mov [rdi + 16], r10",
                "mov [rdi + 24], r11",
                "add rsi, 32",
                "add rdi, 32",
                "sub rcx, 32",
                "jnz 2b",
                inout("rcx") big => _,
                inout("rdi") dst.as_mut_ptr() => _,
                inout("rsi") src.as_ptr() => _,
                out("r8") _,
                out("r9") _,
                out("r10") _,
                out("r11") _,
                options(nostack)
            );
        }
    }
    dst[big..n].copy_from_slice(&src[big..n]);
}

#[cfg(not(target_arch = "x86_64"))]
fn rep_movsb(dst: &mut [u8], src: &[u8]) {
    libc_memcpy(dst, src);
}

#[cfg(not(target_arch = "x86_64"))]
fn movq_loop(dst: &mut [u8], src: &[u8]) {
    libc_memcpy(dst, src);
}

fn libc_memcpy(dst: &mut [u8], src: &[u8]) {
    let n = dst.len().min(src.len());
    // SAFETY: copies n bytes between two valid, non-overlapping buffers.
    unsafe { libc::memcpy(dst.as_mut_ptr().cast(), src.as_ptr().cast(), n) };
}

/// MB/s of `copy` over `size`-byte buffers, for at least `seconds`.
fn bandwidth(copy: fn(&mut [u8], &[u8]), size: usize, chunk: usize, seconds: f64) -> f64 {
    let src: Vec<u8> = (0..size).map(|i| i as u8).collect();
    let mut dst = vec![1u8; size];
    let t0 = sys::mono();
    let mut bytes = 0u64;
    loop {
        for (d, s) in dst.chunks_mut(chunk).zip(src.chunks(chunk)) {
            copy(d, s);
        }
        bytes += size as u64;
        std::hint::black_box(&mut dst);
        let dt = sys::mono() - t0;
        if dt >= seconds {
            assert_eq!(dst, src);
            return bytes as f64 / dt / 1e6;
        }
    }
}

/// Measures memcpy bandwidth: `rep movsb`, 8-byte moves, libc's memcpy.
pub fn memcpy(size: usize, chunk: usize, seconds: f64) -> Result<String> {
    let flags = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let flags = flags
        .lines()
        .find(|l| l.starts_with("flags"))
        .unwrap_or_default();
    let has = |f: &str| flags.split_whitespace().any(|x| x == f);
    let (fsrm, erms) = (has("fsrm"), has("erms"));
    let movsb = bandwidth(rep_movsb, size, chunk, seconds);
    let movq = bandwidth(movq_loop, size, chunk, seconds);
    let libc = bandwidth(libc_memcpy, size, chunk, seconds);
    // The kernel's memcpy (arch/x86/lib/memcpy_64.S) is `rep movsb` with
    // FSRM, else an unrolled loop of 8-byte moves (memcpy_orig).
    let kernel = if fsrm { movsb } else { movq };
    eprintln!(
        "devmem-rx memcpy-bench: {} MiB buffers in {} KiB chunks: rep movsb {:.0} MB/s, 8-byte moves {:.0} MB/s, libc memcpy {:.0} MB/s (cpu flags: fsrm {}, erms {}; as the kernel copies: {:.0} MB/s)",
        size >> 20,
        chunk >> 10,
        movsb,
        movq,
        libc,
        fsrm,
        erms,
        kernel
    );
    Ok(Obj::default()
        .str("tool", "devmem-rx memcpy-bench")
        .int("size", size as u64)
        .int("chunk", chunk as u64)
        .num("rep_movsb_mbps", movsb)
        .num("movq_loop_mbps", movq)
        .num("libc_memcpy_mbps", libc)
        .bool("fsrm", fsrm)
        .bool("erms", erms)
        .num("kernel_like_mbps", kernel)
        .finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_copy() {
        let src: Vec<u8> = (0..10000).map(|i| (i * 7) as u8).collect();
        let mut a = vec![0u8; 10000];
        let mut b = vec![0u8; 10000];
        let mut c = vec![0u8; 10000 - 3];
        rep_movsb(&mut a, &src);
        libc_memcpy(&mut b, &src);
        movq_loop(&mut c, &src);
        assert_eq!(a, src);
        assert_eq!(b, src);
        assert_eq!(c, src[..10000 - 3]);
    }
}
