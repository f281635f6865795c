// SPDX-License-Identifier: GPL-2.0

//! The emulated GVE-style NIC: ports in pairs joined by an emulated wire.
//!
//! [`nic`] is the register interface the driver programs. The device model
//! (`CONFIG_GVE_RS_EMU`) is the rest: [`Emulator`] owns the `gve-emu`
//! netlink family and through it every port pair, those created at boot
//! (`gve_rs_emu.pairs=`, default `CONFIG_GVE_RS_EMU_PAIRS`, read by the C
//! glue in `emu/params.c`) and those created at run time.

pub(crate) mod nic;

#[cfg(CONFIG_GVE_RS_EMU)]
mod control;
#[cfg(CONFIG_GVE_RS_EMU)]
mod packet;
#[cfg(CONFIG_GVE_RS_EMU)]
mod port;
#[cfg(CONFIG_GVE_RS_EMU)]
mod ring;
#[cfg(CONFIG_GVE_RS_EMU)]
mod uapi;

#[cfg(CONFIG_GVE_RS_EMU)]
pub(crate) use model::{rx_inline, Emulator};

#[cfg(CONFIG_GVE_RS_EMU)]
mod model {
    use super::control;
    use core::sync::atomic::{AtomicI32, AtomicU32, Ordering};
    use kernel::net::genl;
    use kernel::prelude::*;

    /// Port pairs to create at boot, set by the C glue (`params.c`) from
    /// the `gve_rs_emu.pairs` parameter before module initcalls run.
    static BOOT_PAIRS: AtomicI32 = AtomicI32::new(0);

    /// Called by `params.c` (declared in `glue.h`) with the boot-time
    /// pair count: a module parameter is C in 6.12.
    #[no_mangle]
    pub(crate) extern "C" fn gve_rs_emu_set_boot_pairs(pairs: core::ffi::c_int) {
        BOOT_PAIRS.store(pairs, Ordering::Relaxed);
    }

    /// `gve_rs_emu.rx_inline`, set by the C glue (`params.c`) whenever the
    /// parameter is written (0 until then, its default).
    static RX_INLINE: AtomicU32 = AtomicU32::new(0);

    /// Called by `params.c` (declared in `glue.h`) with each new value of
    /// `gve_rs_emu.rx_inline`, already checked to be at most
    /// `GVE_RS_EMU_RX_INLINE_MAX`.
    #[no_mangle]
    pub(crate) extern "C" fn gve_rs_emu_set_rx_inline(bytes: core::ffi::c_uint) {
        RX_INLINE.store(bytes, Ordering::Relaxed);
    }

    /// Payload bytes the device writes into the header buffer after the
    /// headers when it splits a frame (`gve_rs_emu.rx_inline`; writable at
    /// run time, so read it once per frame).
    pub(crate) fn rx_inline() -> u32 {
        RX_INLINE.load(Ordering::Relaxed)
    }

    /// The device model: its netlink family, which owns the port pairs.
    pub(crate) struct Emulator {
        family: genl::Registration<control::EmuFamily>,
    }

    impl Emulator {
        /// Registers the `gve-emu` family and creates the boot-time pairs.
        pub(crate) fn new(module: &'static ThisModule) -> Result<Self> {
            let family =
                genl::Registration::<control::EmuFamily>::new(module, control::Pairs::new())?;
            let n = BOOT_PAIRS
                .load(Ordering::Relaxed)
                .clamp(0, control::MAX_PAIRS as i32);
            for _ in 0..n {
                family.data().add(None)?;
            }
            pr_info!(
                "{} emulated port pair(s); more through the gve-emu netlink family\n",
                n
            );
            Ok(Self { family })
        }
    }

    impl Drop for Emulator {
        fn drop(&mut self) {
            for id in 0..control::MAX_PAIRS as u32 {
                let _ = self.family.data().del(id);
            }
        }
    }
}
