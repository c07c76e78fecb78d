/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Runtime configuration fixed at load time: `const volatile` rodata of the XDP program
 * (`svr_xdp_cfg`), written by the loader between open and load.
 */
#ifndef SVR_CONFIG_H
#define SVR_CONFIG_H

#include <linux/types.h>

struct svr_xdp_config {
	__u32 dos_new_sessions_per_s; /* per source address; 0 = no limit */
	__u32 dos_burst;              /* bucket depth, in new sessions */
	__u32 reserved0;              /* zero */
	__u32 pad0;
};

#endif /* SVR_CONFIG_H */
