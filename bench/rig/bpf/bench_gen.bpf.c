/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Traffic generator, run by svr-bench-gen through BPF_PROG_TEST_RUN with
 * BPF_F_TEST_XDP_LIVE_FRAMES: each run turns one frame into an IPv4/UDP packet of the next
 * flow and XDP_TXes it out of the generator's veth, into the router's namespace.
 *
 * Pacing happens here, per frame, not by sleeping between test runs: each run that comes
 * before its send time returns XDP_DROP (the frame goes straight back to the pool), so a
 * long test run emits evenly spaced frames instead of bursts that would overflow the 256
 * slot veth ring in front of the router.
 *
 * Live frames are recycled, and a recycled frame holds whatever the path wrote into it, so
 * every header field is written on every run (a stale MAC makes the router drop the frame
 * as OTHERHOST). The payload is zero from the initial frame and never written by anyone.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "bench_rig.h"

const volatile struct bench_gen_config cfg = {
	.flows = 1,
	.ports_per_addr = 1,
	.ttl = 64,
};

/* Test runs execute on the calling CPU only, so a plain counter is race-free. */
__u32 next_flow = 0;
__u16 next_ip_id = 0;
/* Written by svr-bench-gen through the mmaped .bss: time between frames in 1/16 ns
 * (sub-nanosecond steps keep high rates exact); 0 = unpaced. */
__u64 tx_interval_ns16 = 0;
__u64 next_tx_ns16 = 0;
/* Read by svr-bench-gen through the mmaped .bss: live-frame runs report no return code. */
__u64 frames_built = 0;
__u64 frames_too_short = 0;
/* Written by svr-bench-gen: stamp each frame with its send time (bench_rig.h). */
__u32 stamp_latency = 0;

/* After a stall (an interrupt, a preemption) send at most this many frames back to back. */
#define CATCH_UP_FRAMES 32

static __always_inline __u16 csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

SEC("xdp")
int bench_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);

	if ((void *)(udp + 1) > data_end) {
		frames_too_short++;
		return XDP_ABORTED;
	}

	__u64 interval = tx_interval_ns16;
	if (interval) {
		__u64 now = bpf_ktime_get_ns() << 4;
		__u64 next = next_tx_ns16;
		if (next == 0)
			next = now; /* the first frame goes now, the second one interval later */
		if (now < next)
			return XDP_DROP;
		__u64 backlog = interval * CATCH_UP_FRAMES;
		__u64 earliest = now > backlog ? now - backlog : 0;
		next_tx_ns16 = (next > earliest ? next : earliest) + interval;
	}

	__u32 frame_len = (__u32)(data_end - data);
	__u32 flow = next_flow;
	next_flow = flow + 1 >= cfg.flows ? 0 : flow + 1;
	__u32 addr_index = flow / cfg.ports_per_addr;
	__u32 port_index = flow - addr_index * cfg.ports_per_addr;

	/* Byte by byte: a memcpy would cast volatile away and let the compiler fold the
	 * MACs to the zeros of the initializer. */
#pragma unroll
	for (int i = 0; i < ETH_ALEN; i++) {
		eth->h_dest[i] = cfg.dst_mac[i];
		eth->h_source[i] = cfg.src_mac[i];
	}
	eth->h_proto = bpf_htons(ETH_P_IP);

	__u16 ip_len = (__u16)(frame_len - sizeof(*eth));
	ip->version = 4;
	ip->ihl = 5;
	ip->tos = 0;
	ip->tot_len = bpf_htons(ip_len);
	ip->id = bpf_htons(next_ip_id++);
	ip->frag_off = 0;
	ip->ttl = cfg.ttl;
	ip->protocol = IPPROTO_UDP;
	ip->check = 0;
	ip->saddr = bpf_htonl(bpf_ntohl(cfg.first_src_addr) + addr_index);
	ip->daddr = cfg.dst_addr;

	__u32 sum = 0;
	__u16 *word = (__u16 *)ip;
#pragma unroll
	for (int i = 0; i < (int)(sizeof(*ip) / 2); i++)
		sum += word[i];
	ip->check = csum_fold(sum);

	__u16 udp_len = (__u16)(ip_len - sizeof(*ip));
	udp->source = bpf_htons((__u16)(cfg.first_src_port + port_index));
	udp->dest = bpf_htons(cfg.dst_port);
	udp->len = bpf_htons(udp_len);
	udp->check = 0;

	/* Pseudo-header and UDP header; the payload is zero apart from the stamp. */
	sum = (ip->saddr & 0xffff) + (ip->saddr >> 16) + (ip->daddr & 0xffff) + (ip->daddr >> 16) +
	      bpf_htons(IPPROTO_UDP) + udp->len + udp->source + udp->dest + udp->len;
	__u64 *stamp = (void *)(udp + 1);
	if (stamp_latency && (void *)(stamp + 1) <= data_end) {
		__u64 now = bpf_ktime_get_ns();
		*stamp = now;
		/* The stamp's four 16-bit words as they lie in memory, like every word above. */
		sum += (__u32)(now & 0xffff) + (__u32)((now >> 16) & 0xffff) +
		       (__u32)((now >> 32) & 0xffff) + (__u32)(now >> 48);
	}
	__u16 check = csum_fold(sum);
	udp->check = check ? check : 0xffff;
	frames_built++;
	return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
