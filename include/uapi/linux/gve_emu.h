/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/* Do not edit directly, auto-generated from: */
/*	Documentation/netlink/specs/gve_emu.yaml */
/* YNL-GEN uapi header */

#ifndef _UAPI_LINUX_GVE_EMU_H
#define _UAPI_LINUX_GVE_EMU_H

#define GVE_EMU_FAMILY_NAME	"gve-emu"
#define GVE_EMU_FAMILY_VERSION	1

enum {
	GVE_EMU_A_PAIR_ID = 1,

	__GVE_EMU_A_PAIR_MAX,
	GVE_EMU_A_PAIR_MAX = (__GVE_EMU_A_PAIR_MAX - 1)
};

enum {
	GVE_EMU_CMD_PAIR_NEW = 1,
	GVE_EMU_CMD_PAIR_DEL,

	__GVE_EMU_CMD_MAX,
	GVE_EMU_CMD_MAX = (__GVE_EMU_CMD_MAX - 1)
};

#endif /* _UAPI_LINUX_GVE_EMU_H */
