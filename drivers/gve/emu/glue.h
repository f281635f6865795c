/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Functions of the emulated GVE-style NIC's Rust code (drivers/gve/emu/)
 * that its C glue calls.
 */
#ifndef _GVE_RS_EMU_GLUE_H
#define _GVE_RS_EMU_GLUE_H

#include <linux/types.h>

/* emu.rs: the boot-time port pair count (params.c). */
void gve_rs_emu_set_boot_pairs(int pairs);

/* emu/packet.rs: KUnit cases (kunit.c); true when they pass. */
bool gve_rs_emu_kunit_parse(void);
bool gve_rs_emu_kunit_toeplitz(void);

#endif
