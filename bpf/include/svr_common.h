/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Definitions shared by every kernel<->user contract header: address families, the
 * address key, limits. Included by BPF programs (bpf/) and C++ (controller/) alike.
 *
 * Byte order rule for every contract header: fields named *_addr, *_port or typed __be*
 * are in network byte order; every other integer is in host byte order.
 */
#ifndef SVR_COMMON_H
#define SVR_COMMON_H

#include <linux/types.h>

/* Our own family codes (not AF_*): the same on every platform and printable in bpftool. */
#define SVR_FAMILY_IPV4 4
#define SVR_FAMILY_IPV6 6

/* Size of the ifaces ARRAY, indexed by ifindex: interfaces with larger ifindexes cannot be
 * router interfaces (a host with much interface churn, containers for example, gets there;
 * 16 bytes a slot). Resizable before load. */
#define SVR_MAX_IFINDEX 65536

/* An IPv4 or IPv6 address. IPv4 occupies bytes 0..3, bytes 4..15 are zero. Network order. */
#define SVR_ADDR_LEN 16

/* Key of maps indexed by one address (local addresses, DoS buckets). 20 bytes. */
struct svr_addr_key {
	__u8 family;      /* SVR_FAMILY_* */
	__u8 pad[3];      /* must be zero: part of the hashed key */
	__u8 addr[SVR_ADDR_LEN];
};

#endif /* SVR_COMMON_H */
