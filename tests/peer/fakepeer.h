/* SPDX-License-Identifier: MIT */
/* A libivshmem peer joined to the scripted fake server, for the tests. */
#ifndef IVSHMEM_TESTS_FAKEPEER_H
#define IVSHMEM_TESTS_FAKEPEER_H

#include <stdio.h>

#include "fakeserver.h"
#include "peertest.h"

/* Connect to a fresh fake server playing script (F_SETUP(3)); rc 0. */
static inline struct ivshmem *fp_join(struct fake_server *f,
				      const struct fake_step *script,
				      unsigned vectors, int timeout_ms)
{
	struct ivshmem *iv;
	int rc;

	fake_start(f, script);
	rc = ivshmem_connect(&iv, f->path, vectors, timeout_ms);
	CHECK(rc == 0, "connect: %d (%s)", rc, strerror(-rc));
	CHECK(ivshmem_id(iv) == 3, "id %d", ivshmem_id(iv));
	CHECK(ivshmem_size(iv) == FAKE_SHM_SIZE, "size %zu", ivshmem_size(iv));
	return iv;
}

/* Close, stop the server, check no fd is left over base. */
static inline void fp_done(struct fake_server *f, struct ivshmem *iv,
			   int base, const char *name)
{
	ivshmem_close(iv);
	fake_stop(f);
	CHECK(tu_count_fds(0) == base, "%s: %d fds, expected %d", name,
	      tu_count_fds(0), base);
	printf("ok: %s\n", name);
}

#endif
