/* SPDX-License-Identifier: MIT */
/* Helpers shared by the tests: a private server, child processes, fds. */
#ifndef IVSHMEM_TESTS_TESTUTIL_H
#define IVSHMEM_TESTS_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

/* Fail the test with file:line and a message. */
#define CHECK(cond, ...) do {                                              \
	if (!(cond)) {                                                     \
		fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__,     \
			__LINE__, #cond);                                  \
		fprintf(stderr, __VA_ARGS__);                              \
		fprintf(stderr, "\n");                                     \
		exit(1);                                                   \
	}                                                                  \
} while (0)

/* Path of a built program, from the IVSHMEM_BUILD_DIR the tests get. */
const char *tu_bin(const char *name);

/* A fresh private directory under /tmp, removed by tu_cleanup(). */
const char *tu_tmpdir(void);

struct tu_server {
	pid_t pid;
	char socket_path[108];
	char shm_name[64];
	char log_path[256];
};

/*
 * Start ivshmem-server -F on a private socket and shm name with extra
 * arguments (NULL-terminated list, may be NULL), and wait until it accepts
 * connections (it writes a pid file once listening). Its stderr goes to
 * log_path. It is killed when the test exits. Exits the test on failure.
 */
void tu_server_start(struct tu_server *s, const char *const *extra_args);
/* The same with the server's RLIMIT_NOFILE (soft and hard) set to nofile. */
void tu_server_start_nofile(struct tu_server *s, const char *const *extra_args,
			    unsigned long nofile);
/* The same with the server's default region, a sealed memfd (no -M):
 * shm_name is then empty. */
void tu_server_start_default(struct tu_server *s,
			     const char *const *extra_args);
/* tu_server_start_default with another program file (e.g. a copy). */
void tu_server_start_prog(struct tu_server *s, const char *prog,
			  const char *const *extra_args);
/* SIGTERM and wait; returns its exit status (or 128+signal). */
int tu_server_stop(struct tu_server *s);

/* Run argv to completion; its stderr+stdout are captured into out
 * (NUL-terminated, truncated to outlen). Returns the exit status. */
int tu_run(const char *const *argv, char *out, size_t outlen, int timeout_s);
/* The same as user uid and group gid ((uid_t)-1 / (gid_t)-1: unchanged). */
int tu_run_as(const char *const *argv, uid_t uid, gid_t gid, char *out,
	      size_t outlen, int timeout_s);

/* Number of open fds of a process (pid 0 = this one). */
int tu_count_fds(pid_t pid);

/* Connect a blocking AF_UNIX stream socket; -errno on failure. */
int tu_connect(const char *path);

/* Monotonic time in nanoseconds. */
long long tu_now_ns(void);

#endif
