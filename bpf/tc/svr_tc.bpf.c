/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * TC egress program, attached (clsact egress) to every router interface.
 *
 * XDP-redirected packets bypass the TC egress hook, so this program only sees what the
 * kernel stack transmits: traffic the router originates and packets the kernel forwards.
 * Packets the kernel forwards (they have an ingress interface) are only counted, in
 * stats[ifindex].tc_forwarded_packets/_bytes. For those the router originates it
 *   - counts every packet in stats[ifindex].tc_local_packets/_bytes,
 *   - looks up the session with ingress_ifindex = SVR_LOCAL_ZONE and, on a hit, updates
 *     last_seen_ns, the counters and tcp_state, and applies the session's DSCP.
 * It never drops and never rewrites addresses: the router's own traffic must always leave,
 * so anything it cannot parse is left alone (TC_ACT_OK). It runs before GSO segmentation: a
 * GSO packet counts once, and a DSCP written into its header reaches every segment.
 */
#include <stdbool.h>
#include <stddef.h>

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "svr_maps.h"
#include "svr_session_lookup.h"

/* Enough linear bytes for Ethernet, two VLAN tags, IPv6 with a few extension headers and a
 * TCP header with options; pulled only when the stack left headers in paged data. */
#define SVR_TC_PULL_LEN 256

#define SVR_TC_MAX_VLAN_TAGS 2
#define SVR_TC_MAX_IPV6_EXT_HEADERS 4

#define SVR_VLAN_VID_MASK 0x0fff
#define SVR_IPV4_FRAG_MASK 0x3fff /* MF flag and fragment offset */
#define SVR_DSCP_MAX 63
#define SVR_ECN_MASK 0x03

/* 802.1Q/802.1AD tag after the MAC addresses; not in the UAPI headers. */
struct svr_vlan_hdr {
	__be16 tci;
	__be16 encap_proto;
};

/* ICMP and ICMPv6 echo share this layout. linux/icmp.h pulls in libc headers, so the few
 * fields and types needed are declared here. */
struct svr_icmp_echo_hdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be16 identifier;
	__be16 sequence;
};

#define SVR_ICMP_ECHOREPLY 0
#define SVR_ICMP_ECHO 8
#define SVR_ICMPV6_ECHO_REQUEST 128
#define SVR_ICMPV6_ECHO_REPLY 129

/* What the parser learnt about one packet. */
struct svr_tc_flow {
	struct svr_session_key key;
	__u32 l3_off;    /* offset of the IP header from the frame start */
	__u8 dscp;       /* the packet's current DSCP */
	__u8 tcp_bits;   /* SVR_TCP_SEEN_* bits this packet carries */
};

static __always_inline bool svr_is_vlan(__be16 proto)
{
	return proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD);
}

static __always_inline bool svr_is_ipv6_ext(__u8 nexthdr)
{
	return nexthdr == IPPROTO_HOPOPTS || nexthdr == IPPROTO_ROUTING ||
	       nexthdr == IPPROTO_DSTOPTS || nexthdr == IPPROTO_FRAGMENT;
}

static __always_inline __u8 svr_tcp_bits(const struct tcphdr *tcp)
{
	__u8 bits = 0;

	if (tcp->syn)
		bits |= SVR_TCP_SEEN_SYN;
	else if (tcp->ack)
		bits |= SVR_TCP_SEEN_ACK;
	if (tcp->fin)
		bits |= SVR_TCP_SEEN_FIN;
	if (tcp->rst)
		bits |= SVR_TCP_SEEN_RST;
	return bits;
}

/* Parser outcome. SHORT only means "not in the linear data": for a truncated packet and for
 * one whose headers the stack left in paged data alike; the caller tells them apart. */
enum svr_tc_parse_result {
	SVR_TC_KEY,    /* flow->key is complete */
	SVR_TC_NO_KEY, /* parsed, but nothing to look up: not IP, fragment, ICMP error, bad header */
	SVR_TC_SHORT,  /* a header reaches past data_end */
};

/* Fills the ports (and tcp_bits) from the L4 header at l4_off. Other protocols than
 * TCP/UDP/ICMP echo get ports 0, like in XDP. */
static __always_inline enum svr_tc_parse_result
svr_tc_parse_l4(void *data, void *data_end, __u32 l4_off, struct svr_tc_flow *flow)
{
	void *l4 = data + l4_off;

	switch (flow->key.proto) {
	case IPPROTO_TCP: {
		struct tcphdr *tcp = l4;

		if ((void *)(tcp + 1) > data_end)
			return SVR_TC_SHORT;
		if (tcp->doff < 5)
			return SVR_TC_NO_KEY;
		flow->key.src_port = tcp->source;
		flow->key.dst_port = tcp->dest;
		flow->tcp_bits = svr_tcp_bits(tcp);
		return SVR_TC_KEY;
	}
	case IPPROTO_UDP: {
		struct udphdr *udp = l4;

		if ((void *)(udp + 1) > data_end)
			return SVR_TC_SHORT;
		flow->key.src_port = udp->source;
		flow->key.dst_port = udp->dest;
		return SVR_TC_KEY;
	}
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6: {
		struct svr_icmp_echo_hdr *icmp = l4;
		bool echo;

		if ((void *)(icmp + 1) > data_end)
			return SVR_TC_SHORT;
		if (flow->key.proto == IPPROTO_ICMP)
			echo = icmp->type == SVR_ICMP_ECHO || icmp->type == SVR_ICMP_ECHOREPLY;
		else
			echo = icmp->type == SVR_ICMPV6_ECHO_REQUEST ||
			       icmp->type == SVR_ICMPV6_ECHO_REPLY;
		if (!echo)
			return SVR_TC_NO_KEY;
		flow->key.src_port = icmp->identifier;
		return SVR_TC_KEY;
	}
	default:
		return SVR_TC_KEY;
	}
}

