/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * svr XDP ingress fast path.
 *
 * Per packet: one iface lookup, then the fast lane (svr_fast_lane: untagged IPv4 or IPv6
 * TCP/UDP of a session forwarded with cached MACs, in straight-line code); whatever it does
 * not take goes through the generic path: parse, one session lookup. A hit is rewritten in
 * place (NAT of addresses and ports, DSCP, TTL, incremental checksums), given its next hop
 * (cached MACs or bpf_fib_lookup), re-tagged and redirected out through tx_ports. A miss
 * goes to the kernel (local addresses) or, past the per-source DoS guard, to svrd through the
 * xsks AF_XDP map.
 * ICMP errors about a session are translated like the session so the sender recognises them.
 * An entry with new_family set rebuilds the IP header as the other version (svr_xlate_hit).
 * Every packet leaves through svr_exit(), which counts it once by verdict and once by reason.
 *
 * Verification cost: the parser's paths (0-2 VLAN tags, IPv4 options, IPv6 extension
 * headers, ICMP errors) multiply with the hit path's. svr_hit() gets header offsets
 * (scalars) and re-derives and re-checks every packet pointer with svr_at(), so the
 * verifier's states stay few even though it is inlined (as a global function, verified
 * once on its own, the call and the re-loads of its pointer arguments cost ~9 ns a packet).
 *
 * Choices the contract leaves open:
 *  - ICMP echo: the identifier is the key's src_port in both directions, so it is rewritten
 *    to new_src_port under SVR_SESSION_F_REWRITE_SRC (the reply session restores it).
 *  - SVR_ACTION_PASS and the FIB's NO_NEIGH rewrite without decrementing TTL: the kernel
 *    decrements it itself if it forwards the packet. TTL <= 1 is checked for FORWARD only.
 *  - FIB results other than those named by the contract: NOT_FWDED passes as LOCAL, the
 *    rest (forwarding disabled, tunnels, no source) pass unmodified counted as NO_NEIGH.
 *  - ICMPv4 source quench and redirect are not errors here: keyed with ports 0 like any
 *    other ICMP message (normally a miss: local, or punted past the DoS guard).
 *  - Family translation: IPv4 options, IPv6 extension headers, ICMP (and errors) are dropped
 *    as XLATE_UNSUPPORTED; IPv4 UDP without checksum is punted (XLATE_CHECKSUM), svrd sums
 *    it; IPv4 -> IPv6 over the egress MTU (bpf_check_mtu, +20 bytes) is punted with DF
 *    (XLATE_TOO_BIG, past the DoS guard: svrd answers ICMP fragmentation needed) and dropped
 *    without (XLATE_TOO_BIG). Fragments never reach a session: punted before the lookup.
 *  - Session counters (last_seen_ns, packets, bytes, tcp_state) count packets the fast path
 *    handled itself: FORWARD, PASS after a rewrite, and DROP actions; not punts.
 */
#include "svr_maps.h"
#include "svr_session_lookup.h"
#include "svr_csum.h"
#include "svr_outcome.h"
#include "svr_parse.h"

/* AF_* for bpf_fib_lookup; the socket headers are not usable from BPF programs. */
#define SVR_AF_INET 2
#define SVR_AF_INET6 10

#define SVR_TCP_FLAG_FIN 0x01
#define SVR_TCP_FLAG_SYN 0x02
#define SVR_TCP_FLAG_RST 0x04
#define SVR_TCP_FLAG_ACK 0x10

/* SVR metadata cookie, the first 8 bytes of the L4 payload (bytes 4c 48 db c6 dd f6 67 0c). */
#define SVR_COOKIE 0x4c48dbc6ddf6670cULL

/* Internal: bpf_fib_lookup has no neighbour yet (rewrite, no TTL decrement, pass). */
#define SVR_FIB_NO_NEIGH (-2)
/* Internal: IPv4 without DF larger than the route's MTU (rewrite, no TTL decrement, pass:
 * the kernel fragments the translated packet). */
#define SVR_FIB_FRAGMENT (-3)

/* Largest header offset followed: 2 VLAN tags and 4 IPv6 extension headers of up to 2 KiB. */
#define SVR_MAX_HEADER_OFF 0x3fff

const volatile struct svr_xdp_config svr_xdp_cfg = {};

struct svr_next_hop {
	__u8 dst_mac[ETH_ALEN];
	__u8 src_mac[ETH_ALEN];
	__u32 ifindex;
};

/* Everything one run of the program knows about its packet. */
struct svr_run {
	struct svr_packet pkt;
	struct svr_session_key key;
	__u32 ifindex;
	__u32 frame_len;  /* as received: counters and session bytes */
	__u32 punt_index; /* xsks slot of this interface and rx queue */
	__u32 stats_slot; /* the interface's slot in stats; 0 until its iface entry is read */
};

/* `len` bytes of the frame at `off`, or NULL when the frame is shorter. */
static __always_inline void *svr_at(struct xdp_md *ctx, __u32 off, __u32 len)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	void *ptr;

	if (off > SVR_MAX_HEADER_OFF)
		return NULL;
	ptr = data + off;
	if (ptr + len > data_end)
		return NULL;
	return ptr;
}

static __always_inline void svr_count(struct svr_run *run, __u32 verdict, __u32 reason)
{
	struct svr_stats *stats_slot = bpf_map_lookup_elem(&stats, &run->stats_slot);

	if (!stats_slot || verdict >= SVR_VERDICT_MAX)
		return;
	stats_slot->verdict_packets[verdict]++;
	stats_slot->verdict_bytes[verdict] += run->frame_len;
	if (verdict == SVR_VERDICT_DROP && reason < SVR_DROP_REASON_MAX)
		stats_slot->drop_packets[reason]++;
	else if (verdict == SVR_VERDICT_PASS && reason < SVR_PASS_REASON_MAX)
		stats_slot->pass_packets[reason]++;
	else if (verdict == SVR_VERDICT_PUNT && reason < SVR_PUNT_REASON_MAX)
		stats_slot->punt_packets[reason]++;
}

/* Hand the frame to svrd: metadata in front of it, redirect into this queue's socket. */
static __always_inline int svr_punt(struct xdp_md *ctx, struct svr_run *run, __u32 reason)
{
	__u32 index = run->punt_index;
	struct svr_punt_meta *meta;
	void *data;

	if (!bpf_map_lookup_elem(&xsks, &index))
		return XDP_DROP;
	/* Without room for metadata the frame still goes up; the magic tells svrd it is absent. */
	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(*meta)) == 0) {
		data = (void *)(long)ctx->data;
		meta = (void *)(long)ctx->data_meta;
		if ((void *)(meta + 1) <= data) {
			meta->magic = SVR_PUNT_MAGIC;
			meta->ingress_ifindex = run->ifindex;
			meta->reason = reason;
			meta->vlan_id = run->pkt.vlan_id;
			meta->pad0 = 0;
		}
	}
	return bpf_redirect_map(&xsks, index, 0);
}

/* The single exit: turn the outcome into an XDP action and count it. */
static __always_inline int svr_exit(struct xdp_md *ctx, struct svr_run *run, int outcome)
{
	__u32 verdict = svr_outcome_verdict(outcome);
	__u32 reason = svr_outcome_reason(outcome);
	int action;

	if (outcome == SVR_FORWARD) {
		/* The hit path's exit: counted by verdict only, no reason. */
		struct svr_stats *stats_slot = bpf_map_lookup_elem(&stats, &run->stats_slot);

		if (stats_slot) {
			stats_slot->verdict_packets[SVR_VERDICT_FORWARD]++;
			stats_slot->verdict_bytes[SVR_VERDICT_FORWARD] += run->frame_len;
		}
		return XDP_REDIRECT; /* bpf_redirect_map already succeeded */
	}
	switch (verdict) {
	case SVR_VERDICT_PUNT:
		action = svr_punt(ctx, run, reason);
		if (action != XDP_REDIRECT) {
			action = XDP_DROP;
			verdict = SVR_VERDICT_DROP;
			reason = SVR_DROP_NO_PUNT_SOCKET;
		}
		break;
	case SVR_VERDICT_PASS:
		action = XDP_PASS;
		break;
	default:
		action = XDP_DROP;
		break;
	}
	svr_count(run, verdict, reason);
	return action;
}

