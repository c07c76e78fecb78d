/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Incremental Internet checksum updates (RFC 1624: HC' = ~(~HC + ~m + m')) for BPF programs.
 *
 * A rewrite accumulates the deltas of every changed field in a 64-bit one's-complement
 * accumulator, then applies them once per checksum field. Fields are summed exactly as they
 * sit in memory (no byte swapping): the one's-complement sum is byte-order independent as
 * long as every operand is taken the same way, and 32-bit words fold to the same 16-bit sum.
 */
#ifndef SVR_CSUM_H
#define SVR_CSUM_H

#include <linux/types.h>
#include <bpf/bpf_helpers.h>

/* Delta of one 16-bit field changing from `from` to `to`. */
static __always_inline __u64 svr_csum_delta16(__u16 from, __u16 to)
{
	return (__u64)(__u16)~from + to;
}

/* Delta of one 32-bit field (an IPv4 address, two adjacent 16-bit fields). */
static __always_inline __u64 svr_csum_delta32(__u32 from, __u32 to)
{
	return (__u64)(__u32)~from + to;
}

/* Fold a 64-bit one's-complement accumulator to 16 bits (not inverted). Bounds after each
 * step: < 2^33, < 3 * 2^16, < 2^16 + 3, <= 0xffff. */
static __always_inline __u16 svr_csum_fold64(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* The checksum field `check` after the changes summed in `delta`. */
static __always_inline __u16 svr_csum_apply(__u16 check, __u64 delta)
{
	return (__u16)~svr_csum_fold64((__u64)(__u16)~check + delta);
}

/* Delta of a 16-byte address (IPv6, or the IPv4-in-16 layout) changing. */
static __always_inline __u64 svr_csum_delta_addr6(const __u32 *from, const __u32 *to)
{
	return svr_csum_delta32(from[0], to[0]) + svr_csum_delta32(from[1], to[1]) +
	       svr_csum_delta32(from[2], to[2]) + svr_csum_delta32(from[3], to[3]);
}

#endif /* SVR_CSUM_H */
