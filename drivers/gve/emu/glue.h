/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Functions of the emulated GVE-style NIC's Rust code (drivers/gve/emu/)
 * that its C glue calls.
 */
#ifndef _GVE_RS_EMU_GLUE_H
#define _GVE_RS_EMU_GLUE_H

#include <linux/types.h>

/* Largest gve_rs_emu.rx_inline. */
#define GVE_RS_EMU_RX_INLINE_MAX 4096

/* emu.rs: the boot-time port pair count (params.c). */
void gve_rs_emu_set_boot_pairs(int pairs);
/* emu.rs: each new gve_rs_emu.rx_inline (params.c). */
void gve_rs_emu_set_rx_inline(unsigned int bytes);

/* emu/packet.rs: KUnit cases (kunit.c); true when they pass. */
bool gve_rs_emu_kunit_parse(void);
bool gve_rs_emu_kunit_toeplitz(void);
bool gve_rs_emu_kunit_tso(void);

#endif