/* Outer source and destination address of the packet, as address-map keys. */
static __always_inline int svr_outer_addrs(struct xdp_md *ctx, struct svr_packet *pkt,
					   struct svr_addr_key *src, struct svr_addr_key *dst)
{
	src->family = pkt->family;
	dst->family = pkt->family;
	if (pkt->family == SVR_FAMILY_IPV4) {
		struct iphdr *iph = svr_at(ctx, pkt->l3_off, sizeof(*iph));

		if (!iph)
			return -1;
		__builtin_memcpy(src->addr, &iph->saddr, 4);
		__builtin_memcpy(dst->addr, &iph->daddr, 4);
	} else {
		struct ipv6hdr *ip6 = svr_at(ctx, pkt->l3_off, sizeof(*ip6));

		if (!ip6)
			return -1;
		__builtin_memcpy(src->addr, &ip6->saddr, 16);
		__builtin_memcpy(dst->addr, &ip6->daddr, 16);
	}
	return 0;
}

/* Token bucket per source address, in milli-tokens. Buckets are updated without atomics:
 * concurrent CPUs may lose a token or two, which a rate limit tolerates. 1: over limit. */
static __always_inline int svr_dos_over_limit(struct svr_addr_key *src)
{
	__u64 rate = svr_xdp_cfg.dos_new_sessions_per_s;
	__u64 burst = svr_xdp_cfg.dos_burst ? svr_xdp_cfg.dos_burst : 1;
	__u64 burst_milli = burst * 1000;
	struct svr_token_bucket *bucket;
	__u64 now, elapsed, max_fill_ns, gained, tokens;

	if (!rate)
		return 0;
	now = bpf_ktime_get_ns();
	bucket = bpf_map_lookup_elem(&dos_buckets, src);
	if (!bucket) {
		struct svr_token_bucket fresh = {
			.tokens_milli = burst_milli - 1000,
			.last_refill_ns = now,
		};

		bpf_map_update_elem(&dos_buckets, src, &fresh, BPF_ANY);
		return 0;
	}
	elapsed = now > bucket->last_refill_ns ? now - bucket->last_refill_ns : 0;
	/* Past a full refill more time adds nothing; the cap also keeps the product in range. */
	max_fill_ns = burst * 1000000000ULL / rate + 1;
	if (elapsed > max_fill_ns)
		elapsed = max_fill_ns;
	tokens = bucket->tokens_milli;
	gained = elapsed * rate / 1000000;
	if (gained) {
		/* Keep the clock when nothing was gained, so frequent packets still refill. */
		tokens += gained;
		if (tokens > burst_milli)
			tokens = burst_milli;
		bucket->last_refill_ns = now;
	}
	if (tokens < 1000) {
		bucket->tokens_milli = tokens;
		return 1;
	}
	bucket->tokens_milli = tokens - 1000;
	return 0;
}

static __always_inline int svr_miss(struct xdp_md *ctx, struct svr_run *run)
{
	struct svr_addr_key src = {};
	struct svr_addr_key dst = {};
	struct svr_local_addr *local;
	__u8 proto = run->pkt.proto;

	if (svr_outer_addrs(ctx, &run->pkt, &src, &dst))
		return SVR_DROP(IPV4_TRUNCATED);
	local = bpf_map_lookup_elem(&local_addrs, &dst);
	if (local) {
		if ((local->flags & SVR_LOCAL_F_WAYPOINT) && !run->pkt.is_icmp_error &&
		    (proto == IPPROTO_TCP || proto == IPPROTO_UDP)) {
			__u16 port = bpf_ntohs(run->key.dst_port);

			/* A waypoint port without a session: an SVR first packet, so a new session
			 * like any other and under the same guard. */
			if (port >= local->waypoint_port_min && port <= local->waypoint_port_max) {
				if (svr_dos_over_limit(&src))
					return SVR_DROP(DOS_LIMIT);
				return SVR_PUNT(WAYPOINT);
			}
		}
		return SVR_PASS(LOCAL); /* SSH, BFD, management: the kernel's */
	}
	if (svr_dos_over_limit(&src))
		return SVR_DROP(DOS_LIMIT);
	if (run->pkt.is_icmp_error)
		return SVR_PUNT(ICMP_ERROR); /* about no session of ours: svrd counts it */
	return SVR_PUNT(MISS);
}

/* Fragments go to the controller (it reassembles); they cost it like first packets, so they
 * take tokens from the same per-source guard. */
static __always_inline int svr_fragment(struct xdp_md *ctx, struct svr_run *run)
{
	struct svr_addr_key src = {};
	struct svr_addr_key dst = {};

	if (svr_outer_addrs(ctx, &run->pkt, &src, &dst))
		return SVR_DROP(IPV4_TRUNCATED);
	if (svr_dos_over_limit(&src))
		return SVR_DROP(DOS_LIMIT);
	return SVR_PUNT(FRAGMENT);
}

static __always_inline int svr_has_cookie(struct xdp_md *ctx, struct svr_packet *pkt)
{
	void *payload;
	__u64 first;

	if (!pkt->payload_off)
		return 0;
	payload = svr_at(ctx, pkt->payload_off, sizeof(first));
	if (!payload)
		return 0;
	/* The payload may be unaligned, so the full compare reads bytes: the first byte
	 * alone rules out almost every packet for the price of one load. */
	if (*(__u8 *)payload != (__u8)(SVR_COOKIE >> 56))
		return 0;
	__builtin_memcpy(&first, payload, sizeof(first));
	return first == bpf_cpu_to_be64(SVR_COOKIE);
}

static __always_inline __u8 svr_ttl(struct xdp_md *ctx, struct svr_packet *pkt)
{
	if (pkt->family == SVR_FAMILY_IPV4) {
		struct iphdr *iph = svr_at(ctx, pkt->l3_off, sizeof(*iph));

		return iph ? iph->ttl : 0;
	} else {
		struct ipv6hdr *ip6 = svr_at(ctx, pkt->l3_off, sizeof(*ip6));

		return ip6 ? ip6->hop_limit : 0;
	}
}

/*
 * ICMP error about a session: rewrite the quoted packet to the inverse of the session's
 * translation (its source becomes our new destination, its destination our new source), fix
 * the quoted IPv4 header checksum and the ICMP checksum. `icmp_delta` carries the outer
 * pseudo-header change for ICMPv6. The quoted L4 checksum is left as it is: it covers bytes
 * that are not quoted, so it cannot be recomputed, and receivers do not verify it.
 */
