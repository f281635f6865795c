// SPDX-License-Identifier: GPL-2.0

//! Device Memory TCP core in Rust.
//!
//! Crate root: declares the core's modules and its `module!`. With
//! `CONFIG_NET_DEVMEM_CORE_RUST` the crate is the devmem core of the kernel
//! (`binding.rs`: the functions the rest of Linux 6.12 calls and the
//! memory provider; `socket.rs` and `tokens.rs`: what a devmem socket does
//! for `recvmsg(MSG_SOCK_DEVMEM)` and `SO_DEVMEM_DONTNEED`); with `CONFIG_NET_DEVMEM_CORE_C` upstream's
//! `net/core/devmem.c` serves bindings and only the `devmem` family is
//! ours. The module owns the family's registration either way.

use kernel::net::genl;
use kernel::prelude::*;

mod bench;
#[cfg(CONFIG_NET_DEVMEM_CORE_RUST)]
mod binding;
mod freestack;
mod netlink;
#[cfg(CONFIG_NET_DEVMEM_CORE_RUST)]
mod owners;
#[cfg(CONFIG_NET_DEVMEM_CORE_RUST)]
mod socket;
#[cfg(CONFIG_NET_DEVMEM_CORE_RUST)]
mod steer;
mod tokens;

module! {
    type: DevmemCore,
    name: "devmem_rs",
    author: "devmem-rs developers",
    description: "Device Memory TCP core in Rust",
    license: "GPL",
}

struct DevmemCore;

impl kernel::Module for DevmemCore {
    fn init(module: &'static ThisModule) -> Result<Self> {
        #[cfg(CONFIG_NET_DEVMEM_CORE_RUST)]
        {
            binding::STATE.set(KBox::pin_init(binding::State::new(), GFP_KERNEL)?)?;
            owners::OWNERS.set(KBox::pin_init(owners::Owners::new(), GFP_KERNEL)?)?;
        }
        // Kept in a static: the core sends the family's notifications.
        let family = genl::Registration::<netlink::DevmemFamily>::new(module, ())?;
        netlink::FAMILY.set(KBox::pin(family, GFP_KERNEL)?)?;
        if cfg!(CONFIG_NET_DEVMEM_CORE_RUST) {
            pr_info!("Device Memory TCP core in Rust: bind-rx served by the Rust core (implementation: rust); genetlink family 'devmem' registered\n");
        } else {
            pr_info!("Device Memory TCP core in Rust: bind-rx served by the C core, net/core/devmem.c (implementation: c); genetlink family 'devmem' registered\n");
        }
        Ok(DevmemCore)
    }
}
