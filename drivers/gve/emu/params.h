/* SPDX-License-Identifier: GPL-2.0 */
/* Boot-time parameters of the emulated GVE-style NIC (params.c). */
#ifndef _GVE_RS_EMU_PARAMS_H
#define _GVE_RS_EMU_PARAMS_H

int gve_rs_emu_boot_pairs(void);

#endif
