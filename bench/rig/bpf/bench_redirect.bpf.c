/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Baseline "d": redirect every frame through a DEVMAP to the egress interface and do
 * nothing else. No parsing, no rewrite: the limit of the XDP veth path that the svr fast
 * path is compared against.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} tx_port SEC(".maps");

SEC("xdp")
int bench_redirect(struct xdp_md *ctx)
{
	return bpf_redirect_map(&tx_port, 0, 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
