/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * DoS guard contract: map "dos_buckets" (BPF_MAP_TYPE_LRU_HASH), key svr_addr_key (the source
 * address), one token bucket per source that opens new sessions. Only packets about to be
 * punted as new sessions take tokens; established sessions are never limited.
 */
#ifndef SVR_DOS_H
#define SVR_DOS_H

#include "svr_common.h"

struct svr_token_bucket {
	__u64 tokens_milli;   /* host order; tokens × 1000, so low rates refill smoothly */
	__u64 last_refill_ns; /* CLOCK_MONOTONIC ns */
};

#endif /* SVR_DOS_H */
