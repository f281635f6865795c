// SPDX-License-Identifier: GPL-2.0

//! System calls and measurements: errors, clocks, CPU pinning, CPU time.

use std::fs;
use std::io;
use std::os::fd::RawFd;

/// The tool's error: a message for the user.
pub type Error = Box<dyn std::error::Error + Send + Sync>;
/// The tool's result.
pub type Result<T> = std::result::Result<T, Error>;

/// `Err(what: strerror(errno))` for a negative system call result.
pub fn check(ret: libc::c_long, what: &str) -> Result<libc::c_long> {
    if ret < 0 {
        let e = io::Error::last_os_error();
        Err(format!("{what}: {e}").into())
    } else {
        Ok(ret)
    }
}

/// Seconds on `CLOCK_MONOTONIC`. Under TCG the guest's clocksource is
/// jiffies-based (4 ms at HZ=250): use it only for intervals of seconds.
pub fn mono() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// A cycle counter for short intervals: the time stamp counter on x86-64
/// (under QEMU TCG it follows the host's TSC, so it keeps a fine
/// resolution where the guest's clocksource does not).
#[cfg(target_arch = "x86_64")]
pub fn ticks() -> u64 {
    // SAFETY: rdtsc has no memory effects.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Elsewhere: nanoseconds of `CLOCK_MONOTONIC`.
#[cfg(not(target_arch = "x86_64"))]
pub fn ticks() -> u64 {
    (mono() * 1e9) as u64
}

/// Converts `ticks()` to seconds, calibrated against `CLOCK_MONOTONIC`
/// over the whole measurement (seconds long, so the coarse clock's
/// resolution does not matter).
#[derive(Clone, Copy)]
pub struct TickClock {
    t0: f64,
    k0: u64,
}

impl TickClock {
    /// Starts a calibration interval.
    pub fn start() -> Self {
        Self {
            t0: mono(),
            k0: ticks(),
        }
    }

    /// Ticks per second since `start()`; `None` if under half a second
    /// passed (too short to calibrate against a jiffies clock).
    pub fn hz(&self) -> Option<f64> {
        let dt = mono() - self.t0;
        let dk = ticks().wrapping_sub(self.k0);
        (dt >= 0.5).then(|| dk as f64 / dt)
    }
}

/// Pins the calling thread to `cpu`.
pub fn pin_to_cpu(cpu: usize) -> Result<()> {
    // SAFETY: a zeroed cpu_set_t is an empty set; CPU_SET stays in bounds
    // for cpu < CPU_SETSIZE, checked first.
    unsafe {
        if cpu >= libc::CPU_SETSIZE as usize {
            return Err(format!("cpu {cpu} out of range").into());
        }
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        let r = libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
        check(r.into(), &format!("sched_setaffinity(cpu {cpu})"))?;
    }
    Ok(())
}

/// CPU time in seconds: this process's (`getrusage`) and the whole
/// machine's by category (`/proc/stat`).
#[derive(Clone, Copy, Default, Debug)]
pub struct CpuTimes {
    /// This process, user mode.
    pub user: f64,
    /// This process, kernel mode (with tick-based accounting this includes
    /// the softirq ticks that landed while the process ran).
    pub sys: f64,
    /// All CPUs: softirq.
    pub softirq: f64,
    /// All CPUs: hardirq.
    pub irq: f64,
    /// All CPUs: everything but idle and iowait.
    pub busy: f64,
}

impl CpuTimes {
    /// Samples now.
    pub fn now() -> Result<Self> {
        // SAFETY: a zeroed rusage is valid to write into.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: `ru` is a valid rusage.
        check(
            unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) }.into(),
            "getrusage",
        )?;
        let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
        // SAFETY: sysconf has no memory effects.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        let stat = fs::read_to_string("/proc/stat")?;
        let line = stat
            .lines()
            .find(|l| l.starts_with("cpu "))
            .ok_or("/proc/stat: no cpu line")?;
        let f: Vec<f64> = line
            .split_whitespace()
            .skip(1)
            .map(|v| v.parse().unwrap_or(0.0) / hz)
            .collect();
        let get = |i: usize| f.get(i).copied().unwrap_or(0.0);
        // user nice system idle iowait irq softirq steal
        Ok(Self {
            user: tv(ru.ru_utime),
            sys: tv(ru.ru_stime),
            softirq: get(6),
            irq: get(5),
            busy: get(0) + get(1) + get(2) + get(5) + get(6) + get(7),
        })
    }

    /// `self - earlier`.
    pub fn since(&self, earlier: &Self) -> Self {
        Self {
            user: self.user - earlier.user,
            sys: self.sys - earlier.sys,
            softirq: self.softirq - earlier.softirq,
            irq: self.irq - earlier.irq,
            busy: self.busy - earlier.busy,
        }
    }
}

/// An owned file descriptor closed on drop.
pub struct Fd(pub RawFd);

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: we own the descriptor.
        unsafe { libc::close(self.0) };
    }
}

/// The interface index of `name`.
pub fn ifindex(name: &str) -> Result<u32> {
    let c = std::ffi::CString::new(name)?;
    // SAFETY: `c` is a valid C string.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if i == 0 {
        return Err(format!("interface {name}: {}", io::Error::last_os_error()).into());
    }
    Ok(i)
}

/// Parses a size with an optional K/M/G suffix (powers of 1024).
pub fn parse_size(s: &str) -> Result<u64> {
    let (num, mul) = match s.as_bytes().last() {
        Some(b'K' | b'k') => (&s[..s.len() - 1], 1u64 << 10),
        Some(b'M' | b'm') => (&s[..s.len() - 1], 1 << 20),
        Some(b'G' | b'g') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    let n: u64 = num.parse().map_err(|_| format!("bad size '{s}'"))?;
    n.checked_mul(mul)
        .ok_or_else(|| format!("size '{s}' too large").into())
}
