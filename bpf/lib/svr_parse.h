/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Packet parsing for the fast path: Ethernet (+ two VLAN tags), IPv4/IPv6 (+ a bounded
 * extension header chain), TCP/UDP/ICMP/ICMPv6, and the packet quoted in an ICMP error.
 * Every header is bounds-checked before it is read; a malformed packet yields a drop outcome
 * naming the layer. The parser fills the session key the packet is looked up with.
 */
#ifndef SVR_PARSE_H
#define SVR_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "svr_outcome.h"
#include "svr_session.h"

/* Extension headers the IPv6 parser follows; more than this is dropped (EXT_LIMIT). */
#define SVR_IPV6_MAX_EXT_HEADERS 4

#define SVR_IPV4_MF_OR_OFFSET 0x3fff /* frag_off bits that make a packet a fragment */

#define SVR_ICMP_ECHO_REPLY 0
#define SVR_ICMP_DEST_UNREACH 3
#define SVR_ICMP_ECHO_REQUEST 8
#define SVR_ICMP_TIME_EXCEEDED 11
#define SVR_ICMP_PARAMETER_PROBLEM 12
#define SVR_ICMPV6_DEST_UNREACH 1
#define SVR_ICMPV6_PKT_TOOBIG 2
#define SVR_ICMPV6_TIME_EXCEED 3
#define SVR_ICMPV6_PARAMPROB 4
#define SVR_ICMPV6_ECHO_REQUEST 128
#define SVR_ICMPV6_ECHO_REPLY 129

/* First 8 bytes of ICMP and ICMPv6 (linux/icmp.h drags in libc socket headers). */
struct svr_icmp_hdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be16 id;       /* echo; the rest-of-header word of other messages */
	__be16 sequence;
};

/* 802.1Q / 802.1AD tag after the MAC addresses. */
struct svr_vlan_hdr {
	__be16 tci;
	__be16 encapsulated_proto;
};

/* Where the parsed headers are, as offsets from the frame's first byte: scalars, so the
 * struct can be handed to a separately verified function that re-derives (and re-checks)
 * every pointer. An offset of 0 means "absent" for the optional headers. */
struct svr_packet {
	__u16 l3_off;       /* IPv4 or IPv6 header */
	__u16 l4_off;       /* TCP/UDP/ICMP header; 0 for other protocols */
	__u16 payload_off;  /* TCP/UDP payload (for the cookie check); 0 otherwise */
	__u16 inner_l3_off; /* ICMP error: the quoted IP header */
	__u16 inner_l4_off; /* ICMP error: the quoted L4 header (8 bytes present); 0 if none */
	__u16 vlan_id;      /* outer VID, host order */
	__u8 vlan_tags;     /* 0..2 */
	__u8 family;        /* SVR_FAMILY_* */
	__u8 proto;         /* outer L4 protocol */
	__u8 inner_proto;   /* ICMP error: the quoted packet's protocol */
	__u8 tcp_flags;     /* outer TCP flags byte */
	__u8 is_icmp_echo;  /* outer is an echo request/reply: key.src_port is the identifier */
	__u8 is_icmp_error;
	__u8 inner_is_echo; /* quoted packet is an echo request: its identifier is the port */
	__u16 pad0;
};

/* Frame bounds while parsing. */
struct svr_frame {
	void *data;
	void *data_end;
};

static __always_inline int svr_is_vlan_proto(__be16 proto)
{
	return proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD);
}

static __always_inline int svr_is_ipv6_ext(__u8 nexthdr)
{
	return nexthdr == IPPROTO_HOPOPTS || nexthdr == IPPROTO_ROUTING ||
	       nexthdr == IPPROTO_DSTOPTS || nexthdr == IPPROTO_FRAGMENT;
}

/* TCP/UDP ports (and the ICMP echo identifier) of a session key, from an L4 header. For the
 * quoted packet of an ICMP error, `reverse` swaps them: the error belongs to the session of
 * the other direction. */
static __always_inline void svr_key_ports(struct svr_session_key *key, void *l4, __u8 proto,
					  int is_echo, int reverse)
{
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
		__be16 *ports = l4; /* source, destination: same place in both headers */
		key->src_port = reverse ? ports[1] : ports[0];
		key->dst_port = reverse ? ports[0] : ports[1];
	} else if (is_echo) {
		key->src_port = ((struct svr_icmp_hdr *)l4)->id;
		key->dst_port = 0;
	}
}

/* The packet quoted in an ICMP error: build the key of the session it belongs to. */
static __always_inline int svr_parse_quoted(struct svr_packet *pkt, struct svr_session_key *key,
					    struct svr_frame *frame, void *quoted)
{
	void *data_end = frame->data_end;
	int later_fragment = 0;
	void *inner_l4;
	__u8 proto;