static __always_inline int svr_rewrite_quoted(struct xdp_md *ctx, struct svr_packet *pkt,
					      const struct svr_session_value *val,
					      __u64 icmp_delta)
{
	struct svr_icmp_hdr *icmp = svr_at(ctx, pkt->l4_off, sizeof(*icmp));
	__u16 flags = val->flags;

	if (!icmp)
		return SVR_DROP(ICMP_TRUNCATED);
	if (pkt->family == SVR_FAMILY_IPV4) {
		struct iphdr *inner = svr_at(ctx, pkt->inner_l3_off, sizeof(*inner));
		__be32 old_src, old_dst, new_src, new_dst;
		__u16 old_check;
		__u64 delta;

		if (!inner)
			return SVR_DROP(ICMP_TRUNCATED);
		old_src = inner->saddr;
		old_dst = inner->daddr;
		new_src = old_src;
		new_dst = old_dst;
		if (flags & SVR_SESSION_F_REWRITE_DST)
			__builtin_memcpy(&new_src, val->new_dst_addr, 4);
		if (flags & SVR_SESSION_F_REWRITE_SRC)
			__builtin_memcpy(&new_dst, val->new_src_addr, 4);
		delta = svr_csum_delta32(old_src, new_src) + svr_csum_delta32(old_dst, new_dst);
		inner->saddr = new_src;
		inner->daddr = new_dst;
		old_check = inner->check;
		inner->check = svr_csum_apply(old_check, delta);
		icmp_delta += delta + svr_csum_delta16(old_check, inner->check);
	} else {
		struct ipv6hdr *inner = svr_at(ctx, pkt->inner_l3_off, sizeof(*inner));

		if (!inner)
			return SVR_DROP(ICMP_TRUNCATED);
		if (flags & SVR_SESSION_F_REWRITE_DST) {
			icmp_delta += svr_csum_delta_addr6((__u32 *)&inner->saddr,
							   (const __u32 *)val->new_dst_addr);
			__builtin_memcpy(&inner->saddr, val->new_dst_addr, 16);
		}
		if (flags & SVR_SESSION_F_REWRITE_SRC) {
			icmp_delta += svr_csum_delta_addr6((__u32 *)&inner->daddr,
							   (const __u32 *)val->new_src_addr);
			__builtin_memcpy(&inner->daddr, val->new_src_addr, 16);
		}
	}
	if (pkt->inner_l4_off) {
		__be16 *ports = svr_at(ctx, pkt->inner_l4_off, 8);

		if (!ports)
			return SVR_DROP(ICMP_TRUNCATED);
		if (pkt->inner_proto == IPPROTO_TCP || pkt->inner_proto == IPPROTO_UDP) {
			if (flags & SVR_SESSION_F_REWRITE_DST) {
				icmp_delta += svr_csum_delta16(ports[0], val->new_dst_port);
				ports[0] = val->new_dst_port;
			}
			if (flags & SVR_SESSION_F_REWRITE_SRC) {
				icmp_delta += svr_csum_delta16(ports[1], val->new_src_port);
				ports[1] = val->new_src_port;
			}
		} else if (pkt->inner_is_echo && (flags & SVR_SESSION_F_REWRITE_SRC)) {
			/* The identifier travels as the session's source port. */
			icmp_delta += svr_csum_delta16(ports[2], val->new_src_port);
			ports[2] = val->new_src_port;
		}
	}
	icmp->checksum = svr_csum_apply(icmp->checksum, icmp_delta);
	return SVR_NEXT;
}

/* TCP/UDP/ICMP header after an address change summed in `pseudo_delta` (0 for ICMPv4). */
static __always_inline int svr_rewrite_l4(struct xdp_md *ctx, struct svr_packet *pkt,
					  const struct svr_session_value *val, __u64 pseudo_delta)
{
	__u16 flags = val->flags;
	__u64 delta = pseudo_delta;
	__u8 proto = pkt->proto;

	if (proto == IPPROTO_TCP) {
		struct tcphdr *tcp = svr_at(ctx, pkt->l4_off, sizeof(*tcp));

		if (!tcp)
			return SVR_DROP(TCP_TRUNCATED);
		if (flags & SVR_SESSION_F_REWRITE_SRC) {
			delta += svr_csum_delta16(tcp->source, val->new_src_port);
			tcp->source = val->new_src_port;
		}
		if (flags & SVR_SESSION_F_REWRITE_DST) {
			delta += svr_csum_delta16(tcp->dest, val->new_dst_port);
			tcp->dest = val->new_dst_port;
		}
		tcp->check = svr_csum_apply(tcp->check, delta);
	} else if (proto == IPPROTO_UDP) {
		struct udphdr *udp = svr_at(ctx, pkt->l4_off, sizeof(*udp));

		if (!udp)
			return SVR_DROP(UDP_TRUNCATED);
		if (flags & SVR_SESSION_F_REWRITE_SRC) {
			delta += svr_csum_delta16(udp->source, val->new_src_port);
			udp->source = val->new_src_port;
		}
		if (flags & SVR_SESSION_F_REWRITE_DST) {
			delta += svr_csum_delta16(udp->dest, val->new_dst_port);
			udp->dest = val->new_dst_port;
		}
		if (udp->check || pkt->family == SVR_FAMILY_IPV6) {
			/* IPv4 UDP without a checksum stays without one. */
			__u16 check = svr_csum_apply(udp->check, delta);

			udp->check = check ? check : 0xffff;
		}
	} else if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) {
		struct svr_icmp_hdr *icmp = svr_at(ctx, pkt->l4_off, sizeof(*icmp));

		if (!icmp)
			return SVR_DROP(ICMP_TRUNCATED);
		if (pkt->is_icmp_echo && (flags & SVR_SESSION_F_REWRITE_SRC)) {
			delta += svr_csum_delta16(icmp->id, val->new_src_port);
			icmp->id = val->new_src_port;
		}
		icmp->checksum = svr_csum_apply(icmp->checksum, delta);
	}
	return SVR_NEXT;
}

/* The DS field set to dscp, ECN kept; returns the checksum delta of the changed word. */
static __always_inline __u64 svr_set_dscp4(struct iphdr *iph, __u8 dscp)
{
	__u16 old_word = *(__u16 *)iph;

	iph->tos = (__u8)(dscp << 2) | (iph->tos & 0x3);
	return svr_csum_delta16(old_word, *(__u16 *)iph);
}

/* TTL - 1 (the caller saw TTL > 1, so the byte does not borrow); returns the checksum delta.
 * TTL and protocol as one word, written whole: a byte store read back as a word stalls store
 * forwarding. */
static __always_inline __u64 svr_decrement_ttl4(struct iphdr *iph)
{
	__u16 old_word = *(__u16 *)&iph->ttl;
	__u16 new_word = old_word - bpf_htons(0x0100);

	*(__u16 *)&iph->ttl = new_word;
	return svr_csum_delta16(old_word, new_word);
}

/* The traffic class's DS bits set to dscp, ECN and flow label kept (no IPv6 checksum). */
static __always_inline void svr_set_dscp6(struct ipv6hdr *ip6, __u8 dscp)
{
	/* version:4 traffic class:8 flow label:20; the DS field is the class's top 6 bits */
	__u32 word = bpf_ntohl(*(__be32 *)ip6);
	__u32 traffic_class = (word >> 20) & 0xff;

	traffic_class = ((__u32)dscp << 2) | (traffic_class & 0x3);
	word = (word & ~(0xffU << 20)) | (traffic_class << 20);
	*(__be32 *)ip6 = bpf_htonl(word);
}

static __always_inline int svr_rewrite_ipv4(struct xdp_md *ctx, struct svr_packet *pkt,
					    const struct svr_session_value *val, int decrement_ttl)
{
	struct iphdr *iph = svr_at(ctx, pkt->l3_off, sizeof(*iph));
	__u16 flags = val->flags;
	__be32 old_src, old_dst, new_src, new_dst;
	__u64 addr_delta, ip_delta;

	if (!iph)
		return SVR_DROP(IPV4_TRUNCATED);
	old_src = iph->saddr;
	old_dst = iph->daddr;
	new_src = old_src;
	new_dst = old_dst;
	if (flags & SVR_SESSION_F_REWRITE_SRC) {
		/* An ICMP error keeps its source unless the endpoint itself sent it. */
		if (!pkt->is_icmp_error) {
			__builtin_memcpy(&new_src, val->new_src_addr, 4);
		} else {
			struct iphdr *inner = svr_at(ctx, pkt->inner_l3_off, sizeof(*inner));

			if (inner && inner->daddr == old_src)
				__builtin_memcpy(&new_src, val->new_src_addr, 4);
		}
	}
	if (flags & SVR_SESSION_F_REWRITE_DST)
		__builtin_memcpy(&new_dst, val->new_dst_addr, 4);
	addr_delta = svr_csum_delta32(old_src, new_src) + svr_csum_delta32(old_dst, new_dst);
	iph->saddr = new_src;
	iph->daddr = new_dst;
	ip_delta = addr_delta;

	if (val->dscp != SVR_DSCP_KEEP)
		ip_delta += svr_set_dscp4(iph, val->dscp);
	if (decrement_ttl)
		ip_delta += svr_decrement_ttl4(iph);
	iph->check = svr_csum_apply(iph->check, ip_delta);

	if (pkt->is_icmp_error)
		return svr_rewrite_quoted(ctx, pkt, val, 0);
	if (pkt->proto == IPPROTO_ICMP)
		addr_delta = 0; /* ICMPv4 has no pseudo-header */
	if (pkt->l4_off)
		return svr_rewrite_l4(ctx, pkt, val, addr_delta);
	return SVR_NEXT;
}

