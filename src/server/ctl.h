/* SPDX-License-Identifier: MIT */
/*
 * The control socket (SOCK.ctl): ivshmem-ctl asks what the server holds
 * without joining as a peer. One request line per connection ("peers",
 * "status" or "restart"), answered with "ok" or "error WHY", then lines, then ".". The
 * server's loop serves it without ever blocking: each client gets a fixed
 * output buffer, refilled as its socket drains (a peer listing resumes at
 * the next id), and is dropped when it makes no progress for
 * CTL_TIMEOUT_MS (never sends a request, never reads the answer).
 */
#ifndef IVSHMEM_SERVER_CTL_H
#define IVSHMEM_SERVER_CTL_H

#include <stdint.h>

#include "log.h"
#include "server.h"

#define CTL_TIMEOUT_MS  2000
#define CTL_MAX_CLIENTS 16
#define CTL_SUFFIX      ".ctl"

/* What the status answer says about the server besides its counters. */
struct ctl_info {
	const char *version;
	const char *socket_path;
	const char *region;     /* "memfd", "posix-shm" or "file" */
	uint64_t region_size;
	unsigned vectors;
	int activated;          /* the listening socket came from systemd */
	int region_fd;          /* for "mailbox", reopened read-only */
	int64_t started;        /* CLOCK_REALTIME seconds (0: now) */
	uint64_t restarts;      /* re-executions so far */
};

struct ctl;

/*
 * Serve the listening socket listen_fd (non-blocking; not closed by us)
 * for srv. The ctl's own epoll fd is given to server_watch(): call
 * ctl_handle() when server_step() reports SERVER_STEP_WATCH, and after
 * each step while ctl_timeout_ms() is not -1.
 */
int ctl_create(struct ctl **out, int listen_fd, struct server *srv,
	       const struct ctl_info *info, const struct log_sink *log);
void ctl_handle(struct ctl *c);
/* Milliseconds until a client's deadline, -1 when no client is waiting. */
int ctl_timeout_ms(const struct ctl *c);
/*
 * A client that asked for "restart", taken out of the ctl (its fd is the
 * caller's to answer on and close), or -1 when none asked.
 */
int ctl_take_restart(struct ctl *c);
/* Answer a restart request that will not happen, and close fd. */
void ctl_restart_failed(int fd, const char *why);
/* Answer a restart request once restarted (in the new program). */
void ctl_restart_done(int fd, const char *version, uint64_t restarts);
void ctl_destroy(struct ctl *c);

#endif
