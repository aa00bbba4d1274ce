/* SPDX-License-Identifier: MIT */
/*
 * A scripted server breaking the setup sequence in every way we know of:
 * each connect must fail with its specific error, without crashing and
 * without leaving an fd behind.
 */
#include "fakeserver.h"
#include "peertest.h"

#define MAXSTEPS 16

struct bad_case {
	const char *name;
	int expect;
	struct fake_step script[MAXSTEPS];
};

static const struct bad_case cases[] = {
	{ "version 1", -EPROTONOSUPPORT, { F_MSG(1), F_MSG(3), F_END } },
	{ "version -1 with shm", -EPROTO, { F_MSGFD(-1, FD_SHM), F_END } },
	{ "version with an fd", -EPROTO, { F_EFD(0), F_END } },
	{ "id with an fd", -EPROTO, { F_MSG(0), F_EFD(3), F_END } },
	{ "id 65536", -EPROTO, { F_MSG(0), F_MSG(65536), F_END } },
	{ "id -2", -EPROTO, { F_MSG(0), F_MSG(-2), F_END } },
	{ "id -1", -EPROTO, { F_MSG(0), F_MSG(-1), F_END } },
	{ "id missing", -EPROTO,
	  { F_MSG(0), F_MSGFD(-1, FD_SHM), F_END } },
	{ "shm without fd", -EPROTO,
	  { F_MSG(0), F_MSG(3), F_MSG(-1), F_END } },
	{ "shm missing", -EPROTO,
	  { F_MSG(0), F_MSG(3), F_EFD(4), F_END } },
	{ "shm is an eventfd", -EPROTO,
	  { F_MSG(0), F_MSG(3), F_EFD(-1), F_END } },
	{ "shm is a pipe", -EPROTO,
	  { F_MSG(0), F_MSG(3), F_MSGFD(-1, FD_PIPE), F_END } },
	{ "shm of size 0", -EPROTO,
	  { F_MSG(0), F_MSG(3), F_MSGFD(-1, FD_SHM_EMPTY), F_END } },
	{ "shm of 5000 bytes", -EPROTO,
	  { F_MSG(0), F_MSG(3), F_MSGFD(-1, FD_SHM_ODD), F_END } },
	{ "shm read-only", -EACCES,
	  { F_MSG(0), F_MSG(3), F_MSGFD(-1, FD_SHM_RDONLY), F_END } },
	{ "shm O_PATH", -EBADF,
	  { F_MSG(0), F_MSG(3), F_MSGFD(-1, FD_SHM_OPATH), F_END } },
	{ "two fds on shm", -EPROTO,
	  { F_MSG(0), F_MSG(3), F_MSGFD(-1, FD_TWO), F_END } },
	{ "shm twice", -EPROTO,
	  { F_SETUP(3), F_MSGFD(-1, FD_SHM), F_END } },
	{ "two fds on a vector", -EPROTO,
	  { F_SETUP(3), F_EFD(1), F_MSGFD(3, FD_TWO), F_END } },
	{ "peer vector without fd", -EPROTO,
	  { F_SETUP(3), F_MSG(1), F_END } },
	{ "own vector without fd", -EPROTO,
	  { F_SETUP(3), F_MSG(3), F_END } },
	{ "peer id 65536", -EPROTO,
	  { F_SETUP(3), F_EFD(65536), F_END } },
	{ "peer id -7", -EPROTO,
	  { F_SETUP(3), F_EFD(-7), F_END } },
	{ "shm id after own vector", -EPROTO,
	  { F_SETUP(3), F_EFD(3), F_MSGFD(-1, FD_SHM), F_END } },
	{ "EOF before anything", -ECONNRESET, { F_END } },
	{ "EOF after version", -EPROTO, { F_MSG(0), F_END } },
	{ "EOF in the version", -EPROTO, { F_HALF(0) } },
	{ "EOF after shm", -EPROTO, { F_SETUP(3), F_END } },
	{ "EOF in a vector", -EPROTO, { F_SETUP(3), F_EFD(1), F_HALF(1) } },
	{ "EOF after peers", -EPROTO,
	  { F_SETUP(3), F_EFD(1), F_EFD(1), F_EFD(2), F_END } },
	{ "silence", -ETIMEDOUT, { F_HANG } },
	{ "silence after shm", -ETIMEDOUT, { F_SETUP(3), F_EFD(1), F_HANG } },
};

int main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct bad_case *c = &cases[i];
		struct ivshmem *iv = NULL;
		struct fake_server f;
		int base = tu_count_fds(0), rc;
		long long t0 = tu_now_ns(), ms;

		fake_start(&f, c->script);
		rc = ivshmem_connect(&iv, f.path, 2, 300);
		ms = (tu_now_ns() - t0) / 1000000;
		CHECK(rc == c->expect, "%s: got %d (%s), expected %d (%s)",
		      c->name, rc, strerror(-rc), c->expect,
		      strerror(-c->expect));
		CHECK(iv == NULL, "%s: *out set", c->name);
		if (rc == -ETIMEDOUT)
			CHECK(ms >= 290 && ms < 3000, "%s: %lld ms", c->name,
			      ms);
		else
			CHECK(ms < 3000, "%s: took %lld ms", c->name, ms);
		fake_stop(&f);
		CHECK(tu_count_fds(0) == base, "%s: %d fds, expected %d",
		      c->name, tu_count_fds(0), base);
		printf("ok: %s: %s\n", c->name, strerror(-rc));
	}
	return 0;
}