static __always_inline int svr_addr6_equal(const struct in6_addr *a, const struct in6_addr *b)
{
	return ((a->in6_u.u6_addr32[0] ^ b->in6_u.u6_addr32[0]) |
		(a->in6_u.u6_addr32[1] ^ b->in6_u.u6_addr32[1]) |
		(a->in6_u.u6_addr32[2] ^ b->in6_u.u6_addr32[2]) |
		(a->in6_u.u6_addr32[3] ^ b->in6_u.u6_addr32[3])) == 0;
}

static __always_inline int svr_rewrite_ipv6(struct xdp_md *ctx, struct svr_packet *pkt,
					    const struct svr_session_value *val, int decrement_ttl)
{
	struct ipv6hdr *ip6 = svr_at(ctx, pkt->l3_off, sizeof(*ip6));
	__u16 flags = val->flags;
	__u64 addr_delta = 0;
	int rewrite_src;

	if (!ip6)
		return SVR_DROP(IPV6_TRUNCATED);
	rewrite_src = flags & SVR_SESSION_F_REWRITE_SRC;
	if (rewrite_src && pkt->is_icmp_error) {
		/* An ICMP error keeps its source unless the endpoint itself sent it. */
		struct ipv6hdr *inner = svr_at(ctx, pkt->inner_l3_off, sizeof(*inner));

		rewrite_src = inner && svr_addr6_equal(&inner->daddr, &ip6->saddr);
	}
	if (rewrite_src) {
		addr_delta += svr_csum_delta_addr6((__u32 *)&ip6->saddr,
						   (const __u32 *)val->new_src_addr);
		__builtin_memcpy(&ip6->saddr, val->new_src_addr, 16);
	}
	if (flags & SVR_SESSION_F_REWRITE_DST) {
		addr_delta += svr_csum_delta_addr6((__u32 *)&ip6->daddr,
						   (const __u32 *)val->new_dst_addr);
		__builtin_memcpy(&ip6->daddr, val->new_dst_addr, 16);
	}
	if (val->dscp != SVR_DSCP_KEEP)
		svr_set_dscp6(ip6, val->dscp);
	if (decrement_ttl)
		ip6->hop_limit--;

	if (pkt->is_icmp_error)
		return svr_rewrite_quoted(ctx, pkt, val, addr_delta);
	if (pkt->l4_off)
		return svr_rewrite_l4(ctx, pkt, val, addr_delta);
	return SVR_NEXT;
}

static __always_inline int svr_rewrite(struct xdp_md *ctx, struct svr_packet *pkt,
				       const struct svr_session_value *val, int decrement_ttl)
{
	if (pkt->family == SVR_FAMILY_IPV4)
		return svr_rewrite_ipv4(ctx, pkt, val, decrement_ttl);
	return svr_rewrite_ipv6(ctx, pkt, val, decrement_ttl);
}

/* Next hop from the FIB, looked up with the addresses the packet will carry. */
static __always_inline int svr_fib_next_hop(struct xdp_md *ctx, struct svr_run *run,
					    const struct svr_session_value *val,
					    struct svr_next_hop *next_hop)
{
	struct svr_packet *pkt = &run->pkt;
	struct bpf_fib_lookup fib = {};
	__u16 flags = val->flags;
	int may_fragment = 0;
	int rc;

	fib.ifindex = run->ifindex;
	fib.l4_protocol = pkt->proto;
	if (!pkt->is_icmp_error && (pkt->proto == IPPROTO_TCP || pkt->proto == IPPROTO_UDP)) {
		fib.sport = (flags & SVR_SESSION_F_REWRITE_SRC) ? val->new_src_port : run->key.src_port;
		fib.dport = (flags & SVR_SESSION_F_REWRITE_DST) ? val->new_dst_port : run->key.dst_port;
	}
	if (pkt->family == SVR_FAMILY_IPV4) {
		struct iphdr *iph = svr_at(ctx, pkt->l3_off, sizeof(*iph));

		if (!iph)
			return SVR_DROP(IPV4_TRUNCATED);
		may_fragment = !(iph->frag_off & bpf_htons(0x4000)); /* no DF */
		fib.family = SVR_AF_INET;
		fib.tos = iph->tos;
		fib.tot_len = bpf_ntohs(iph->tot_len);
		fib.ipv4_src = iph->saddr;
		fib.ipv4_dst = iph->daddr;
		if ((flags & SVR_SESSION_F_REWRITE_SRC) && !pkt->is_icmp_error)
			__builtin_memcpy(&fib.ipv4_src, val->new_src_addr, 4);
		if (flags & SVR_SESSION_F_REWRITE_DST)
			__builtin_memcpy(&fib.ipv4_dst, val->new_dst_addr, 4);
	} else {
		struct ipv6hdr *ip6 = svr_at(ctx, pkt->l3_off, sizeof(*ip6));

		if (!ip6)
			return SVR_DROP(IPV6_TRUNCATED);
		fib.family = SVR_AF_INET6;
		fib.flowinfo = *(__be32 *)ip6 & bpf_htonl(0x0fffffff);
		fib.tot_len = bpf_ntohs(ip6->payload_len) + sizeof(*ip6);
		__builtin_memcpy(fib.ipv6_src, &ip6->saddr, 16);
		__builtin_memcpy(fib.ipv6_dst, &ip6->daddr, 16);
		if ((flags & SVR_SESSION_F_REWRITE_SRC) && !pkt->is_icmp_error)
			__builtin_memcpy(fib.ipv6_src, val->new_src_addr, 16);
		if (flags & SVR_SESSION_F_REWRITE_DST)
			__builtin_memcpy(fib.ipv6_dst, val->new_dst_addr, 16);
	}

	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	switch (rc) {
	case BPF_FIB_LKUP_RET_SUCCESS:
		__builtin_memcpy(next_hop->dst_mac, fib.dmac, ETH_ALEN);
		__builtin_memcpy(next_hop->src_mac, fib.smac, ETH_ALEN);
		next_hop->ifindex = fib.ifindex;
		return SVR_NEXT;
	case BPF_FIB_LKUP_RET_NO_NEIGH:
		return SVR_FIB_NO_NEIGH;
	case BPF_FIB_LKUP_RET_FRAG_NEEDED:
		/* Translated first, or the kernel would fragment and forward it untranslated.
		 * With DF (and IPv6) it is passed as received: the kernel's ICMP Fragmentation
		 * Needed / Packet Too Big must reach the original sender, quoting its packet. */
		return may_fragment ? SVR_FIB_FRAGMENT : SVR_PASS(FRAG_NEEDED);
	case BPF_FIB_LKUP_RET_BLACKHOLE:
	case BPF_FIB_LKUP_RET_UNREACHABLE:
	case BPF_FIB_LKUP_RET_PROHIBIT:
		return SVR_DROP(FIB);
	case BPF_FIB_LKUP_RET_NOT_FWDED:
		return SVR_PASS(LOCAL);
	default:
		/* Forwarding disabled on the ingress interface (how svrd runs routers: use cached
		 * MACs there), tunnels, no source address. Passing the packet untranslated would
		 * let a kernel that does forward bypass the session's NAT. */
		return SVR_DROP(FIB);
	}
}

/* A MAC address in three 16-bit moves instead of six byte moves: frames start on an even
 * address (VLAN push/pop move them by 4), like the 16-bit IP header accesses above. */
static __always_inline void svr_copy_mac(void *to, const void *from)
{
	__u16 *dst = to;
	const __u16 *src = from;

	dst[0] = src[0];
	dst[1] = src[1];
	dst[2] = src[2];
}

