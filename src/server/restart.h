/* SPDX-License-Identifier: MIT */
/*
 * Restarting in place (SIGHUP, "ivshmem-ctl restart"): the server
 * re-executes the program file at the path it was started from, so an
 * upgraded binary takes over, and hands it everything it serves: the
 * listening and control sockets, the region, every peer's socket and
 * eventfds and the peer table. The fds survive exec (close-on-exec is
 * cleared for them); the rest goes in a versioned state in a memfd named
 * by IVSHMEM_SERVER_STATE. Before the exec, the new program is run once
 * in check mode on that same state: only when it accepts it does the
 * server exec; otherwise it says why and keeps serving.
 */
#ifndef IVSHMEM_SERVER_RESTART_H
#define IVSHMEM_SERVER_RESTART_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "listener.h"
#include "log.h"
#include "server.h"
#include "shm.h"
#include "state.h"

#define RESTART_ENV_STATE "IVSHMEM_SERVER_STATE"
#define RESTART_ENV_CHECK "IVSHMEM_SERVER_STATE_CHECK"
/* How long the new program may take to check the state. */
#define RESTART_CHECK_MS  10000

/* What main.c serves besides the peer table. */
struct restart_main {
	struct listener *lis, *ctl_lis;
	struct shm_region *shm;
	int activated;
	int daemonized;         /* logging to syslog */
	int pidfile_written;
	int64_t started;        /* CLOCK_REALTIME seconds of the first start */
	uint64_t restarts;      /* how many times it was re-executed */
	int reply_fd;           /* a control client waiting for the outcome */
};

/*
 * The program's path, resolved now, before an upgrade replaces the file
 * (afterwards /proc/self/exe names the old, deleted one): argv0 made
 * absolute when it names the file we run (symlinks in it kept), else
 * where /proc/self/exe points.
 */
int restart_prog_path(const char *argv0, char *buf, size_t len);

/*
 * Save everything, check the new program at prog, exec it. Returns only
 * when the restart did not happen (-errno, with err saying why); every fd
 * is then as before and the caller serves on.
 */
int restart_exec(const char *prog, char *const argv[], struct restart_main *m,
		 struct server *srv, const struct server_config *cfg,
		 const struct log_sink *log, char *err, size_t errlen);

/*
 * In the new program: take main's part of the state named by
 * IVSHMEM_SERVER_STATE (the variable is removed). 0 when there is none,
 * 1 with *m filled and *r at the peer table (for server_restore(), *body
 * to be freed after), -1 with err saying why.
 */
int restart_take(struct restart_main *m, const struct server_config *cfg,
		 uint8_t **body, struct st_rd *r, char *err, size_t errlen);

/* restart_take() on a state already read: main's part from r. */
int restart_take_main(struct restart_main *m, const struct server_config *cfg,
		      struct st_rd *r, char *err, size_t errlen);

/*
 * Write main's part of a state (as restart_exec() does) into b, with
 * the restart count as it is to be read back.
 */
void restart_save_main(struct st_buf *b, const struct restart_main *m,
		       const struct server_config *cfg, uint64_t restarts);

/* Whether this run only checks a state (RESTART_ENV_CHECK). */
int restart_check_mode(void);

#endif
