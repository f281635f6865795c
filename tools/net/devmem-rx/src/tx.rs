// SPDX-License-Identifier: GPL-2.0

//! The pattern sender: `flows` TCP connections, each a stream of the
//! pattern for a time or a byte count.

use crate::json::{self, Obj};
use crate::pattern::Pattern;
use crate::sys::{self, Result};
use std::io::Write;
use std::net::{Ipv4Addr, TcpStream};

/// Sender settings.
pub struct TxOpts {
    /// Receiver's address.
    pub addr: Ipv4Addr,
    /// Port of flow 0; flow `i` connects to `port + i`.
    pub port: u16,
    /// Number of flows (one thread each).
    pub flows: usize,
    /// CPU of each flow's thread (empty: not pinned).
    pub cpus: Vec<usize>,
    /// Send for this long...
    pub seconds: Option<f64>,
    /// ...or this many bytes per flow.
    pub bytes: Option<u64>,
    /// Bytes per `send`.
    pub chunk: usize,
    /// Seconds to keep retrying the connection.
    pub connect_timeout: f64,
}

fn connect(addr: Ipv4Addr, port: u16, timeout: f64) -> Result<TcpStream> {
    let end = sys::mono() + timeout;
    loop {
        match TcpStream::connect((addr, port)) {
            Ok(s) => return Ok(s),
            Err(e) if sys::mono() >= end => {
                return Err(format!("connect {addr}:{port}: {e}").into());
            }
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(100)),
        }
    }
}

fn flow(opts: &TxOpts, idx: usize, pat: &Pattern) -> Result<(u64, f64)> {
    if let Some(&cpu) = opts.cpus.get(idx) {
        sys::pin_to_cpu(cpu)?;
    }
    let mut s = connect(opts.addr, opts.port + idx as u16, opts.connect_timeout)?;
    let t0 = sys::mono();
    let mut sent = 0u64;
    loop {
        let mut len = opts.chunk;
        if let Some(b) = opts.bytes {
            if sent >= b {
                break;
            }
            len = len.min((b - sent) as usize);
        }
        if let Some(secs) = opts.seconds {
            if sys::mono() - t0 >= secs {
                break;
            }
        }
        let n = s.write(pat.at(sent, len))?;
        if n == 0 {
            return Err("connection closed by the receiver".into());
        }
        sent += n as u64;
    }
    s.shutdown(std::net::Shutdown::Write)?;
    Ok((sent, sys::mono() - t0))
}

/// Sends; prints a summary; returns its JSON and whether every flow
/// completed.
pub fn run(opts: &TxOpts) -> Result<(String, bool)> {
    if opts.seconds.is_none() && opts.bytes.is_none() {
        return Err("send needs --seconds or --bytes".into());
    }
    let pat = Pattern::new(opts.chunk);
    let res: Vec<Result<(u64, f64)>> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..opts.flows)
            .map(|i| {
                let pat = &pat;
                sc.spawn(move || flow(opts, i, pat))
            })
            .collect();
        hs.into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("sender thread panicked".into()))
            })
            .collect()
    });
    let mut ok = true;
    let mut total = 0;
    let mut flows = Vec::new();
    for (i, r) in res.iter().enumerate() {
        match r {
            Ok((b, s)) => {
                total += b;
                flows.push(Obj::default().int("bytes", *b).num("seconds", *s).finish());
            }
            Err(e) => {
                ok = false;
                eprintln!("devmem-rx send: flow {i}: {e}");
                flows.push(
                    Obj::default()
                        .int("bytes", 0)
                        .str("error", &e.to_string())
                        .finish(),
                );
            }
        }
    }
    eprintln!(
        "devmem-rx send: {} flow(s), {} bytes sent to {}:{}..",
        opts.flows, total, opts.addr, opts.port
    );
    let _ = std::io::stderr().flush();
    let j = Obj::default()
        .str("tool", "devmem-rx send")
        .bool("ok", ok)
        .int("flows", opts.flows as u64)
        .int("bytes", total)
        .raw("per_flow", &json::array(&flows))
        .finish();
    Ok((j, ok))
}