/* MACs and the outer VLAN tag for the egress interface; resizing invalidates packet
 * pointers, so this runs after every L3/L4 write. */
static __always_inline int svr_write_l2(struct xdp_md *ctx, struct svr_run *run,
					const struct svr_next_hop *next_hop, __u16 egress_vlan)
{
	__u8 tags = run->pkt.vlan_tags;
	struct svr_vlan_hdr *vlan;
	struct ethhdr *eth;
	void *data_end;

	egress_vlan &= 0x0fff;
	if (!tags && egress_vlan) {
		/* push: the old ethertype ends up right after the new tag */
		if (bpf_xdp_adjust_head(ctx, -(int)sizeof(*vlan)))
			return SVR_DROP(ADJUST_FAILED);
	} else if (tags && !egress_vlan) {
		/* pop: the inner ethertype (or inner tag) moves up to the MACs */
		if (bpf_xdp_adjust_head(ctx, (int)sizeof(*vlan)))
			return SVR_DROP(ADJUST_FAILED);
	}
	eth = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	vlan = (void *)(eth + 1);
	if ((void *)(vlan + 1) > data_end)
		return SVR_DROP(ADJUST_FAILED);
	svr_copy_mac(eth->h_dest, next_hop->dst_mac);
	svr_copy_mac(eth->h_source, next_hop->src_mac);
	if (egress_vlan) {
		if (!tags) {
			eth->h_proto = bpf_htons(ETH_P_8021Q);
			vlan->tci = bpf_htons(egress_vlan);
		} else {
			/* rewrite: keep the TPID and the priority bits */
			vlan->tci = (vlan->tci & bpf_htons(0xf000)) | bpf_htons(egress_vlan);
		}
	}
	return SVR_NEXT;
}

/* The coarse clock changes once a jiffy; jiffies_64 is one load where the clock read is a
 * sequence-locked read of the timekeeper and a conversion, so every CPU reuses the value read
 * at this jiffy. Unlocked: a CPU that sees the new jiffy with the old value (or whose update
 * races another's) records a time one tick older, which aging (whole seconds) never notices. */
__u64 svr_clock_jiffies = 0;
__u64 svr_clock_ns = 0;

static __always_inline __u64 svr_coarse_now(void)
{
	__u64 jiffies = bpf_jiffies64();
	__u64 now;

	if (jiffies == svr_clock_jiffies)
		return svr_clock_ns;
	now = bpf_ktime_get_coarse_ns();
	svr_clock_ns = now;
	asm volatile("" ::: "memory"); /* the value before the jiffy that vouches for it */
	svr_clock_jiffies = jiffies;
	return now;
}

/* Session bookkeeping for a packet the fast path handled; tcp_flags: the TCP header's flags
 * byte, 0 for anything else (ICMP errors about a TCP session included). */
static __always_inline void svr_account_packet(struct svr_session_value *val, __u32 frame_len,
					       __u8 tcp_flags)
{
	/* The coarse clock (CLOCK_MONOTONIC_COARSE, same base as created_ns, a tick of
	 * resolution), no clock-source read: aging needs no more. */
	val->last_seen_ns = svr_coarse_now();
	__sync_fetch_and_add(&val->packets, 1);
	__sync_fetch_and_add(&val->bytes, frame_len);
	if (tcp_flags) {
		__u8 seen = 0;

		if (tcp_flags & SVR_TCP_FLAG_SYN)
			seen |= SVR_TCP_SEEN_SYN;
		else if (tcp_flags & SVR_TCP_FLAG_ACK)
			seen |= SVR_TCP_SEEN_ACK;
		if (tcp_flags & SVR_TCP_FLAG_FIN)
			seen |= SVR_TCP_SEEN_FIN;
		if (tcp_flags & SVR_TCP_FLAG_RST)
			seen |= SVR_TCP_SEEN_RST;
		/* Write only when a bit is new: no cache-line bouncing on established flows. A
		 * plain store (BPF has no byte atomics); a flow's packets arrive on one CPU. */
		if ((val->tcp_state & seen) != seen)
			val->tcp_state |= seen;
	}
}

static __always_inline void svr_account(struct svr_run *run, struct svr_session_value *val)
{
	struct svr_packet *pkt = &run->pkt;
	__u8 tcp_flags = pkt->proto == IPPROTO_TCP && !pkt->is_icmp_error ? pkt->tcp_flags : 0;

	svr_account_packet(val, run->frame_len, tcp_flags);
}

/* Sum of a 16-byte address's 32-bit words, for a pseudo-header delta. */
static __always_inline __u64 svr_csum_addr6(const __u32 *addr)
{
	return (__u64)addr[0] + addr[1] + addr[2] + addr[3];
}

/* The L2 header (Ethernet and 0-2 VLAN tags) saved across a resize of the L3 header. */
struct svr_l2_saved {
	__u16 words[11];
};

static __always_inline int svr_save_l2(struct xdp_md *ctx, __u8 tags, struct svr_l2_saved *l2)
{
	void *from;

	/* Constant sizes per tag count: the verifier needs them. */
	if (tags == 0) {
		from = svr_at(ctx, 0, ETH_HLEN);
		if (!from)
			return -1;
		__builtin_memcpy(l2->words, from, ETH_HLEN);
	} else if (tags == 1) {
		from = svr_at(ctx, 0, ETH_HLEN + 4);
		if (!from)
			return -1;
		__builtin_memcpy(l2->words, from, ETH_HLEN + 4);
	} else {
		from = svr_at(ctx, 0, ETH_HLEN + 8);
		if (!from)
			return -1;
		__builtin_memcpy(l2->words, from, ETH_HLEN + 8);
	}
	return 0;
}

/* Writes the saved L2 header at the (moved) frame start with the new innermost ethertype. */
static __always_inline int svr_restore_l2(struct xdp_md *ctx, __u8 tags,
					  struct svr_l2_saved *l2, __u16 ether_type)
{
	void *to;

	if (tags == 0) {
		l2->words[6] = bpf_htons(ether_type);
		to = svr_at(ctx, 0, ETH_HLEN);
		if (!to)
			return -1;
		__builtin_memcpy(to, l2->words, ETH_HLEN);
	} else if (tags == 1) {
		l2->words[8] = bpf_htons(ether_type);
		to = svr_at(ctx, 0, ETH_HLEN + 4);
		if (!to)
			return -1;
		__builtin_memcpy(to, l2->words, ETH_HLEN + 4);
	} else {
		l2->words[10] = bpf_htons(ether_type);
		to = svr_at(ctx, 0, ETH_HLEN + 8);
		if (!to)
			return -1;
		__builtin_memcpy(to, l2->words, ETH_HLEN + 8);
	}
	return 0;
}

static __always_inline __u8 svr_ds_field(const struct svr_session_value *val, __u8 old)
{
	return val->dscp == SVR_DSCP_KEEP ? old : (__u8)(val->dscp << 2) | (old & 0x3);
}

