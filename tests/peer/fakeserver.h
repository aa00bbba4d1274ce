/* SPDX-License-Identifier: MIT */
/*
 * A scripted ivshmem server for the tests: a child process that accepts
 * one peer and sends it exactly the messages of a script, right or wrong.
 */
#ifndef IVSHMEM_TESTS_FAKESERVER_H
#define IVSHMEM_TESTS_FAKESERVER_H

#include <stdint.h>
#include <sys/types.h>

enum fake_op {
	FAKE_END,   /* close the connection (EOF) */
	FAKE_MSG,   /* one message, with the fd of .fd */
	FAKE_HALF,  /* the first half of a message, then EOF */
	FAKE_HANG,  /* send nothing more; wait for the peer to close */
};

enum fake_fd {
	FD_NONE,
	FD_EVENTFD,
	FD_SHM,         /* a 64K memfd */
	FD_SHM_SEALED,  /* a 64K memfd sealed against shrinking and growing */
	FD_SHM_GROW,    /* a 64K memfd sealed against growing only */
	FD_SHM_EMPTY,   /* size 0 */
	FD_SHM_ODD,     /* 5000 bytes: not whole pages */
	FD_SHM_RDONLY,  /* opened read-only: mmap fails with EACCES */
	FD_SHM_OPATH,   /* an O_PATH fd: fstat works, mmap fails (EBADF) */
	FD_PIPE,        /* not a regular file: a pipe's read end */
	FD_PIPE_W,      /* a pipe's write end whose read end is closed */
	FD_SOCK,        /* a socket whose other end is closed */
	FD_TWO,         /* two eventfds on one message */
};

struct fake_step {
	enum fake_op op;
	int64_t value;
	enum fake_fd fd;
};

#define F_MSG(v)      { FAKE_MSG, (v), FD_NONE }
#define F_MSGFD(v, f) { FAKE_MSG, (v), (f) }
#define F_EFD(v)      { FAKE_MSG, (v), FD_EVENTFD }
#define F_HALF(v)     { FAKE_HALF, (v), FD_NONE }
#define F_HANG        { FAKE_HANG, 0, FD_NONE }
#define F_END         { FAKE_END, 0, FD_NONE }
/* A correct start: version, id, shared memory. */
#define F_SETUP(id)   F_MSG(0), F_MSG(id), F_MSGFD(-1, FD_SHM)

#define FAKE_SHM_SIZE 65536

struct fake_server {
	pid_t pid;
	char path[108];
};

/* Listen on a fresh socket path and fork the child that plays script. */
void fake_start(struct fake_server *f, const struct fake_step *script);
/* Wait for the child (it ends when the script does or the peer closes). */
void fake_stop(struct fake_server *f);

#endif
