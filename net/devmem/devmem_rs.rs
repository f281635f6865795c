// SPDX-License-Identifier: GPL-2.0

//! Device Memory TCP core in Rust.
//!
//! Crate root: declares the core's modules and its `module!`; the module
//! owns the registration of the `devmem` generic netlink family.

use kernel::net_ext::genl;
use kernel::prelude::*;

mod netlink;

module! {
    type: DevmemCore,
    name: "devmem_rs",
    author: "devmem-rs developers",
    description: "Device Memory TCP core in Rust",
    license: "GPL",
}

struct DevmemCore {
    _family: genl::Registration<netlink::DevmemFamily>,
}

impl kernel::Module for DevmemCore {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let family = genl::Registration::new(module, ())?;
        pr_info!("Device Memory TCP core in Rust: genetlink family 'devmem' registered\n");
        Ok(DevmemCore { _family: family })
    }
}
