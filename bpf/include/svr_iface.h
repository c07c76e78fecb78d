/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Interface and local-address contract.
 *   map "ifaces"      BPF_MAP_TYPE_ARRAY, index = ifindex (< SVR_MAX_IFINDEX), value svr_iface
 *   map "local_addrs" BPF_MAP_TYPE_HASH, key svr_addr_key, value svr_local_addr
 *   map "tx_ports"    BPF_MAP_TYPE_DEVMAP_HASH, key = value = egress ifindex (host order)
 */
#ifndef SVR_IFACE_H
#define SVR_IFACE_H

#include "svr_common.h"

#define SVR_IFACE_F_ROUTER 0x1 /* a router interface; all others: every packet to the kernel */

struct svr_iface {
	__u32 flags;            /* SVR_IFACE_F_* */
	__u32 punt_queue_base;  /* xsks index of this interface's rx queue 0 */
	__u32 punt_queue_count; /* queues with a slot; rx_queue_index >= this → slot of queue 0 */
	__u32 stats_slot;       /* index of this interface's counters in "stats", given at
	                         * attach (1..SVR_MAX_STATS_SLOTS-1); 0: the shared slot */
};

#define SVR_LOCAL_F_WAYPOINT 0x1 /* a waypoint: packets to its waypoint ports go to svrd */

struct svr_local_addr {
	__u32 flags;            /* SVR_LOCAL_F_* */
	__u16 waypoint_port_min; /* host order, inclusive */
	__u16 waypoint_port_max; /* host order, inclusive */
};

#endif /* SVR_IFACE_H */