static __always_inline enum svr_tc_parse_result
svr_tc_parse_ipv4(void *data, void *data_end, __u32 off, struct svr_tc_flow *flow)
{
	struct iphdr *iph = data + off;

	if ((void *)(iph + 1) > data_end)
		return SVR_TC_SHORT;
	if (iph->version != 4 || iph->ihl < 5)
		return SVR_TC_NO_KEY;
	if (data + off + iph->ihl * 4 > data_end)
		return SVR_TC_SHORT;
	/* Only the first fragment has ports; XDP punts fragments, TC leaves them alone. */
	if (iph->frag_off & bpf_htons(SVR_IPV4_FRAG_MASK))
		return SVR_TC_NO_KEY;

	flow->l3_off = off;
	flow->dscp = iph->tos >> 2;
	flow->key.family = SVR_FAMILY_IPV4;
	flow->key.proto = iph->protocol;
	__builtin_memcpy(flow->key.src_addr, &iph->saddr, sizeof(iph->saddr));
	__builtin_memcpy(flow->key.dst_addr, &iph->daddr, sizeof(iph->daddr));
	return svr_tc_parse_l4(data, data_end, off + iph->ihl * 4, flow);
}

static __always_inline enum svr_tc_parse_result
svr_tc_parse_ipv6(void *data, void *data_end, __u32 off, struct svr_tc_flow *flow)
{
	struct ipv6hdr *ip6 = data + off;
	__u32 l4_off = off + sizeof(*ip6);
	__u8 nexthdr;

	if ((void *)(ip6 + 1) > data_end)
		return SVR_TC_SHORT;
	if (ip6->version != 6)
		return SVR_TC_NO_KEY;
	nexthdr = ip6->nexthdr;

#pragma unroll
	for (int i = 0; i < SVR_TC_MAX_IPV6_EXT_HEADERS; i++) {
		struct ipv6_opt_hdr *ext = data + l4_off;

		if (!svr_is_ipv6_ext(nexthdr))
			break;
		if (nexthdr == IPPROTO_FRAGMENT)
			return SVR_TC_NO_KEY;
		if ((void *)(ext + 1) > data_end)
			return SVR_TC_SHORT;
		nexthdr = ext->nexthdr;
		l4_off += (ext->hdrlen + 1) * 8;
	}
	if (svr_is_ipv6_ext(nexthdr))
		return SVR_TC_NO_KEY;

	flow->l3_off = off;
	flow->dscp = ((ip6->priority << 4) | (ip6->flow_lbl[0] >> 4)) >> 2;
	flow->key.family = SVR_FAMILY_IPV6;
	flow->key.proto = nexthdr;
	__builtin_memcpy(flow->key.src_addr, &ip6->saddr, sizeof(ip6->saddr));
	__builtin_memcpy(flow->key.dst_addr, &ip6->daddr, sizeof(ip6->daddr));
	return svr_tc_parse_l4(data, data_end, l4_off, flow);
}

static __always_inline enum svr_tc_parse_result svr_tc_parse(struct __sk_buff *skb,
							     struct svr_tc_flow *flow)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	__u32 off = sizeof(*eth);
	int tags = 0;
	__be16 proto;

	if ((void *)(eth + 1) > data_end)
		return SVR_TC_SHORT;
	proto = eth->h_proto;

	/* A tag the stack keeps out of the frame (VLAN TX offload) is the outer one. */
	if (skb->vlan_present) {
		flow->key.vlan_id = skb->vlan_tci & SVR_VLAN_VID_MASK;
		tags++;
	}
#pragma unroll
	for (int i = 0; i < SVR_TC_MAX_VLAN_TAGS; i++) {
		struct svr_vlan_hdr *vlan = data + off;

		if (!svr_is_vlan(proto))
			break;
		if (tags >= SVR_TC_MAX_VLAN_TAGS)
			return SVR_TC_NO_KEY;
		if ((void *)(vlan + 1) > data_end)
			return SVR_TC_SHORT;
		if (tags == 0)
			flow->key.vlan_id = bpf_ntohs(vlan->tci) & SVR_VLAN_VID_MASK;
		tags++;
		proto = vlan->encap_proto;
		off += sizeof(*vlan);
	}

	if (proto == bpf_htons(ETH_P_IP))
		return svr_tc_parse_ipv4(data, data_end, off, flow);
	if (proto == bpf_htons(ETH_P_IPV6))
		return svr_tc_parse_ipv6(data, data_end, off, flow);
	return SVR_TC_NO_KEY;
}

