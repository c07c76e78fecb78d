/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Placeholder until the TC egress program lands. */
#include <linux/pkt_cls.h>
#include "svr_maps.h"

SEC("tc")
int svr_tc_egress(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