/* IPv4 -> IPv6: the header grows by 20 bytes, in front (bpf_xdp_adjust_head -20). */
static __always_inline int svr_xlate_4to6(struct xdp_md *ctx, struct svr_run *run,
					  const struct svr_session_value *val)
{
	struct svr_packet *pkt = &run->pkt;
	__u32 l3_off = pkt->l3_off;
	struct iphdr *iph = svr_at(ctx, l3_off, sizeof(*iph));
	struct svr_l2_saved l2 = {};
	struct ipv6hdr *ip6;
	__u8 tos, ttl, proto, tags = pkt->vlan_tags;
	__u16 total_len;
	__u64 pseudo_delta;
	__u32 mtu_len = 0;
	int len_diff = 20, outcome;

	if (!iph)
		return SVR_DROP(IPV4_TRUNCATED);
	if (iph->ihl != 5)
		return SVR_DROP(XLATE_UNSUPPORTED); /* options: rare, refused rather than dropped */
	if (pkt->proto == IPPROTO_UDP) {
		struct udphdr *udp = svr_at(ctx, pkt->l4_off, sizeof(*udp));

		if (!udp)
			return SVR_DROP(UDP_TRUNCATED);
		if (!udp->check)
			return SVR_PUNT(XLATE_CHECKSUM); /* needs a sum over the whole payload */
	}
	/* The redirect would drop an oversized frame without a trace. VLAN push/pop changes
	 * the frame too, but not what counts against the MTU. */
	if (!tags && (val->egress_vlan & 0x0fff))
		len_diff += 4;
	else if (tags && !(val->egress_vlan & 0x0fff))
		len_diff -= 4;
	outcome = bpf_check_mtu(ctx, val->egress_ifindex, &mtu_len, len_diff, 0);
	if (outcome == BPF_MTU_CHK_RET_FRAG_NEEDED) {
		struct svr_addr_key src = {.family = SVR_FAMILY_IPV4};

		if (!(iph->frag_off & bpf_htons(0x4000)))
			return SVR_DROP(XLATE_TOO_BIG); /* no DF: nobody to tell */
		/* svrd answers ICMP fragmentation needed; the sender's tokens pay for it. */
		__builtin_memcpy(src.addr, &iph->saddr, 4);
		if (svr_dos_over_limit(&src))
			return SVR_DROP(DOS_LIMIT);
		return SVR_PUNT(XLATE_TOO_BIG);
	}
	if (outcome)
		return SVR_DROP(NO_TX_PORT);

	tos = iph->tos;
	ttl = iph->ttl;
	proto = iph->protocol;
	total_len = bpf_ntohs(iph->tot_len);
	/* Same protocol and L4 length in both pseudo-headers: only the addresses change. */
	pseudo_delta = svr_csum_delta32(iph->saddr, 0) + svr_csum_delta32(iph->daddr, 0) +
		       svr_csum_addr6((const __u32 *)val->new_src_addr) +
		       svr_csum_addr6((const __u32 *)val->new_dst_addr);
	outcome = svr_rewrite_l4(ctx, pkt, val, pseudo_delta);
	if (outcome != SVR_NEXT)
		return outcome;

	if (svr_save_l2(ctx, tags, &l2))
		return SVR_DROP(ETH_TRUNCATED);
	if (bpf_xdp_adjust_head(ctx, -20))
		return SVR_DROP(ADJUST_FAILED);
	if (svr_restore_l2(ctx, tags, &l2, ETH_P_IPV6))
		return SVR_DROP(ADJUST_FAILED);
	ip6 = svr_at(ctx, l3_off, sizeof(*ip6));
	if (!ip6)
		return SVR_DROP(ADJUST_FAILED);
	*(__be32 *)ip6 = bpf_htonl(0x60000000U | ((__u32)svr_ds_field(val, tos) << 20));
	ip6->payload_len = bpf_htons(total_len - sizeof(*iph));
	ip6->nexthdr = proto;
	ip6->hop_limit = ttl - 1;
	__builtin_memcpy(&ip6->saddr, val->new_src_addr, 16);
	__builtin_memcpy(&ip6->daddr, val->new_dst_addr, 16);
	return SVR_NEXT;
}

/* IPv6 -> IPv4: the header shrinks by 20 bytes, in front (bpf_xdp_adjust_head +20). */
static __always_inline int svr_xlate_6to4(struct xdp_md *ctx, struct svr_run *run,
					  const struct svr_session_value *val)
{
	struct svr_packet *pkt = &run->pkt;
	__u32 l3_off = pkt->l3_off;
	struct ipv6hdr *ip6 = svr_at(ctx, l3_off, sizeof(*ip6));
	struct svr_l2_saved l2 = {};
	struct iphdr *iph;
	__u8 tclass, hop_limit, proto, tags = pkt->vlan_tags;
	__u16 payload_len, *words;
	__u64 pseudo_delta, sum = 0;
	int outcome;

	if (!ip6)
		return SVR_DROP(IPV6_TRUNCATED);
	if (pkt->l4_off != l3_off + sizeof(*ip6))
		return SVR_DROP(XLATE_UNSUPPORTED); /* extension headers have no IPv4 form */
	payload_len = bpf_ntohs(ip6->payload_len);
	if (payload_len > 0xffff - sizeof(*iph))
		return SVR_DROP(XLATE_UNSUPPORTED);
	tclass = (bpf_ntohl(*(__be32 *)ip6) >> 20) & 0xff;
	hop_limit = ip6->hop_limit;
	proto = ip6->nexthdr;
	pseudo_delta = svr_csum_delta_addr6((__u32 *)&ip6->saddr, (const __u32 *)val->new_src_addr) +
		       svr_csum_delta_addr6((__u32 *)&ip6->daddr, (const __u32 *)val->new_dst_addr);
	/* new_*_addr hold the IPv4 addresses in bytes 0..3 and zeros after: the same sum. */
	outcome = svr_rewrite_l4(ctx, pkt, val, pseudo_delta);
	if (outcome != SVR_NEXT)
		return outcome;

	if (svr_save_l2(ctx, tags, &l2))
		return SVR_DROP(ETH_TRUNCATED);
	if (bpf_xdp_adjust_head(ctx, 20))
		return SVR_DROP(ADJUST_FAILED);
	if (svr_restore_l2(ctx, tags, &l2, ETH_P_IP))
		return SVR_DROP(ADJUST_FAILED);
	iph = svr_at(ctx, l3_off, sizeof(*iph));
	if (!iph)
		return SVR_DROP(ADJUST_FAILED);
	*(__u8 *)iph = 0x45; /* version 4, 5 words: no options */
	iph->tos = svr_ds_field(val, tclass);
	iph->tot_len = bpf_htons(payload_len + sizeof(*iph));
	iph->id = 0;
	iph->frag_off = bpf_htons(0x4000); /* DF: IPv6 routers never fragment either */
	iph->ttl = hop_limit - 1;
	iph->protocol = proto;
	iph->check = 0;
	__builtin_memcpy(&iph->saddr, val->new_src_addr, 4);
	__builtin_memcpy(&iph->daddr, val->new_dst_addr, 4);
	words = (__u16 *)iph;
#pragma unroll
	for (int i = 0; i < 10; i++)
		sum += words[i];
	iph->check = ~svr_csum_fold64(sum);
	return SVR_NEXT;
}

/* A hit whose entry translates the IP version. Global (verified once, separately). */
__noinline int svr_xlate_hit(struct xdp_md *ctx, struct svr_run *run,
			     struct svr_session_value *val)
{
	const __u16 rewrite_both = SVR_SESSION_F_REWRITE_SRC | SVR_SESSION_F_REWRITE_DST;
	struct svr_next_hop next_hop;
	struct svr_packet *pkt;
	int outcome;

	if (!ctx || !run || !val)
		return SVR_DROP(XLATE_UNSUPPORTED); /* cannot happen: the verifier wants the checks */
	pkt = &run->pkt;
	if (val->action != SVR_ACTION_FORWARD || (val->flags & SVR_SESSION_F_USE_FIB) ||
	    (val->flags & rewrite_both) != rewrite_both || pkt->is_icmp_error ||
	    (pkt->proto != IPPROTO_TCP && pkt->proto != IPPROTO_UDP))
		return SVR_DROP(XLATE_UNSUPPORTED);
	if (svr_ttl(ctx, pkt) <= 1)
		return SVR_PASS(TTL_EXPIRED); /* the kernel answers in the sender's family */
	if (pkt->family == SVR_FAMILY_IPV4)
		outcome = svr_xlate_4to6(ctx, run, val);
	else
		outcome = svr_xlate_6to4(ctx, run, val);
	if (outcome != SVR_NEXT)
		return outcome;
	__builtin_memcpy(next_hop.dst_mac, val->dst_mac, ETH_ALEN);
	__builtin_memcpy(next_hop.src_mac, val->src_mac, ETH_ALEN);
	next_hop.ifindex = val->egress_ifindex;
	outcome = svr_write_l2(ctx, run, &next_hop, val->egress_vlan);
	if (outcome != SVR_NEXT)
		return outcome;
	if (bpf_redirect_map(&tx_ports, next_hop.ifindex, XDP_DROP) != XDP_REDIRECT)
		return SVR_DROP(NO_TX_PORT);
	svr_account(run, val);
	return SVR_FORWARD;
}

