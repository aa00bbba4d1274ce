/* SPDX-License-Identifier: MIT */
#include "io.h"
#include "notify.h"

const char *notify_mode_name(enum notify_mode mode)
{
	return mode == NOTIFY_ITS ? "its" : "poll";
}

static void unmask_all(struct notify *n)
{
	for (unsigned v = 0; v < n->iv->vectors; v++)
		ivshmem_msix_mask(n->iv, v, 0);
}

static void poll_route(struct notify *n)
{
	for (unsigned v = 0; v < n->iv->vectors; v++) {
		n->sink[v] = 0;
		ivshmem_msix_route(n->iv, v, (uintptr_t)&n->sink[v], 1);
	}
}

/* Vectors the current mode has taken in but not handed out yet. */
static uint64_t rung(struct notify *n)
{
	uint64_t r = 0;

	if (n->mode == NOTIFY_ITS) {
		its_collect(n);
		return n->taken;
	}
	for (unsigned v = 0; v < n->iv->vectors; v++)
		if (n->sink[v])
			r |= 1ull << v;
	return r;
}

int notify_use(struct notify *n, enum notify_mode mode)
{
	uint64_t carry;
	int rc;

	/* Masked, a doorbell waits in the PBA until the new route is set. */
	for (unsigned v = 0; v < n->iv->vectors; v++)
		ivshmem_msix_mask(n->iv, v, 1);
	carry = rung(n);
	if (mode == NOTIFY_ITS) {
		if (!n->its_ready) {
			rc = its_init(n);
			if (rc) {	/* the old route still holds */
				unmask_all(n);
				return rc;
			}
			n->its_ready = 1;
		}
		its_route(n);
		n->taken = carry;
	} else {
		poll_route(n);
		for (unsigned v = 0; v < n->iv->vectors; v++)
			n->sink[v] = carry >> v & 1;
	}
	n->mode = mode;
	mb();
	/* Unmasking delivers what was rung meanwhile (its PBA bit). */
	unmask_all(n);
	return 0;
}

int notify_take(struct notify *n)
{
	if (n->mode == NOTIFY_ITS) {
		its_collect(n);
		if (n->taken) {
			int v = __builtin_ctzll(n->taken);

			n->taken &= n->taken - 1;
			return v;
		}
		return -1;
	}
	for (unsigned v = 0; v < n->iv->vectors; v++) {
		if (!n->sink[v])
			continue;
		/*
		 * Clear, then hand out: a doorbell after the clear sets the
		 * word again, so none is lost (several may merge into one,
		 * as with an eventfd).
		 */
		n->sink[v] = 0;
		mb();
		return (int)v;
	}
	return -1;
}

void notify_idle(struct notify *n)
{
	if (n->mode == NOTIFY_ITS)
		its_idle(n);
	else
		__asm__ volatile("yield");
}