	if (pkt->family == SVR_FAMILY_IPV4) {
		struct iphdr *iph = quoted;

		if ((void *)(iph + 1) > data_end)
			return SVR_DROP(ICMP_TRUNCATED);
		if (iph->version != 4 || iph->ihl < 5)
			return SVR_DROP(ICMP_TRUNCATED);
		inner_l4 = (void *)iph + iph->ihl * 4;
		proto = iph->protocol;
		__builtin_memcpy(key->src_addr, &iph->daddr, 4);
		__builtin_memcpy(key->dst_addr, &iph->saddr, 4);
		/* a later fragment quotes no L4 header */
		later_fragment = (iph->frag_off & bpf_htons(0x1fff)) != 0;
	} else {
		struct ipv6hdr *ip6 = quoted;

		if ((void *)(ip6 + 1) > data_end)
			return SVR_DROP(ICMP_TRUNCATED);
		if (ip6->version != 6)
			return SVR_DROP(ICMP_TRUNCATED);
		inner_l4 = ip6 + 1;
		proto = ip6->nexthdr;
		__builtin_memcpy(key->src_addr, &ip6->daddr, 16);
		__builtin_memcpy(key->dst_addr, &ip6->saddr, 16);
	}

	pkt->inner_l3_off = quoted - frame->data;
	pkt->inner_proto = proto;
	pkt->is_icmp_error = 1;
	key->proto = proto;
	key->src_port = 0;
	key->dst_port = 0;
	if (later_fragment)
		return SVR_NEXT;
	if (inner_l4 + 8 > data_end)
		return SVR_DROP(ICMP_TRUNCATED);
	pkt->inner_l4_off = inner_l4 - frame->data;
	if (proto == IPPROTO_ICMP)
		pkt->inner_is_echo = *(__u8 *)inner_l4 == SVR_ICMP_ECHO_REQUEST;
	else if (proto == IPPROTO_ICMPV6)
		pkt->inner_is_echo = *(__u8 *)inner_l4 == SVR_ICMPV6_ECHO_REQUEST;
	/* An echo request's reply session is keyed by the identifier, like any echo. */
	svr_key_ports(key, inner_l4, proto, pkt->inner_is_echo, 1);
	return SVR_NEXT;
}

static __always_inline int svr_parse_l4(struct svr_packet *pkt, struct svr_session_key *key,
					struct svr_frame *frame, void *l4)
{
	void *data_end = frame->data_end;
	void *payload;
	__u8 proto = key->proto;

	pkt->proto = proto;
	if (proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;

		if ((void *)(th + 1) > data_end || th->doff < 5)
			return SVR_DROP(TCP_TRUNCATED);
		payload = l4 + th->doff * 4;
		if (payload > data_end)
			return SVR_DROP(TCP_TRUNCATED);
		pkt->payload_off = payload - frame->data;
		pkt->tcp_flags = ((__u8 *)th)[13];
	} else if (proto == IPPROTO_UDP) {
		struct udphdr *uh = l4;

		if ((void *)(uh + 1) > data_end)
			return SVR_DROP(UDP_TRUNCATED);
		pkt->payload_off = (void *)(uh + 1) - frame->data;
	} else if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) {
		struct svr_icmp_hdr *ih = l4;
		__u8 type;

		if ((void *)(ih + 1) > data_end)
			return SVR_DROP(ICMP_TRUNCATED);
		type = ih->type;
		if (proto == IPPROTO_ICMP) {
			if (type == SVR_ICMP_ECHO_REQUEST || type == SVR_ICMP_ECHO_REPLY)
				pkt->is_icmp_echo = 1;
			else if (type == SVR_ICMP_DEST_UNREACH || type == SVR_ICMP_TIME_EXCEEDED ||
				 type == SVR_ICMP_PARAMETER_PROBLEM)
				goto quoted;
		} else {
			if (type == SVR_ICMPV6_ECHO_REQUEST || type == SVR_ICMPV6_ECHO_REPLY)
				pkt->is_icmp_echo = 1;
			else if (type >= SVR_ICMPV6_DEST_UNREACH && type <= SVR_ICMPV6_PARAMPROB)
				goto quoted;
			else if ((type >= 130 && type <= 137) || type == 143)
				return SVR_PASS(NOT_UNICAST); /* MLD, router/neighbour discovery */
		}
	} else {
		return SVR_NEXT; /* ESP, GRE, ...: key with ports 0 */
	}
	pkt->l4_off = l4 - frame->data;
	svr_key_ports(key, l4, proto, pkt->is_icmp_echo, 0);
	return SVR_NEXT;

quoted:
	pkt->l4_off = l4 - frame->data;
	return svr_parse_quoted(pkt, key, frame, l4 + sizeof(struct svr_icmp_hdr));
}

static __always_inline int svr_parse_ipv4(struct svr_packet *pkt, struct svr_session_key *key,
					  struct svr_frame *frame, struct iphdr *iph)
{
	void *data_end = frame->data_end;
	__u32 header_len, total_len;
	__u8 dst_first;

	if ((void *)(iph + 1) > data_end)
		return SVR_DROP(IPV4_TRUNCATED);
	if (iph->version != 4 || iph->ihl < 5)
		return SVR_DROP(IPV4_BAD_HEADER);
	header_len = iph->ihl * 4;
	total_len = bpf_ntohs(iph->tot_len);
	if (total_len < header_len || (void *)iph + total_len > data_end)
		return SVR_DROP(IPV4_BAD_HEADER);
	if ((void *)iph + header_len > data_end)
		return SVR_DROP(IPV4_TRUNCATED);

