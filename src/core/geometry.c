/* SPDX-License-Identifier: MIT */
/* Where the queues go for a number of slots, and how many slots fit. */
#include "core_errno.h"
#include "ipmc_layout.h"

int ipmc_geometry(struct ipmc_geometry *g, uint64_t size, unsigned slots)
{
	uint64_t pairs, stride;

	if (slots < IPMC_MIN_SLOTS || slots > IPMC_MAX_SLOTS)
		return -EINVAL;
	if (size <= IPMC_HEADER_SIZE)
		return -ENOSPC;
	pairs = (uint64_t)slots * (slots - 1);
	stride = ((size - IPMC_HEADER_SIZE) / pairs) &
		 ~(uint64_t)(IPMC_LINE - 1);
	if (stride < IPMC_QUEUE_CTL + IPMC_MIN_CAP)
		return -ENOSPC;
	g->slots = slots;
	g->region_size = size;
	g->queue_offset = IPMC_HEADER_SIZE;
	g->queue_stride = stride;
	g->queue_cap = stride - IPMC_QUEUE_CTL;
	return 0;
}

int ipmc_default_slots(uint64_t size)
{
	struct ipmc_geometry g;
	unsigned n = IPMC_MIN_SLOTS;

	if (ipmc_geometry(&g, size, n) < 0)
		return -ENOSPC;
	while (n < IPMC_MAX_SLOTS && ipmc_geometry(&g, size, n + 1) == 0 &&
	       g.queue_cap >= IPMC_USEFUL_CAP)
		n++;
	return (int)n;
}
