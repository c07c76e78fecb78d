/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The session lookup of the XDP and TC programs: hash, two buckets, tag compare, one record
 * compare per tag match. Every map access is an ARRAY lookup the verifier inlines: no helper
 * call on the path of an established session.
 */
#ifndef SVR_SESSION_LOOKUP_H
#define SVR_SESSION_LOOKUP_H

#include "svr_maps.h"

/*
 * The key's six words (svr_session_key_word), read field by field. The parser has just
 * written the key with 1- to 4-byte stores; a 64-bit load spanning several of them would wait
 * for them to reach the cache (no store-to-load forwarding), a few ns each. volatile keeps
 * the compiler from merging the reads back into 64-bit loads.
 */
static __always_inline void svr_session_key_words(const struct svr_session_key *key, __u64 *words)
{
	const volatile __u32 *src = (const volatile __u32 *)key->src_addr;
	const volatile __u32 *dst = (const volatile __u32 *)key->dst_addr;

	words[0] = *(const volatile __u32 *)&key->ingress_ifindex |
		   (__u64)*(const volatile __u16 *)&key->vlan_id << 32 |
		   (__u64)*(const volatile __u8 *)&key->family << 48 |
		   (__u64)*(const volatile __u8 *)&key->proto << 56;
	words[1] = src[0] | (__u64)src[1] << 32;
	words[2] = src[2] | (__u64)src[3] << 32;
	words[3] = dst[0] | (__u64)dst[1] << 32;
	words[4] = dst[2] | (__u64)dst[3] << 32;
	words[5] = *(const volatile __u16 *)&key->src_port |
		   (__u64)*(const volatile __u16 *)&key->dst_port << 16 |
		   (__u64)*(const volatile __u32 *)&key->pad0 << 32;
}

static __always_inline struct svr_session_value *
svr_session_lookup_words(const __u64 *words)
{
	struct svr_session_info *info;
	__u32 zero = 0;
	__u32 bucket_nr[2];
	__u64 hash;
	__u32 tag;
	int b, i;

	info = bpf_map_lookup_elem(&session_info, &zero);
	if (!info)
		return NULL;
	hash = svr_session_hash_words(words, info->seed);
	tag = svr_session_tag(hash);
	bucket_nr[0] = svr_session_bucket_a(hash, info->bucket_mask);
	bucket_nr[1] = svr_session_bucket_b(hash, info->bucket_mask);
	for (b = 0; b < 2; b++) {
		struct svr_session_bucket *bucket = bpf_map_lookup_elem(&session_index, &bucket_nr[b]);

		if (!bucket)
			return NULL;
		for (i = 0; i < SVR_SESSION_BUCKET_SLOTS; i++) {
			/* One load: the controller publishes and removes a slot with one store. */
			__u64 slot = *(volatile __u64 *)&bucket->slots[i];
			struct svr_session_record *record;
			__u32 record_nr;

			if ((__u32)(slot >> 32) != tag || (__u32)slot == 0)
				continue;
			record_nr = (__u32)slot - 1;
			record = bpf_map_lookup_elem(&sessions, &record_nr);
			if (record && svr_session_key_has_words(&record->key, words))
				return &record->value;
		}
	}
	return NULL;
}

/* The record's value for key, or NULL. */
static __always_inline struct svr_session_value *
svr_session_lookup(const struct svr_session_key *key)
{
	__u64 words[SVR_SESSION_KEY_WORDS];

	svr_session_key_words(key, words);
	return svr_session_lookup_words(words);
}

#endif /* SVR_SESSION_LOOKUP_H */
