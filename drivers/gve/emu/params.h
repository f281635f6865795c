/* SPDX-License-Identifier: GPL-2.0 */
/* Parameters of the emulated GVE-style NIC (params.c). */
#ifndef _GVE_RS_EMU_PARAMS_H
#define _GVE_RS_EMU_PARAMS_H

/* Largest gve_rs_emu.rx_inline. */
#define GVE_RS_EMU_RX_INLINE_MAX 4096

int gve_rs_emu_boot_pairs(void);
unsigned int gve_rs_emu_rx_inline(void);

#endif
