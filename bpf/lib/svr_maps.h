/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Map definitions only, shared by the XDP and TC programs. Every map is pinned by name, so
 * both objects (and a restarted controller) use the same maps under the pin root the loader
 * chooses (/sys/fs/bpf/svr/<router>/). Value layouts live in bpf/include/ (the contract).
 */
#ifndef SVR_MAPS_H
#define SVR_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "svr_common.h"
#include "svr_config.h"
#include "svr_dos.h"
#include "svr_iface.h"
#include "svr_punt.h"
#include "svr_session.h"
#include "svr_stats.h"

/* Default sizes; the loader resizes before load. */
#define SVR_DEFAULT_MAX_SESSIONS 1048576
#define SVR_DEFAULT_MAX_LOCAL_ADDRS 256
#define SVR_DEFAULT_MAX_DOS_SOURCES 65536
#define SVR_DEFAULT_MAX_TX_PORTS 256
#define SVR_DEFAULT_MAX_PUNT_QUEUES 256

/* The session table (svr_session.h): records, their index, its seed. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SVR_DEFAULT_MAX_SESSIONS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct svr_session_record);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} sessions SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SVR_DEFAULT_MAX_SESSIONS / 4);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct svr_session_bucket);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} session_index SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct svr_session_info);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} session_info SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SVR_MAX_IFINDEX);
	__type(key, __u32);
	__type(value, struct svr_iface);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ifaces SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SVR_DEFAULT_MAX_LOCAL_ADDRS);
	__type(key, struct svr_addr_key);
	__type(value, struct svr_local_addr);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} local_addrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SVR_MAX_STATS_SLOTS);
	__type(key, __u32);
	__type(value, struct svr_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, SVR_DEFAULT_MAX_TX_PORTS);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tx_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, SVR_DEFAULT_MAX_PUNT_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xsks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SVR_DEFAULT_MAX_DOS_SOURCES);
	__type(key, struct svr_addr_key);
	__type(value, struct svr_token_bucket);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} dos_buckets SEC(".maps");

#endif /* SVR_MAPS_H */
