/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Session table contract: map "sessions" (BPF_MAP_TYPE_HASH, pinned).
 *
 * One entry per direction of a session. The key is the packet as it arrives on a router
 * interface; the value says how to rewrite it and where to send it. The controller installs
 * both directions together (sharing session_id); the XDP program updates last_seen_ns,
 * tcp_state and the counters. A HASH (not LRU) because the controller owns the lifecycle:
 * a full table refuses new sessions instead of silently evicting live ones.
 */
#ifndef SVR_SESSION_H
#define SVR_SESSION_H

#include "svr_common.h"

/* ingress_ifindex of sessions that originate in the router's own stack (TC egress). */
#define SVR_LOCAL_ZONE 0

/* session_id at and above this: installed by hand (svrctl session add); svrd numbers its own
 * sessions from 1 below it, so the two never take the same id. */
#define SVR_SESSION_ID_MANUAL_BASE 0x8000000000000000ULL

struct svr_session_key {
	__u32 ingress_ifindex;         /* host order; SVR_LOCAL_ZONE for locally originated */
	__u16 vlan_id;                 /* host order; outer 802.1Q VID, 0 = untagged */
	__u8 family;                   /* SVR_FAMILY_* */
	__u8 proto;                    /* IPPROTO_TCP, _UDP, _ICMP, _ICMPV6 */
	__u8 src_addr[SVR_ADDR_LEN];   /* network order; IPv4 in bytes 0..3, rest zero */
	__u8 dst_addr[SVR_ADDR_LEN];   /* network order */
	__be16 src_port;               /* network order; ICMP echo: the identifier */
	__be16 dst_port;               /* network order; ICMP echo: 0 */
};

/* What the fast path does on a hit. */
enum svr_session_action {
	SVR_ACTION_FORWARD = 0, /* rewrite, decrement TTL, redirect out egress_ifindex */
	SVR_ACTION_DROP = 1,    /* cached refusal: drop and count, never punt again */
	SVR_ACTION_PUNT = 2,    /* every packet to the controller */
	SVR_ACTION_PASS = 3,    /* rewrite, then hand to the kernel stack (local delivery) */
};

/* flags: set by the controller only. */
#define SVR_SESSION_F_USE_FIB          0x0001 /* next hop by bpf_fib_lookup, not the cached MACs */
#define SVR_SESSION_F_REWRITE_SRC      0x0002 /* write new_src_addr/new_src_port */
#define SVR_SESSION_F_REWRITE_DST      0x0004 /* write new_dst_addr/new_dst_port */
#define SVR_SESSION_F_METADATA_PENDING 0x0008 /* punt: the controller still adds SVR metadata */

/* tcp_state: bits only ever OR-ed in by the data path. */
#define SVR_TCP_SEEN_SYN 0x01
#define SVR_TCP_SEEN_ACK 0x02 /* an ACK without SYN: the handshake completed */
#define SVR_TCP_SEEN_FIN 0x04 /* marks the session for quick expiry */
#define SVR_TCP_SEEN_RST 0x08 /* marks the session for quick expiry */

/* dscp value meaning "leave the DS field as it is". */
#define SVR_DSCP_KEEP 0xff

/*
 * Family translation (new_family set and different from the key's family): the packet leaves
 * as the other IP version, its header rebuilt from new_src_addr/new_dst_addr (both of
 * new_family, both REWRITE flags set), as SVR does between waypoints of one family and
 * endpoints of the other. IPv4 -> IPv6: traffic class = TOS, flow label 0, hop limit = TTL - 1.
 * IPv6 -> IPv4: TOS = traffic class, DF set, identification 0, TTL = hop limit - 1. TCP and
 * UDP only, FORWARD with cached next hop only (no USE_FIB, no PASS); what the fast path cannot
 * translate is dropped and counted (SVR_DROP_XLATE_*) or punted: IPv4 UDP without a checksum
 * (IPv6 requires one: SVR_PUNT_XLATE_CHECKSUM, the controller computes it) and IPv4 with DF
 * that would exceed the egress MTU as IPv6 (SVR_PUNT_XLATE_TOO_BIG, the controller answers
 * ICMP fragmentation needed).
 */
struct svr_session_value {
	__u8 new_src_addr[SVR_ADDR_LEN]; /* network order; family: new_family, else the key's */
	__u8 new_dst_addr[SVR_ADDR_LEN]; /* network order */
	__be16 new_src_port;             /* network order */
	__be16 new_dst_port;             /* network order */
	__u32 egress_ifindex;            /* host order; must be in tx_ports; ignored with USE_FIB */
	__u8 dst_mac[6];                 /* next hop; ignored with USE_FIB */
	__u8 src_mac[6];                 /* egress interface MAC; ignored with USE_FIB */
	__u16 egress_vlan;               /* host order; VID to send with, 0 = untagged */
	__u8 action;                     /* enum svr_session_action */
	__u8 dscp;                       /* 0..63, or SVR_DSCP_KEEP */
	__u16 flags;                     /* SVR_SESSION_F_* */
	__u8 tcp_state;                  /* SVR_TCP_SEEN_* */
	__u8 new_family;                 /* 0: as the key's family; else SVR_FAMILY_* of the
	                                  * rewritten packet (family translation, below) */
	__u32 idle_timeout_s;            /* host order; the controller's aging reads it */
	__u32 tenant_id;                 /* host order; controller's ids, for stats and filters */
	__u32 service_id;                /* host order */
	__u64 session_id;                /* host order; both directions share it */
	__u64 created_ns;                /* CLOCK_MONOTONIC ns (bpf_ktime_get_ns) */
	__u64 last_seen_ns;              /* CLOCK_MONOTONIC ns, written by the data path; XDP
	                                  * writes CLOCK_MONOTONIC_COARSE as read once per jiffy
	                                  * (same base, two ticks behind at most), so it may
	                                  * trail created_ns */
	__u64 packets;                   /* data path, atomic adds */
	__u64 bytes;                     /* data path, atomic adds; L2 frame length */
};

#endif /* SVR_SESSION_H */
