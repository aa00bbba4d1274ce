/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the command-line tests: servers on paths the test chooses,
 * a raw protocol peer that only takes the shared memory, "nothing was
 * touched" checks, and cleanup of servers and shm objects at exit.
 */
#ifndef IVSHMEM_TESTS_CLI_UTIL_H
#define IVSHMEM_TESTS_CLI_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "testutil.h"

/* The server binary. */
const char *cli_server_bin(void);
/*
 * The server binary as user uid can run it: a copy outside the build tree
 * (which may sit under a 0700 directory) when uid is not us.
 */
const char *cli_server_bin_as(uid_t uid);

/*
 * Fill s with a socket path in the test's tmpdir and a shm name, both
 * unique to this process and 'tag'. Both are removed at exit if left.
 */
void cli_names(struct tu_server *s, const char *tag);

/*
 * Start ivshmem-server -F -S s->socket_path -M s->shm_name plus extra
 * (NULL-terminated, may be NULL) and wait until it accepts connections.
 * The server is killed at exit if the test did not stop it.
 */
void cli_start(struct tu_server *s, const char *const *extra);

/* Send sig and wait; returns the exit status (or 128+signal). */
int cli_stop(struct tu_server *s, int sig);

/* Kill pid with SIGKILL at exit unless it is gone by then. */
void cli_track_pid(pid_t pid);
/* shm_unlink(name) at exit. */
void cli_track_shm(const char *name);

/* A raw peer: connected, with its id and the shared memory mapped. */
struct cli_peer {
	int sock;
	int64_t id;
	int shm_fd;
	uint64_t size;
	unsigned char *mem;
};

/* Connect and read the greeting up to the shm fd; CHECKs on failure. */
void cli_peer_join(struct cli_peer *p, const char *socket_path);
void cli_peer_leave(struct cli_peer *p);

/* Does the path (lstat) / the POSIX shm object exist? */
int cli_path_exists(const char *path);
int cli_shm_exists(const char *name);
/* Inode of a path or shm object, 0 when missing. */
ino_t cli_path_ino(const char *path);
ino_t cli_shm_ino(const char *name);

/*
 * Run argv (NULL-terminated) to completion as 'uid'/'gid' (-1: as we
 * are), capturing stdout+stderr into out. Returns the exit status.
 */
int cli_run_as(const char *const *argv, uid_t uid, gid_t gid, char *out,
	       size_t outlen, int timeout_s);

/*
 * Run the server with args (NULL-terminated, after the program name) and
 * check that it fails with a normal exit status != 0, that its output
 * contains every string of 'needles' (NULL-terminated), and that neither
 * socket_path nor shm_name (either may be NULL) was created.
 */
void cli_expect_fail_as(const char *const *args, const char *const *needles,
			const char *socket_path, const char *shm_name,
			uid_t uid, gid_t gid);
#define cli_expect_fail(args, needles, sock, shm) \
	cli_expect_fail_as(args, needles, sock, shm, (uid_t)-1, (gid_t)-1)

#define CLI_ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })

#endif
