/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Session table contract: three pinned ARRAY maps the programs read without a helper call.
 *
 *   sessions        records (key, state, value), one per direction of a session, indexed by
 *                   record number; BPF_F_MMAPABLE: the controller writes them in place.
 *   session_index   buckets of SVR_SESSION_BUCKET_SLOTS slots, one cache line each; a slot
 *                   holds a key's 32-bit tag and its record number + 1 (0: empty). A key may
 *                   sit in either of two buckets chosen by its hash (two-choice hashing: at
 *                   most half the slots in use, a full bucket pair is practically never met).
 *                   BPF_F_MMAPABLE.
 *   session_info    one entry: the hash seed and the bucket mask, written once when the
 *                   table is created and kept while it stays pinned; BPF_F_MMAPABLE.
 *
 * Why not a BPF HASH: its lookup is a call into the kernel (jhash of the key, a bucket walk,
 * memcmp), ~40 ns of the ~95 ns the whole program takes per forwarded packet on this
 * machine's CPUs (return thunks); ARRAY lookups are inlined by the verifier, so the program
 * hashes and probes the table itself. The controller owns the lifecycle: it writes a record,
 * then publishes its slot with one 64-bit store; it removes a slot before it frees the
 * record. A full table refuses new sessions instead of evicting live ones.
 *
 * The XDP program updates last_seen_ns, tcp_state and the counters of the record it reached.
 * As with the kernel's preallocated HASH, a record freed while a program still reads it may
 * be reused at once: the program then sees another key (its compare fails: a miss) or the
 * same key newly installed.
 */
#ifndef SVR_SESSION_H
#define SVR_SESSION_H

#include "svr_common.h"

/* ingress_ifindex of sessions that originate in the router's own stack (TC egress). */
#define SVR_LOCAL_ZONE 0

/* session_id at and above this: installed by hand (svrctl session add); svrd numbers its own
 * sessions from 1 below it, so the two never take the same id. */
#define SVR_SESSION_ID_MANUAL_BASE 0x8000000000000000ULL

/* Six aligned 64-bit words: hashed and compared word by word. */
struct svr_session_key {
	__u32 ingress_ifindex;         /* host order; SVR_LOCAL_ZONE for locally originated */
	__u16 vlan_id;                 /* host order; outer 802.1Q VID, 0 = untagged */
	__u8 family;                   /* SVR_FAMILY_* */
	__u8 proto;                    /* IPPROTO_TCP, _UDP, _ICMP, _ICMPV6 */
	__u8 src_addr[SVR_ADDR_LEN];   /* network order; IPv4 in bytes 0..3, rest zero */
	__u8 dst_addr[SVR_ADDR_LEN];   /* network order */
	__be16 src_port;               /* network order; ICMP echo: the identifier */
	__be16 dst_port;               /* network order; ICMP echo: 0 */
	__u32 pad0;                    /* zero */
} __attribute__((aligned(8)));

#define SVR_SESSION_KEY_WORDS 6

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

/* record state: the controller's, for claiming free records and listing live ones. */
#define SVR_RECORD_FREE    0
#define SVR_RECORD_CLAIMED 1 /* being written, not yet (or no longer) in the index */
#define SVR_RECORD_LIVE    2

struct svr_session_record {
	struct svr_session_key key;
	__u32 state;     /* SVR_RECORD_*; written by the controller only */
	__u32 pad0;      /* zero */
	struct svr_session_value value;
};

#define SVR_SESSION_BUCKET_SLOTS 8

/* One cache line. slot: tag << 32 | (record number + 1); 0 = empty. */
struct svr_session_bucket {
	__u64 slots[SVR_SESSION_BUCKET_SLOTS];
} __attribute__((aligned(64)));

/* BPF_F_MMAPABLE too: the controllers' shared counters live here. */
struct svr_session_info {
	__u64 seed;         /* hash seed, random per table */
	__u32 bucket_mask;  /* buckets - 1 (a power of two); 0 until the table is initialised */
	__u32 records;      /* max_entries of sessions */
	__u32 live;         /* records claimed or live (controllers only, atomic) */
	__u32 next_record;  /* where the next claim starts looking (controllers only, atomic) */
};

/*
 * The key's hash, the same in the programs and the controller: six independent multiplies
 * (one per word, so they run in parallel) summed, the high half folded into the low: it is on
 * the path of every packet, so no serial finaliser.
 * Seeded; not a keyed PRF: a flood of colliding keys can at worst fill one bucket pair and
 * be refused (every bucket holds a bounded number of slots), never slow other lookups.
 */
#ifdef __bpf__
#define SVR_SESSION_INLINE static __always_inline
#else
#define SVR_SESSION_INLINE static inline
#endif

SVR_SESSION_INLINE __u64 svr_session_key_word(const struct svr_session_key *key, int word)
{
	__u64 value;

	/* The key is 8-byte aligned: one load per word (else BPF gets eight byte loads). */
	__builtin_memcpy(&value, __builtin_assume_aligned((const __u8 *)key + 8 * word, 8),
			 sizeof(value));
	return value;
}

/* The hash of a key given as its six words (svr_session_key_word 0..5). */
SVR_SESSION_INLINE __u64 svr_session_hash_words(const __u64 *words, __u64 seed)
{
	__u64 h = seed;

	h += (words[0] ^ seed) * 0x9e3779b97f4a7c15ULL;
	h += (words[1] ^ seed) * 0xc2b2ae3d27d4eb4fULL;
	h += (words[2] ^ seed) * 0x165667b19e3779f9ULL;
	h += (words[3] ^ seed) * 0xd6e8feb86659fd93ULL;
	h += (words[4] ^ seed) * 0xff51afd7ed558ccdULL;
	h += (words[5] ^ seed) * 0xc4ceb9fe1a85ec53ULL;
	/* The high half depends on every bit of every word (a product's high bits depend on all
	 * of its factor's bits); fold it into the low half the buckets are taken from. */
	h ^= h >> 32;
	return h;
}

SVR_SESSION_INLINE __u64 svr_session_hash(const struct svr_session_key *key, __u64 seed)
{
	__u64 words[SVR_SESSION_KEY_WORDS];
	int word;

	for (word = 0; word < SVR_SESSION_KEY_WORDS; word++)
		words[word] = svr_session_key_word(key, word);
	return svr_session_hash_words(words, seed);
}

/* The tag stored in a slot and the two candidate buckets (equal now and then: harmless). */
SVR_SESSION_INLINE __u32 svr_session_tag(__u64 hash)
{
	return (__u32)(hash >> 32);
}

SVR_SESSION_INLINE __u32 svr_session_bucket_a(__u64 hash, __u32 bucket_mask)
{
	return (__u32)hash & bucket_mask;
}

SVR_SESSION_INLINE __u32 svr_session_bucket_b(__u64 hash, __u32 bucket_mask)
{
	return (__u32)(hash >> 24) & bucket_mask;
}

SVR_SESSION_INLINE __u64 svr_session_slot(__u32 tag, __u32 record)
{
	return ((__u64)tag << 32) | (__u64)(record + 1);
}

/* Whether a stored key has these six words. */
SVR_SESSION_INLINE int svr_session_key_has_words(const struct svr_session_key *key,
						 const __u64 *words)
{
	int word;
	__u64 diff = 0;

	for (word = 0; word < SVR_SESSION_KEY_WORDS; word++)
		diff |= svr_session_key_word(key, word) ^ words[word];
	return diff == 0;
}

#endif /* SVR_SESSION_H */
