/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The sink: counts what arrives and drops it, so the sink's own stack (ICMP port
 * unreachable replies) never eats the CPU being measured. Also the do-nothing program a veth
 * needs on its receiving side before redirected or XDP_TXed frames reach it.
 *
 * With `reflect` set the sink is a UDP echo at any rate: after counting an IPv4 UDP frame it
 * sends it back (XDP_TX) with MACs, addresses and ports swapped, so a session gets one
 * packet each way. A swap leaves the IP and UDP checksums valid (one's-complement sums do
 * not depend on the order of their words), and the generator's stamp stays in the payload.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "bench_rig.h"

/* The generator's destination, network order: tells NATed frames from forwarded ones. */
const volatile __be32 original_dst = 0;
/* Echo IPv4 UDP frames back instead of dropping them. */
const volatile __u8 reflect = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BENCH_SINK_SLOTS);
	__type(key, __u32);
	__type(value, struct bench_sink_count);
} sink_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BENCH_LATENCY_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} sink_latency SEC(".maps");

/* Index of the highest set bit; by halving, since BPF has no count-leading-zeros (and
 * clang 14 crashes lowering __builtin_clzll for it). */
static __always_inline __u32 highest_bit(__u64 v)
{
	__u32 bit = 0;
	if (v >> 32) {
		v >>= 32;
		bit += 32;
	}
	if (v >> 16) {
		v >>= 16;
		bit += 16;
	}
	if (v >> 8) {
		v >>= 8;
		bit += 8;
	}
	if (v >> 4) {
		v >>= 4;
		bit += 4;
	}
	if (v >> 2) {
		v >>= 2;
		bit += 2;
	}
	if (v >> 1)
		bit += 1;
	return bit;
}

/* Quarter-octave slot of a latency in ns (bench_rig.h); < 256 for any 64-bit value. */
static __always_inline __u32 latency_slot(__u64 ns)
{
	if (ns < 4)
		return (__u32)ns;
	__u32 msb = highest_bit(ns);
	return 4 * msb + (__u32)((ns >> (msb - 2)) & 3);
}

static __always_inline void record_latency(struct udphdr *udp, void *data_end)
{
	__u64 *stamp = (void *)(udp + 1);
	if ((void *)(stamp + 1) > data_end || *stamp == 0)
		return;
	__u64 now = bpf_ktime_get_ns();
	if (now < *stamp)
		return;
	__u32 slot = latency_slot(now - *stamp);
	__u64 *count = bpf_map_lookup_elem(&sink_latency, &slot);
	if (count)
		(*count)++;
}

static __always_inline int reflect_udp4(struct ethhdr *eth, struct iphdr *ip, void *data_end)
{
	struct udphdr *udp = (void *)(ip + 1);
	__u8 mac[ETH_ALEN];
	__be32 addr;
	__be16 port;

	if ((void *)(udp + 1) > data_end)
		return XDP_DROP;
	__builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);
	addr = ip->saddr;
	ip->saddr = ip->daddr;
	ip->daddr = addr;
	port = udp->source;
	udp->source = udp->dest;
	udp->dest = port;
	return XDP_TX;
}

SEC("xdp")
int bench_sink(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	__u32 slot = BENCH_SINK_OTHER;

	if ((void *)(ip + 1) <= data_end && eth->h_proto == bpf_htons(ETH_P_IP) &&
	    ip->protocol == IPPROTO_UDP) {
		slot = ip->daddr == original_dst ? BENCH_SINK_UDP4_ORIGINAL_DST
						 : BENCH_SINK_UDP4_REWRITTEN_DST;
		/* The generator sends no IP options: the UDP header follows a 20-byte header. */
		if (ip->ihl == 5)
			record_latency((void *)(ip + 1), data_end);
	}

	struct bench_sink_count *count = bpf_map_lookup_elem(&sink_counters, &slot);
	if (count) {
		count->packets++;
		count->bytes += (__u64)(data_end - data);
	}
	if (reflect && slot != BENCH_SINK_OTHER && ip->ihl == 5)
		return reflect_udp4(eth, ip, data_end);
	return XDP_DROP;
}

SEC("xdp")
int bench_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
