/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Attached to the client's and server's veth ends in the netns test: a veth drops frames
 * redirected into it unless its peer runs an XDP program. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int svr_test_xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