	dst_first = ((__u8 *)&iph->daddr)[0];
	if ((dst_first & 0xf0) == 0xe0 || iph->daddr == bpf_htonl(0xffffffff))
		return SVR_PASS(NOT_UNICAST);

	pkt->family = SVR_FAMILY_IPV4;
	key->family = SVR_FAMILY_IPV4;
	key->proto = iph->protocol;
	__builtin_memcpy(key->src_addr, &iph->saddr, 4);
	__builtin_memcpy(key->dst_addr, &iph->daddr, 4);
	if (iph->frag_off & bpf_htons(SVR_IPV4_MF_OR_OFFSET))
		return SVR_PUNT(FRAGMENT);
	return svr_parse_l4(pkt, key, frame, (void *)iph + header_len);
}

static __always_inline int svr_parse_ipv6(struct svr_packet *pkt, struct svr_session_key *key,
					  struct svr_frame *frame, struct ipv6hdr *ip6)
{
	void *data_end = frame->data_end;
	void *cursor = ip6 + 1;
	__u8 nexthdr;

	if ((void *)(ip6 + 1) > data_end)
		return SVR_DROP(IPV6_TRUNCATED);
	if (ip6->version != 6)
		return SVR_DROP(IPV6_BAD_HEADER);
	if (cursor + bpf_ntohs(ip6->payload_len) > data_end)
		return SVR_DROP(IPV6_BAD_HEADER);

	/* ff00::/8 multicast; fe80::/10 link-local: never routed, the kernel handles them. */
	if (ip6->daddr.in6_u.u6_addr8[0] == 0xff ||
	    (ip6->daddr.in6_u.u6_addr8[0] == 0xfe && (ip6->daddr.in6_u.u6_addr8[1] & 0xc0) == 0x80) ||
	    (ip6->saddr.in6_u.u6_addr8[0] == 0xfe && (ip6->saddr.in6_u.u6_addr8[1] & 0xc0) == 0x80))
		return SVR_PASS(NOT_UNICAST);

	pkt->family = SVR_FAMILY_IPV6;
	key->family = SVR_FAMILY_IPV6;
	__builtin_memcpy(key->src_addr, &ip6->saddr, 16);
	__builtin_memcpy(key->dst_addr, &ip6->daddr, 16);

	nexthdr = ip6->nexthdr;
#pragma unroll
	for (int i = 0; i < SVR_IPV6_MAX_EXT_HEADERS; i++) {
		struct ipv6_opt_hdr *ext = cursor;

		if (!svr_is_ipv6_ext(nexthdr))
			break;
		if ((void *)(ext + 1) > data_end)
			return SVR_DROP(IPV6_TRUNCATED);
		if (nexthdr == IPPROTO_FRAGMENT) {
			key->proto = ext->nexthdr;
			return SVR_PUNT(FRAGMENT);
		}
		nexthdr = ext->nexthdr;
		cursor += (ext->hdrlen + 1) * 8;
	}
	if (svr_is_ipv6_ext(nexthdr))
		return SVR_DROP(IPV6_EXT_LIMIT);
	key->proto = nexthdr;
	return svr_parse_l4(pkt, key, frame, cursor);
}

/* Parse a frame and fill `key` (all but ingress_ifindex). SVR_NEXT: an IP packet to look
 * up; anything else: the outcome (malformed, not for the fast path, fragment). */
static __always_inline int svr_parse(struct svr_packet *pkt, struct svr_session_key *key,
				     struct svr_frame *frame)
{
	void *data_end = frame->data_end;
	struct ethhdr *eth = frame->data;
	void *cursor = eth + 1;
	__be16 proto;

	if ((void *)(eth + 1) > data_end)
		return SVR_DROP(ETH_TRUNCATED);
	proto = eth->h_proto;
#pragma unroll
	for (int i = 0; i < 2; i++) {
		struct svr_vlan_hdr *vlan = cursor;

		if (!svr_is_vlan_proto(proto))
			break;
		if ((void *)(vlan + 1) > data_end)
			return SVR_DROP(VLAN_TRUNCATED);
		if (i == 0)
			pkt->vlan_id = bpf_ntohs(vlan->tci) & 0x0fff;
		pkt->vlan_tags = i + 1;
		proto = vlan->encapsulated_proto;
		cursor = vlan + 1;
	}
	key->vlan_id = pkt->vlan_id;

	if (proto != bpf_htons(ETH_P_IP) && proto != bpf_htons(ETH_P_IPV6))
		return SVR_PASS(NOT_IP);
	if (eth->h_dest[0] & 1) /* group bit: multicast or broadcast */
		return SVR_PASS(NOT_UNICAST);
	pkt->l3_off = cursor - frame->data;
	if (proto == bpf_htons(ETH_P_IP))
		return svr_parse_ipv4(pkt, key, frame, cursor);
	return svr_parse_ipv6(pkt, key, frame, cursor);
}

#endif /* SVR_PARSE_H */