/* A session hit: see the comment at the top for its verification cost. */
static __always_inline int svr_hit(struct xdp_md *ctx, struct svr_run *run,
				   struct svr_session_value *val)
{
	struct svr_next_hop next_hop;
	struct svr_packet *pkt = &run->pkt;
	__u8 action = val->action;
	int outcome;

	if (action == SVR_ACTION_DROP) {
		svr_account(run, val);
		return SVR_DROP(SESSION_DENY);
	}
	if (action == SVR_ACTION_PUNT)
		return SVR_PUNT(SESSION_ACTION);
	if (val->flags & SVR_SESSION_F_METADATA_PENDING)
		return SVR_PUNT(METADATA_PENDING);
	if (svr_has_cookie(ctx, pkt))
		return SVR_PUNT(COOKIE);
	if (val->new_family && val->new_family != pkt->family)
		return svr_xlate_hit(ctx, run, val);
	if (action == SVR_ACTION_PASS) {
		/* Local delivery: the kernel does not decrement TTL for it, and if it routes the
		 * packet on it decrements itself. */
		outcome = svr_rewrite(ctx, pkt, val, 0);
		if (outcome != SVR_NEXT)
			return outcome;
		svr_account(run, val);
		return SVR_PASS(SESSION_ACTION);
	}
	if (action != SVR_ACTION_FORWARD)
		return SVR_PUNT(SESSION_ACTION); /* an action this program does not know */

	if (svr_ttl(ctx, pkt) <= 1)
		return SVR_PASS(TTL_EXPIRED);

	if (val->flags & SVR_SESSION_F_USE_FIB) {
		outcome = svr_fib_next_hop(ctx, run, val, &next_hop);
		if (outcome == SVR_FIB_NO_NEIGH || outcome == SVR_FIB_FRAGMENT) {
			/* The kernel resolves the neighbour (or fragments) and forwards,
			 * decrementing TTL itself. */
			int pass = outcome == SVR_FIB_NO_NEIGH ? SVR_PASS(NO_NEIGH) : SVR_PASS(FRAG_NEEDED);

			outcome = svr_rewrite(ctx, pkt, val, 0);
			if (outcome != SVR_NEXT)
				return outcome;
			svr_account(run, val);
			return pass;
		}
		if (outcome != SVR_NEXT)
			return outcome;
	} else {
		__builtin_memcpy(next_hop.dst_mac, val->dst_mac, ETH_ALEN);
		__builtin_memcpy(next_hop.src_mac, val->src_mac, ETH_ALEN);
		next_hop.ifindex = val->egress_ifindex;
	}

	outcome = svr_rewrite(ctx, pkt, val, 1);
	if (outcome != SVR_NEXT)
		return outcome;
	outcome = svr_write_l2(ctx, run, &next_hop, val->egress_vlan);
	if (outcome != SVR_NEXT)
		return outcome;
	if (bpf_redirect_map(&tx_ports, next_hop.ifindex, XDP_DROP) != XDP_REDIRECT)
		return SVR_DROP(NO_TX_PORT);
	svr_account(run, val);
	return SVR_FORWARD;
}

/*
 * The fast lane: the common packet (untagged IPv4 without options or IPv6 without extension
 * headers, TCP or UDP) of a session that forwards it with its cached next hop, in
 * straight-line code: fixed header offsets, the key's words built in registers, no key or
 * offsets on the stack, no dispatch per layer (~17 ns of the ~65 ns an IPv4 packet costs
 * through the generic path in a test-run loop here). It writes nothing until it has decided
 * to forward. Anything else (another shape, a frame the generic parser would drop or pass, a
 * payload that may start with the SVR cookie, TTL or hop limit 1, a miss, a session needing
 * the FIB, a VLAN, metadata or translation) returns SVR_NEXT and goes through the generic
 * path from the start, which decides as it always did: the lane only takes packets whose
 * outcome it shares, and a miss or a session it leaves is looked up twice (a punt or an
 * unusual session; ~10 ns).
 */

/* The L4 header of a lane packet. */
struct svr_lane_l4 {
	__be16 *ports;   /* source, destination: the same place in TCP and UDP */
	__sum16 *check;
	__u8 is_tcp;
	__u8 tcp_flags;  /* TCP's flags byte; 0 for UDP */
};

/* TCP or UDP with its header (TCP: and options) in the frame, and a payload whose first
 * byte rules out the SVR cookie (the rest are the generic path's to check). 0: take it. */
static __always_inline int svr_lane_l4(void *l4, void *data_end, __u8 proto,
				       struct svr_lane_l4 *out)
{
	void *payload;

	if (proto == IPPROTO_UDP) {
		struct udphdr *udp = l4;

		if ((void *)(udp + 1) > data_end)
			return -1;
		out->check = &udp->check;
		out->is_tcp = 0;
		out->tcp_flags = 0;
		payload = udp + 1;
	} else if (proto == IPPROTO_TCP) {
		struct tcphdr *tcp = l4;

		if ((void *)(tcp + 1) > data_end || tcp->doff < 5)
			return -1;
		payload = l4 + tcp->doff * 4;
		if (payload > data_end)
			return -1;
		out->check = &tcp->check;
		out->is_tcp = 1;
		out->tcp_flags = ((__u8 *)tcp)[13];
	} else {
		return -1;
	}
	if (payload + 1 <= data_end && *(__u8 *)payload == (__u8)(SVR_COOKIE >> 56))
		return -1;
	out->ports = l4;
	return 0;
}

/* Whether the lane forwards for this session (else the generic path decides). */
static __always_inline int svr_lane_takes(const struct svr_session_value *val, __u8 family)
{
	return val->action == SVR_ACTION_FORWARD && !val->egress_vlan &&
	       (!val->new_family || val->new_family == family) &&
	       !(val->flags & (SVR_SESSION_F_USE_FIB | SVR_SESSION_F_METADATA_PENDING));
}

/* After the IP header's rewrite: ports and the L4 checksum (addresses in addr_delta), MACs,
 * redirect, the session's counters; as svr_rewrite_l4, svr_write_l2 and svr_hit would. */
static __always_inline int svr_lane_finish(struct ethhdr *eth, struct svr_run *run,
					   struct svr_session_value *val, struct svr_lane_l4 *l4,
					   __u64 addr_delta, int ipv6)
{
	__u16 flags = val->flags;
	__u64 delta = addr_delta;
	__be16 *ports = l4->ports;

	if (flags & SVR_SESSION_F_REWRITE_SRC) {
		delta += svr_csum_delta16(ports[0], val->new_src_port);
		ports[0] = val->new_src_port;
	}
	if (flags & SVR_SESSION_F_REWRITE_DST) {
		delta += svr_csum_delta16(ports[1], val->new_dst_port);
		ports[1] = val->new_dst_port;
	}
	if (l4->is_tcp) {
		*l4->check = svr_csum_apply(*l4->check, delta);
	} else if (*l4->check || ipv6) {
		/* IPv4 UDP without a checksum stays without one. */
		__u16 check = svr_csum_apply(*l4->check, delta);

		*l4->check = check ? check : 0xffff;
	}
	svr_copy_mac(eth->h_dest, val->dst_mac);
	svr_copy_mac(eth->h_source, val->src_mac);
	if (bpf_redirect_map(&tx_ports, val->egress_ifindex, XDP_DROP) != XDP_REDIRECT)
		return SVR_DROP(NO_TX_PORT);
	svr_account_packet(val, run->frame_len, l4->tcp_flags);
	return SVR_FORWARD;
}

