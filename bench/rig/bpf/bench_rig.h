/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Contract between the benchmark rig's BPF programs (bench_gen, bench_sink) and the
 * svr-bench-gen tool. Benchmark-only: nothing in the product includes it.
 */
#ifndef SVR_BENCH_RIG_H
#define SVR_BENCH_RIG_H

#include <linux/types.h>

/* Generator settings, `const volatile` rodata written before load. Flow i (0 <= i < flows)
 * has source address first_src_addr + i / ports_per_addr and source port
 * first_src_port + i % ports_per_addr; everything else is the same for every flow. */
struct bench_gen_config {
	__u8 dst_mac[6];        /* the router's ingress interface */
	__u8 src_mac[6];        /* the generator's interface */
	__be32 first_src_addr;  /* network order */
	__be32 dst_addr;        /* network order */
	__u16 first_src_port;   /* host order */
	__u16 dst_port;         /* host order */
	__u32 flows;            /* >= 1 */
	__u32 ports_per_addr;   /* >= 1; first_src_port + ports_per_addr - 1 <= 65535 */
	__u8 ttl;
	__u8 pad0[3];
};

/* Slots of the sink's per-CPU counter map "sink_counters". */
enum bench_sink_slot {
	BENCH_SINK_UDP4_ORIGINAL_DST = 0,  /* IPv4 UDP to the generator's destination: not DNATed */
	BENCH_SINK_UDP4_REWRITTEN_DST = 1, /* IPv4 UDP to any other destination: DNATed */
	BENCH_SINK_OTHER = 2,              /* anything else (ARP, IPv6, ...), reported apart */
	BENCH_SINK_SLOTS = 3,
};

/* Latency: with stamping on, the generator writes bpf_ktime_get_ns() (CLOCK_MONOTONIC,
 * host order) into the first 8 payload bytes, inside the UDP checksum; the sink adds
 * now - stamp to a histogram "sink_latency" (per-CPU array of __u64 counts) of quarter
 * octaves: slot 4 * msb + the next two bits, so each slot is at most 19 % wide. A zero
 * stamp means "not stamped" and costs the sink no clock read. */
#define BENCH_LATENCY_SLOTS 256

struct bench_sink_count {
	__u64 packets;
	__u64 bytes; /* L2 frame length */
};

#endif /* SVR_BENCH_RIG_H */
