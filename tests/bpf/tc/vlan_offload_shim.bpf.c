/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Test-only shim: BPF_PROG_TEST_RUN cannot hand a program an skb whose VLAN tag is kept out
 * of the frame (VLAN TX offload, as the stack transmits through a VLAN device), so this
 * program pushes such tags with bpf_skb_vlan_push and tail-calls svr_tc_egress (slot 0 of
 * `next`). Pushing twice moves the first tag into the frame: the offloaded one is outermost.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} next SEC(".maps");

/* Tags to push, in order; 0 ends the list. Written by the test before each run. */
volatile __u16 push_vids[2];

/* Distinct from every verdict svr_tc_egress returns, so a failed step shows in the test. */
#define SHIM_FAILED 0x5f

SEC("tc")
int push_offloaded_tags(struct __sk_buff *skb)
{
#pragma unroll
	for (int i = 0; i < 2; i++) {
		__u16 vid = push_vids[i];

		if (!vid)
			break;
		if (bpf_skb_vlan_push(skb, bpf_htons(ETH_P_8021Q), vid))
			return SHIM_FAILED;
	}
	bpf_tail_call(skb, &next, 0);
	return SHIM_FAILED;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
