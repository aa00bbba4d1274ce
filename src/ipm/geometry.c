/* SPDX-License-Identifier: MIT */
#include <stddef.h>

#include "ipmc_layout.h"
#include "layout.h"

/* layout.h's _Atomic view of the lines is the core's layout. */
_Static_assert(sizeof(struct ipm_hdr) == sizeof(struct ipmc_hdr), "header");
_Static_assert(sizeof(struct ipm_slot) == sizeof(struct ipmc_slot), "slot");
_Static_assert(sizeof(struct ipm_queue_ctl) == sizeof(struct ipmc_qctl),
	       "queue ctl");
_Static_assert(offsetof(struct ipm_queue_ctl, tail_check) ==
	       offsetof(struct ipmc_qctl, tail_check), "tail_check");
_Static_assert(offsetof(struct ipm_slot, bye) ==
	       offsetof(struct ipmc_slot, bye), "bye");
_Static_assert(offsetof(struct ipm_slot, stats) ==
	       offsetof(struct ipmc_slot, stats) &&
	       sizeof(((struct ipm_slot *)0)->stats) ==
	       IPMC_STATS_WORDS * sizeof(uint64_t), "stats");
_Static_assert(sizeof(struct ipm_rec) == sizeof(struct ipmc_rec), "record");
_Static_assert(offsetof(struct ipm_rec, sum) ==
	       IPM_REC_SUMMED_OFF + IPM_REC_SUMMED_LEN, "summed bytes");
_Static_assert(IPM_HEADER_SIZE == IPMC_HEADER_SIZE &&
	       IPM_MAGIC == IPMC_MAGIC && IPM_LAYOUT_VERSION == IPMC_VERSION,
	       "header constants");

int ipm_geometry_compute(struct ipm_geometry *g, uint64_t size, unsigned slots)
{
	struct ipmc_geometry c;
	int rc = ipmc_geometry(&c, size, slots);

	if (rc < 0)
		return rc;
	*g = (struct ipm_geometry){
		.slots = c.slots, .region_size = c.region_size,
		.queue_offset = c.queue_offset, .queue_stride = c.queue_stride,
		.queue_cap = c.queue_cap,
	};
	return 0;
}
