/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Statistics contract: map "stats" (BPF_MAP_TYPE_PERCPU_ARRAY), index = the interface's
 * svr_iface.stats_slot; slot 0 counts packets of interfaces without one (not attached).
 * Plain per-CPU adds, no atomics; user space sums the CPUs.
 * Every packet the XDP program sees is counted exactly once in verdict_*; a drop, pass or
 * punt is counted once more by its reason.
 */
#ifndef SVR_STATS_H
#define SVR_STATS_H

#include <linux/types.h>

/* Slots of the stats map: router interfaces a fast path can count apart, plus slot 0. */
#define SVR_MAX_STATS_SLOTS 256

#include "svr_punt.h"

enum svr_verdict {
	SVR_VERDICT_FORWARD = 0, /* session hit, redirected out */
	SVR_VERDICT_PUNT = 1,    /* to the controller through xsks */
	SVR_VERDICT_PASS = 2,    /* to the kernel stack */
	SVR_VERDICT_DROP = 3,
	SVR_VERDICT_MAX
};

enum svr_drop_reason {
	SVR_DROP_ETH_TRUNCATED = 0,
	SVR_DROP_VLAN_TRUNCATED = 1,
	SVR_DROP_IPV4_TRUNCATED = 2,
	SVR_DROP_IPV4_BAD_HEADER = 3, /* version, IHL < 5, total length inconsistent */
	SVR_DROP_IPV6_TRUNCATED = 4,
	SVR_DROP_IPV6_BAD_HEADER = 5,
	SVR_DROP_IPV6_EXT_LIMIT = 6,  /* more extension headers than the parser follows */
	SVR_DROP_TCP_TRUNCATED = 7,   /* also a data offset < 5 or past the packet */
	SVR_DROP_UDP_TRUNCATED = 8,
	SVR_DROP_ICMP_TRUNCATED = 9,
	SVR_DROP_NO_PUNT_SOCKET = 10, /* would punt, but no AF_XDP socket is bound */
	SVR_DROP_DOS_LIMIT = 11,      /* new-session rate of this source over its limit */
	SVR_DROP_SESSION_DENY = 12,   /* session action SVR_ACTION_DROP */
	SVR_DROP_NO_TX_PORT = 13,     /* egress ifindex not in tx_ports */
	SVR_DROP_FIB = 14,            /* FIB: blackhole, unreachable, prohibited, forwarding off */
	SVR_DROP_ADJUST_FAILED = 15,  /* VLAN push/pop could not resize the frame */
	SVR_DROP_XLATE_UNSUPPORTED = 16, /* family translation of IPv4 options, IPv6 extension
	                                  * headers, ICMP, or an entry it cannot apply */
	SVR_DROP_XLATE_TOO_BIG = 17,  /* translated (IPv4 -> IPv6: +20 bytes) over the egress MTU,
	                               * without DF (with DF: punted, SVR_PUNT_XLATE_TOO_BIG) */
	SVR_DROP_REASON_MAX
};

enum svr_pass_reason {
	SVR_PASS_NOT_IP = 0,         /* ARP, LLDP, ... */
	SVR_PASS_LOCAL = 1,          /* to the router itself, not waypoint traffic */
	SVR_PASS_TTL_EXPIRED = 2,    /* kernel sends ICMP time exceeded */
	SVR_PASS_NO_NEIGH = 3,       /* FIB has no neighbour yet: kernel resolves and forwards */
	SVR_PASS_UNCONFIGURED = 4,   /* interface not marked SVR_IFACE_F_ROUTER */
	SVR_PASS_SESSION_ACTION = 5, /* session action SVR_ACTION_PASS */
	SVR_PASS_NOT_UNICAST = 6,    /* multicast/broadcast destination, IPv6 link-local control */
	SVR_PASS_FRAG_NEEDED = 7,    /* larger than the egress MTU: kernel signals the sender (DF,
	                              * IPv6) or fragments the translated packet (IPv4 without DF) */
	SVR_PASS_REASON_MAX
};

struct svr_stats {
	__u64 verdict_packets[SVR_VERDICT_MAX];
	__u64 verdict_bytes[SVR_VERDICT_MAX];
	__u64 drop_packets[SVR_DROP_REASON_MAX];
	__u64 pass_packets[SVR_PASS_REASON_MAX];
	__u64 punt_packets[SVR_PUNT_REASON_MAX];
	__u64 tc_local_packets;  /* TC egress: locally originated packets */
	__u64 tc_local_bytes;
	__u64 tc_dscp_marked;    /* TC egress: packets whose DS field was rewritten */
	__u64 tc_forwarded_packets; /* TC egress: packets the kernel forwarded (received on an
	                             * interface, e.g. passed by XDP for a missing neighbour) */
	__u64 tc_forwarded_bytes;
};

#endif /* SVR_STATS_H */
