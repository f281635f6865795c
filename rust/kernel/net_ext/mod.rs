// SPDX-License-Identifier: GPL-2.0

//! Networking abstractions added by devmem-rs (Device Memory TCP in Rust).
//!
//! This module is joined to the kernel crate by `patches/0002` and lives in
//! the devmem-rs tree under `rust/kernel/net_ext/`.

pub mod bh;
pub mod devmem_uapi;
pub mod dma;
pub mod emu_nic;
pub mod emu_packet;
pub mod ethtool;
pub mod genl;
pub mod napi;
pub mod netdev;
pub mod page_pool;
pub mod qstats;
pub mod queue_mgmt;
