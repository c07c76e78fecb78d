// C++ view of the kernel<->user contract in bpf/include/. The C headers are the one
// definition; this file only proves at compile time that C++ sees the layout the BPF
// programs were compiled with (BTF shows the same sizes: `bpftool btf dump`).
#pragma once

#include <cstddef>

extern "C" {
#include "svr_common.h"
#include "svr_config.h"
#include "svr_dos.h"
#include "svr_iface.h"
#include "svr_punt.h"
#include "svr_session.h"
#include "svr_stats.h"
}

namespace svr::abi {

static_assert(sizeof(svr_addr_key) == 20);
static_assert(offsetof(svr_addr_key, addr) == 4);

static_assert(sizeof(svr_session_key) == 8 * SVR_SESSION_KEY_WORDS);
static_assert(alignof(svr_session_key) == 8);
static_assert(offsetof(svr_session_key, ingress_ifindex) == 0);
static_assert(offsetof(svr_session_key, vlan_id) == 4);
static_assert(offsetof(svr_session_key, family) == 6);
static_assert(offsetof(svr_session_key, proto) == 7);
static_assert(offsetof(svr_session_key, src_addr) == 8);
static_assert(offsetof(svr_session_key, dst_addr) == 24);
static_assert(offsetof(svr_session_key, src_port) == 40);
static_assert(offsetof(svr_session_key, dst_port) == 42);
static_assert(offsetof(svr_session_key, pad0) == 44);

static_assert(offsetof(svr_session_record, key) == 0);
static_assert(offsetof(svr_session_record, state) == 48);
static_assert(offsetof(svr_session_record, value) == 56);
static_assert(sizeof(svr_session_record) == 168);
static_assert(sizeof(svr_session_bucket) == 64); // one cache line
static_assert(sizeof(svr_session_info) == 24);
static_assert(offsetof(svr_session_info, bucket_mask) == 8);
static_assert(offsetof(svr_session_info, records) == 12);

static_assert(sizeof(svr_session_value) == 112);
static_assert(offsetof(svr_session_value, new_src_addr) == 0);
static_assert(offsetof(svr_session_value, new_dst_addr) == 16);
static_assert(offsetof(svr_session_value, new_src_port) == 32);
static_assert(offsetof(svr_session_value, new_dst_port) == 34);
static_assert(offsetof(svr_session_value, egress_ifindex) == 36);
static_assert(offsetof(svr_session_value, dst_mac) == 40);
static_assert(offsetof(svr_session_value, src_mac) == 46);
static_assert(offsetof(svr_session_value, egress_vlan) == 52);
static_assert(offsetof(svr_session_value, action) == 54);
static_assert(offsetof(svr_session_value, dscp) == 55);
static_assert(offsetof(svr_session_value, flags) == 56);
static_assert(offsetof(svr_session_value, tcp_state) == 58);
static_assert(offsetof(svr_session_value, new_family) == 59);
static_assert(offsetof(svr_session_value, idle_timeout_s) == 60);
static_assert(offsetof(svr_session_value, tenant_id) == 64);
static_assert(offsetof(svr_session_value, service_id) == 68);
static_assert(offsetof(svr_session_value, session_id) == 72);
static_assert(offsetof(svr_session_value, created_ns) == 80);
static_assert(offsetof(svr_session_value, last_seen_ns) == 88);
static_assert(offsetof(svr_session_value, packets) == 96);
static_assert(offsetof(svr_session_value, bytes) == 104);

static_assert(sizeof(svr_iface) == 16);
static_assert(offsetof(svr_iface, punt_queue_base) == 4);
static_assert(offsetof(svr_iface, punt_queue_count) == 8);
static_assert(offsetof(svr_iface, stats_slot) == 12);
static_assert(offsetof(svr_local_addr, waypoint_port_min) == 4);
static_assert(offsetof(svr_local_addr, waypoint_port_max) == 6);
// PuntSocket reads the metadata from the bytes right before the frame.
static_assert(offsetof(svr_punt_meta, magic) == 0);
static_assert(offsetof(svr_punt_meta, ingress_ifindex) == 4);
static_assert(offsetof(svr_punt_meta, reason) == 8);
static_assert(offsetof(svr_punt_meta, vlan_id) == 10);
static_assert(offsetof(svr_xdp_config, dos_new_sessions_per_s) == 0);
static_assert(offsetof(svr_xdp_config, dos_burst) == 4);
static_assert(sizeof(svr_local_addr) == 8);
static_assert(sizeof(svr_punt_meta) == 16); // bpf_xdp_adjust_meta needs a multiple of 4
static_assert(sizeof(svr_token_bucket) == 16);
static_assert(sizeof(svr_xdp_config) == 16);
static_assert(sizeof(svr_stats) ==
              8 * (2 * SVR_VERDICT_MAX + SVR_DROP_REASON_MAX + SVR_PASS_REASON_MAX +
                   SVR_PUNT_REASON_MAX + 5));

} // namespace svr::abi
