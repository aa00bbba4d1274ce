/* SPDX-License-Identifier: MIT */
/* Our private view of the slot owners (view.c), for mailbox.c. */
#ifndef IVSHMEM_CORE_VIEW_H
#define IVSHMEM_CORE_VIEW_H

#include "ipmc.h"

/* The owner of slot s as we see it, filling an empty entry (0: none). */
uint64_t ipmc_view(struct ipmc *mb, unsigned s);
/* The slot of live peer id (its token in *owner), or -1. */
int ipmc_find(struct ipmc *mb, int id, uint64_t *owner);
/* Our view says slot s's owner is gone: forget it, free its word. */
void ipmc_slot_gone(struct ipmc *mb, unsigned s);
/* ops->peer_live, or -ENOTSUP without one. */
int ipmc_live(const struct ipmc *mb, int id);

#endif
