// SPDX-License-Identifier: GPL-2.0

//! The `devmem` generic netlink family.
//!
//! Spec: `Documentation/netlink/specs/devmem.yaml`; uapi header (generated
//! from it by ynl-gen-c): `include/uapi/linux/devmem_rs.h`.

use kernel::bindings;
use kernel::c_str;
use kernel::net_ext::devmem_uapi as uapi;
use kernel::net_ext::genl::{self, Info, Op, Perm};
use kernel::prelude::*;

/// Commands, as in the spec.
const CMD_CAPS_GET: u8 = bindings::DEVMEM_CMD_CAPS_GET as u8;

/// Attributes of the `caps` set.
mod caps {
    use kernel::bindings;
    pub(super) const FAMILY_VERSION: u16 = bindings::DEVMEM_A_CAPS_FAMILY_VERSION as u16;
    pub(super) const SO_DEVMEM_DONTNEED: u16 = bindings::DEVMEM_A_CAPS_SO_DEVMEM_DONTNEED as u16;
    pub(super) const SCM_DEVMEM_LINEAR: u16 = bindings::DEVMEM_A_CAPS_SCM_DEVMEM_LINEAR as u16;
    pub(super) const SCM_DEVMEM_DMABUF: u16 = bindings::DEVMEM_A_CAPS_SCM_DEVMEM_DMABUF as u16;
    pub(super) const MSG_SOCK_DEVMEM: u16 = bindings::DEVMEM_A_CAPS_MSG_SOCK_DEVMEM as u16;
    pub(super) const DMABUF_CMSG_SIZE: u16 = bindings::DEVMEM_A_CAPS_DMABUF_CMSG_SIZE as u16;
    pub(super) const MAX_DONTNEED_TOKENS: u16 = bindings::DEVMEM_A_CAPS_MAX_DONTNEED_TOKENS as u16;
    pub(super) const MAX_DONTNEED_FRAGS: u16 = bindings::DEVMEM_A_CAPS_MAX_DONTNEED_FRAGS as u16;
}

/// The `devmem` family.
pub(crate) struct DevmemFamily;

impl genl::Family for DevmemFamily {
    type Data = ();

    const NAME: &'static CStr = c_str!("devmem");
    const VERSION: u32 = bindings::DEVMEM_FAMILY_VERSION;
    const OPS: &'static [Op] = &[Op {
        cmd: CMD_CAPS_GET,
        perm: Perm::Any,
        policy: &[],
    }];

    fn doit(_data: &(), cmd: u8, info: &Info<'_>) -> Result {
        match cmd {
            CMD_CAPS_GET => caps_get(info),
            _ => Err(EOPNOTSUPP),
        }
    }
}

/// `caps-get`: the devmem user ABI this kernel speaks.
fn caps_get(info: &Info<'_>) -> Result {
    info.reply(|msg| {
        msg.put_u32(caps::FAMILY_VERSION, bindings::DEVMEM_FAMILY_VERSION)?;
        msg.put_u32(caps::SO_DEVMEM_DONTNEED, uapi::SO_DEVMEM_DONTNEED)?;
        msg.put_u32(caps::SCM_DEVMEM_LINEAR, uapi::SCM_DEVMEM_LINEAR)?;
        msg.put_u32(caps::SCM_DEVMEM_DMABUF, uapi::SCM_DEVMEM_DMABUF)?;
        msg.put_u32(caps::MSG_SOCK_DEVMEM, uapi::MSG_SOCK_DEVMEM)?;
        msg.put_u32(
            caps::DMABUF_CMSG_SIZE,
            core::mem::size_of::<uapi::DmabufCmsg>() as u32,
        )?;
        msg.put_u32(caps::MAX_DONTNEED_TOKENS, uapi::MAX_DONTNEED_TOKENS as u32)?;
        msg.put_u32(caps::MAX_DONTNEED_FRAGS, uapi::MAX_DONTNEED_FRAGS as u32)
    })
}
