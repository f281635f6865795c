// SPDX-License-Identifier: GPL-2.0

//! Networking abstractions added by devmem-rs (Device Memory TCP in Rust).
//!
//! This module is joined to the kernel crate by `patches/0002` and lives in
//! the devmem-rs tree under `rust/kernel/net_ext/`.

pub mod bench;
pub mod devmem_uapi;
pub mod dma;
pub mod dma_buf;
pub mod ethtool;
pub mod genl;
pub mod global;
pub mod mp;
pub mod napi;
pub mod netdev;
pub mod netmem;
pub mod page_pool;
#[cfg(CONFIG_ARCH_HAS_DMA_OPS)]
pub mod platform;
pub mod qstats;
pub mod queue_mgmt;
pub mod rtnl;
pub mod scatterlist;
pub mod skb;
pub mod sync;
pub mod xarray;
