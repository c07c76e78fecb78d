/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Punt contract: packets the fast path hands to the controller.
 *   map "xsks" BPF_MAP_TYPE_XSKMAP, index = svr_iface.punt_queue_base + rx queue.
 * Each punted frame carries a struct svr_punt_meta in the XDP metadata area, immediately
 * before the frame's first byte (AF_XDP copies it into the UMEM in front of the frame).
 */
#ifndef SVR_PUNT_H
#define SVR_PUNT_H

#include <linux/types.h>

#define SVR_PUNT_MAGIC 0x53565250 /* "SVRP": tells a frame with metadata from one without */

enum svr_punt_reason {
	SVR_PUNT_MISS = 0,             /* no session: first packet */
	SVR_PUNT_COOKIE = 1,           /* L4 payload starts with the SVR cookie */
	SVR_PUNT_METADATA_PENDING = 2, /* session still signalling: controller adds metadata */
	SVR_PUNT_SESSION_ACTION = 3,   /* session action is SVR_ACTION_PUNT */
	SVR_PUNT_FRAGMENT = 4,         /* IP fragment: the controller reassembles */
	SVR_PUNT_WAYPOINT = 5,         /* to a local waypoint port with no session */
	SVR_PUNT_ICMP_ERROR = 6,       /* ICMP error about a session that needs the controller */
	SVR_PUNT_XLATE_CHECKSUM = 7,   /* IPv4 UDP without checksum to IPv6: controller sums it */
	SVR_PUNT_XLATE_TOO_BIG = 8,    /* IPv4 with DF over the egress MTU once IPv6: controller
	                                * answers ICMP fragmentation needed */
	SVR_PUNT_REASON_MAX
};

struct svr_punt_meta {
	__u32 magic;           /* SVR_PUNT_MAGIC */
	__u32 ingress_ifindex; /* host order */
	__u16 reason;          /* enum svr_punt_reason */
	__u16 vlan_id;         /* host order, outer VID or 0 */
	__u32 pad0;
};

#endif /* SVR_PUNT_H */
