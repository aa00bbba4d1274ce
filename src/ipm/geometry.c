/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stddef.h>

#include "layout.h"

_Static_assert(sizeof(struct ipm_hdr) == IPM_LINE, "header line");
_Static_assert(sizeof(struct ipm_slot) == IPM_LINE, "slot line");
_Static_assert(sizeof(struct ipm_queue_ctl) == IPM_QUEUE_CTL, "queue ctl");
_Static_assert(IPM_LINE + IPM_MAX_SLOTS * IPM_LINE <= IPM_HEADER_SIZE,
	       "slot table fits the header");
_Static_assert(IPM_REC_HDR == 48, "record header");
_Static_assert(offsetof(struct ipm_rec, sum) ==
	       IPM_REC_SUMMED_OFF + IPM_REC_SUMMED_LEN, "summed bytes");

int ipm_geometry_compute(struct ipm_geometry *g, uint64_t size, unsigned slots)
{
	uint64_t pairs, stride;

	if (slots < IPM_MIN_SLOTS || slots > IPM_MAX_SLOTS)
		return -EINVAL;
	if (size <= IPM_HEADER_SIZE)
		return -ENOSPC;
	pairs = (uint64_t)slots * (slots - 1);
	stride = ((size - IPM_HEADER_SIZE) / pairs) & ~(uint64_t)(IPM_LINE - 1);
	if (stride < IPM_QUEUE_CTL + IPM_MIN_CAP)
		return -ENOSPC;
	g->slots = slots;
	g->region_size = size;
	g->queue_offset = IPM_HEADER_SIZE;
	g->queue_stride = stride;
	g->queue_cap = stride - IPM_QUEUE_CTL;
	return 0;
}
