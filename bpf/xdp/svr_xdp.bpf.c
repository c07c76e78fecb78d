/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Placeholder until the fast path lands: counts and passes every packet. */
#include "svr_maps.h"

const volatile struct svr_xdp_config svr_xdp_cfg = {};

SEC("xdp")
int svr_xdp_ingress(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
