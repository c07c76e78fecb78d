/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What a fast-path stage decided, as one integer: verdict (enum svr_verdict) and the reason
 * (enum svr_drop_reason / svr_pass_reason / svr_punt_reason). Stages return SVR_NEXT to let
 * the packet go on; everything else goes to the program's single exit, which counts it.
 */
#ifndef SVR_OUTCOME_H
#define SVR_OUTCOME_H

#include "svr_stats.h"

#define SVR_NEXT (-1)
#define SVR_OUTCOME(verdict, reason) ((int)(((verdict) << 8) | (reason)))
#define SVR_FORWARD SVR_OUTCOME(SVR_VERDICT_FORWARD, 0)
#define SVR_DROP(reason) SVR_OUTCOME(SVR_VERDICT_DROP, SVR_DROP_##reason)
#define SVR_PASS(reason) SVR_OUTCOME(SVR_VERDICT_PASS, SVR_PASS_##reason)
#define SVR_PUNT(reason) SVR_OUTCOME(SVR_VERDICT_PUNT, SVR_PUNT_##reason)

static __always_inline __u32 svr_outcome_verdict(int outcome)
{
	return ((__u32)outcome >> 8) & 0xff;
}

static __always_inline __u32 svr_outcome_reason(int outcome)
{
	return (__u32)outcome & 0xff;
}

#endif /* SVR_OUTCOME_H */
