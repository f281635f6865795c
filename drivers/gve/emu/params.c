// SPDX-License-Identifier: GPL-2.0
/*
 * Parameters of the emulated NIC:
 *
 * - gve_rs_emu.pairs=N on the kernel command line: port pairs created at
 *   boot (readable in /sys/module/gve_rs_emu/parameters/pairs).
 * - gve_rs_emu.rx_inline=N, also writable at run time in
 *   /sys/module/gve_rs_emu/parameters/rx_inline: with header split on, up
 *   to N bytes of a TCP/UDP payload go into the header buffer after the
 *   headers (as far as it has room), only the rest into payload buffers;
 *   0 (default) puts headers only there. Values above
 *   GVE_RS_EMU_RX_INLINE_MAX are refused with EINVAL.
 *
 * The Rust module! macro of 6.12 has no parameters, so these are C; each
 * value is handed to the emulator's Rust code (glue.h) when it is set.
 */
#include <linux/init.h>
#include <linux/moduleparam.h>

#include "glue.h"

#undef MODULE_PARAM_PREFIX
#define MODULE_PARAM_PREFIX "gve_rs_emu."

static int pairs = CONFIG_GVE_RS_EMU_PAIRS;
module_param(pairs, int, 0444);
MODULE_PARM_DESC(pairs, "Port pairs created at boot (0-8)");

static unsigned int rx_inline;

static int rx_inline_set(const char *val, const struct kernel_param *kp)
{
	int err = param_set_uint_minmax(val, kp, 0, GVE_RS_EMU_RX_INLINE_MAX);

	if (!err)
		gve_rs_emu_set_rx_inline(READ_ONCE(rx_inline));
	return err;
}

static const struct kernel_param_ops rx_inline_ops = {
	.set = rx_inline_set,
	.get = param_get_uint,
};

module_param_cb(rx_inline, &rx_inline_ops, &rx_inline, 0644);
MODULE_PARM_DESC(rx_inline,
		 "Payload bytes written into the header buffer after the headers (0-4096)");

static int __init gve_rs_emu_params_init(void)
{
	gve_rs_emu_set_boot_pairs(pairs);
	return 0;
}
subsys_initcall(gve_rs_emu_params_init);
