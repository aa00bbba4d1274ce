/* SPDX-License-Identifier: MIT */
/* The shared memory object the server hands to every peer. */
#ifndef IVSHMEM_SERVER_SHM_H
#define IVSHMEM_SERVER_SHM_H

#include <stddef.h>
#include <sys/types.h>

#include "config.h"

struct shm_region {
	int fd;          /* handed to peers */
	int lock_fd;     /* private open of the same object, flock()ed */
	char name[256];  /* POSIX shm name, "" for a memfd or -m (unlinked) */
	int sealed;      /* a memfd, sealed against shrinking and growing */
	dev_t dev;
	ino_t ino;
};

/*
 * Create a fresh, zeroed object of cfg->shm_size bytes with cfg's
 * permissions. An object of the same name left by a dead server is
 * replaced; one held by a running server is left alone (-EBUSY).
 * On failure nothing is left behind and 'err' says why.
 */
int shm_region_create(struct shm_region *r, const struct server_config *cfg,
		      char *err, size_t errlen);

/* Close; remove the name too if it still names our object. */
void shm_region_destroy(struct shm_region *r);

#endif