static __always_inline int svr_fast_lane4(struct svr_run *run, struct ethhdr *eth,
					  void *data_end)
{
	struct iphdr *iph = (void *)(eth + 1);
	__u64 words[SVR_SESSION_KEY_WORDS];
	struct svr_session_value *val;
	struct svr_lane_l4 l4;
	__be32 old_src, old_dst;
	__u64 addr_delta = 0, ip_delta;
	__u16 flags;

	if ((void *)(iph + 1) > data_end)
		return SVR_NEXT;
	/* Version 4, no options; not a fragment; TTL left to decrement; unicast-looking (the
	 * generic parser passes 224/4 and the broadcast address; 240/4 goes there too). */
	if (*(__u8 *)iph != 0x45 || (iph->frag_off & bpf_htons(SVR_IPV4_MF_OR_OFFSET)) ||
	    iph->ttl <= 1 || ((__u8 *)&iph->daddr)[0] >= 0xe0)
		return SVR_NEXT;
	if (bpf_ntohs(iph->tot_len) < sizeof(*iph) ||
	    (void *)iph + bpf_ntohs(iph->tot_len) > data_end)
		return SVR_NEXT;
	if (svr_lane_l4(iph + 1, data_end, iph->protocol, &l4))
		return SVR_NEXT;

	old_src = iph->saddr;
	old_dst = iph->daddr;
	/* svr_session_key_words of the key svr_parse would build: VLAN 0, IPv4 in the first
	 * four bytes of each 16-byte address, the ports as they sit in the header. */
	words[0] = run->ifindex | (__u64)SVR_FAMILY_IPV4 << 48 | (__u64)iph->protocol << 56;
	words[1] = old_src;
	words[2] = 0;
	words[3] = old_dst;
	words[4] = 0;
	words[5] = *(__u32 *)l4.ports;
	val = svr_session_lookup_words(words);
	if (!val || !svr_lane_takes(val, SVR_FAMILY_IPV4))
		return SVR_NEXT;

	/* Decided: rewrite, as svr_rewrite_ipv4 would. */
	flags = val->flags;
	if (flags & SVR_SESSION_F_REWRITE_SRC) {
		__builtin_memcpy(&iph->saddr, val->new_src_addr, 4);
		addr_delta += svr_csum_delta32(old_src, iph->saddr);
	}
	if (flags & SVR_SESSION_F_REWRITE_DST) {
		__builtin_memcpy(&iph->daddr, val->new_dst_addr, 4);
		addr_delta += svr_csum_delta32(old_dst, iph->daddr);
	}
	ip_delta = addr_delta + svr_decrement_ttl4(iph);
	if (val->dscp != SVR_DSCP_KEEP)
		ip_delta += svr_set_dscp4(iph, val->dscp);
	iph->check = svr_csum_apply(iph->check, ip_delta);
	return svr_lane_finish(eth, run, val, &l4, addr_delta, 0);
}

static __always_inline int svr_fast_lane6(struct svr_run *run, struct ethhdr *eth,
					  void *data_end)
{
	struct ipv6hdr *ip6 = (void *)(eth + 1);
	__u64 words[SVR_SESSION_KEY_WORDS];
	struct svr_session_value *val;
	struct svr_lane_l4 l4;
	const __u32 *src, *dst;
	__u64 addr_delta = 0;
	__u8 dst_first;
	__u16 flags;

	if ((void *)(ip6 + 1) > data_end)
		return SVR_NEXT;
	/* Version 6, hop limit left to decrement, the payload in the frame; not multicast or
	 * link-local (the generic parser passes those). */
	if ((*(__u8 *)ip6 >> 4) != 6 || ip6->hop_limit <= 1 ||
	    (void *)(ip6 + 1) + bpf_ntohs(ip6->payload_len) > data_end)
		return SVR_NEXT;
	dst_first = ip6->daddr.in6_u.u6_addr8[0];
	if (dst_first == 0xff ||
	    (dst_first == 0xfe && (ip6->daddr.in6_u.u6_addr8[1] & 0xc0) == 0x80) ||
	    (ip6->saddr.in6_u.u6_addr8[0] == 0xfe && (ip6->saddr.in6_u.u6_addr8[1] & 0xc0) == 0x80))
		return SVR_NEXT;
	/* TCP or UDP right after the header: extension headers are the generic path's. */
	if (svr_lane_l4(ip6 + 1, data_end, ip6->nexthdr, &l4))
		return SVR_NEXT;

	src = ip6->saddr.in6_u.u6_addr32;
	dst = ip6->daddr.in6_u.u6_addr32;
	words[0] = run->ifindex | (__u64)SVR_FAMILY_IPV6 << 48 | (__u64)ip6->nexthdr << 56;
	words[1] = src[0] | (__u64)src[1] << 32;
	words[2] = src[2] | (__u64)src[3] << 32;
	words[3] = dst[0] | (__u64)dst[1] << 32;
	words[4] = dst[2] | (__u64)dst[3] << 32;
	words[5] = *(__u32 *)l4.ports;
	val = svr_session_lookup_words(words);
	if (!val || !svr_lane_takes(val, SVR_FAMILY_IPV6))
		return SVR_NEXT;

	/* Decided: rewrite, as svr_rewrite_ipv6 would. */
	flags = val->flags;
	if (flags & SVR_SESSION_F_REWRITE_SRC) {
		addr_delta += svr_csum_delta_addr6(src, (const __u32 *)val->new_src_addr);
		__builtin_memcpy(&ip6->saddr, val->new_src_addr, 16);
	}
	if (flags & SVR_SESSION_F_REWRITE_DST) {
		addr_delta += svr_csum_delta_addr6(dst, (const __u32 *)val->new_dst_addr);
		__builtin_memcpy(&ip6->daddr, val->new_dst_addr, 16);
	}
	if (val->dscp != SVR_DSCP_KEEP)
		svr_set_dscp6(ip6, val->dscp);
	ip6->hop_limit--;
	return svr_lane_finish(eth, run, val, &l4, addr_delta, 1);
}

static __always_inline int svr_fast_lane(struct xdp_md *ctx, struct svr_run *run)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end || (eth->h_dest[0] & 1))
		return SVR_NEXT;
	if (eth->h_proto == bpf_htons(ETH_P_IP))
		return svr_fast_lane4(run, eth, data_end);
	if (eth->h_proto == bpf_htons(ETH_P_IPV6))
		return svr_fast_lane6(run, eth, data_end);
	return SVR_NEXT;
}

static __always_inline int svr_process(struct xdp_md *ctx, struct svr_run *run)
{
	struct svr_frame frame = {
		.data = (void *)(long)ctx->data,
		.data_end = (void *)(long)ctx->data_end,
	};
	struct svr_session_value *val;
	struct svr_iface *iface;
	__u32 queue;
	int outcome;

	iface = bpf_map_lookup_elem(&ifaces, &run->ifindex);
	if (!iface)
		return SVR_PASS(UNCONFIGURED);
	if (iface->stats_slot < SVR_MAX_STATS_SLOTS)
		run->stats_slot = iface->stats_slot;
	if (!(iface->flags & SVR_IFACE_F_ROUTER))
		return SVR_PASS(UNCONFIGURED);
	queue = ctx->rx_queue_index;
	if (queue >= iface->punt_queue_count)
		queue = 0;
	run->punt_index = iface->punt_queue_base + queue;

	outcome = svr_fast_lane(ctx, run);
	if (outcome != SVR_NEXT)
		return outcome;
	run->key.ingress_ifindex = run->ifindex;
	outcome = svr_parse(&run->pkt, &run->key, &frame);
	if (outcome == SVR_PUNT(FRAGMENT))
		return svr_fragment(ctx, run);
	if (outcome != SVR_NEXT)
		return outcome;

	val = svr_session_lookup(&run->key);
	if (!val)
		return svr_miss(ctx, run);
	return svr_hit(ctx, run, val);
}

SEC("xdp")
int svr_xdp_ingress(struct xdp_md *ctx)
{
	struct svr_run run = {};

	run.ifindex = ctx->ingress_ifindex;
	run.frame_len = ctx->data_end - ctx->data;
	return svr_exit(ctx, &run, svr_process(ctx, &run));
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