/* The session key of the packet, or false. Headers the stack left in paged data are pulled
 * into the linear area once and parsed again; a packet that is really truncated is not. */
static __always_inline bool svr_tc_flow_of(struct __sk_buff *skb, struct svr_tc_flow *flow)
{
	enum svr_tc_parse_result result = svr_tc_parse(skb, flow);
	__u32 pull_len;

	if (result != SVR_TC_SHORT)
		return result == SVR_TC_KEY;
	if (skb->data_end - skb->data >= skb->len)
		return false;
	pull_len = skb->len < SVR_TC_PULL_LEN ? skb->len : SVR_TC_PULL_LEN;
	if (bpf_skb_pull_data(skb, pull_len))
		return false;
	__builtin_memset(flow, 0, sizeof(*flow));
	return svr_tc_parse(skb, flow) == SVR_TC_KEY;
}

/* Rewrites the DS field keeping ECN. Helpers instead of direct packet writes: a direct
 * write would make the verifier unclone every skb (TCP clones each one it sends). */
static __always_inline bool svr_tc_set_dscp(struct __sk_buff *skb, const struct svr_tc_flow *flow,
					    __u8 dscp)
{
	__u32 off = flow->l3_off;
	__u8 head[2];

	if (bpf_skb_load_bytes(skb, off, head, sizeof(head)))
		return false;

	if (flow->key.family == SVR_FAMILY_IPV4) {
		__u8 tos = (dscp << 2) | (head[1] & SVR_ECN_MASK);
		__be16 old_word, new_word;

		__builtin_memcpy(&old_word, head, sizeof(old_word));
		head[1] = tos;
		__builtin_memcpy(&new_word, head, sizeof(new_word));
		/* The checksum write makes the header writable, so the store cannot fail after. */
		if (bpf_l3_csum_replace(skb, off + offsetof(struct iphdr, check), old_word,
					new_word, sizeof(new_word)))
			return false;
		return bpf_skb_store_bytes(skb, off + offsetof(struct iphdr, tos), &tos,
					   sizeof(tos), 0) == 0;
	}

	/* IPv6: version(4) | traffic class(8) | flow label(20); no header checksum. */
	__u8 traffic_class = (dscp << 2) | ((head[1] >> 4) & SVR_ECN_MASK);

	head[0] = (head[0] & 0xf0) | (traffic_class >> 4);
	head[1] = (traffic_class << 4) | (head[1] & 0x0f);
	return bpf_skb_store_bytes(skb, off, head, sizeof(head), 0) == 0;
}

static __always_inline void svr_tc_count(struct __sk_buff *skb, bool dscp_marked)
{
	__u32 ifindex = skb->ifindex;
	struct svr_iface *iface = bpf_map_lookup_elem(&ifaces, &ifindex);
	__u32 slot = iface && iface->stats_slot < SVR_MAX_STATS_SLOTS ? iface->stats_slot : 0;
	struct svr_stats *st = bpf_map_lookup_elem(&stats, &slot);

	if (!st)
		return;
	if (skb->ingress_ifindex) {
		st->tc_forwarded_packets++;
		st->tc_forwarded_bytes += skb->len;
		return;
	}
	st->tc_local_packets++;
	st->tc_local_bytes += skb->len;
	if (dscp_marked)
		st->tc_dscp_marked++;
}

SEC("tc")
int svr_tc_egress(struct __sk_buff *skb)
{
	struct svr_tc_flow flow = {};
	struct svr_session_value *session;
	bool dscp_marked = false;
	__u8 dscp;

	/* Sessions of SVR_LOCAL_ZONE are the router's own: a forwarded packet is not one. */
	if (skb->ingress_ifindex || !svr_tc_flow_of(skb, &flow))
		goto out;

	flow.key.ingress_ifindex = SVR_LOCAL_ZONE;
	session = svr_session_lookup(&flow.key);
	if (!session)
		goto out;

	session->last_seen_ns = bpf_ktime_get_ns();
	__sync_fetch_and_add(&session->packets, 1);
	__sync_fetch_and_add(&session->bytes, skb->len);
	/* No atomic OR on a byte: written only when a bit is new, so CPUs rarely race, and a
	 * bit lost to a race comes back with the next packet that carries it. */
	if ((session->tcp_state & flow.tcp_bits) != flow.tcp_bits)
		session->tcp_state |= flow.tcp_bits;

	/* Values above 63 are not DSCPs (contract: 0..63 or KEEP): treated as KEEP. */
	dscp = session->dscp;
	if (dscp <= SVR_DSCP_MAX && dscp != flow.dscp)
		dscp_marked = svr_tc_set_dscp(skb, &flow, dscp);
out:
	svr_tc_count(skb, dscp_marked);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
