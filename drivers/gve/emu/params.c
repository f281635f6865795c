// SPDX-License-Identifier: GPL-2.0
/*
 * Boot-time parameter of the emulated NIC: gve_rs_emu.pairs=N on the kernel
 * command line (readable in /sys/module/gve_rs_emu/parameters/pairs).
 *
 * The Rust module! macro of 6.12 has no parameters, so this one int is C;
 * it is handed to the emulator's Rust code before module initcalls run.
 */
#include <linux/init.h>
#include <linux/moduleparam.h>

#include "glue.h"

#undef MODULE_PARAM_PREFIX
#define MODULE_PARAM_PREFIX "gve_rs_emu."

static int pairs = CONFIG_GVE_RS_EMU_PAIRS;
module_param(pairs, int, 0444);
MODULE_PARM_DESC(pairs, "Port pairs created at boot (0-8)");

static int __init gve_rs_emu_params_init(void)
{
	gve_rs_emu_set_boot_pairs(pairs);
	return 0;
}
subsys_initcall(gve_rs_emu_params_init);
