/* SPDX-License-Identifier: MIT */
/*
 * systemd's fd store (sd_notify FDSTORE=1), so that the fds outlive a
 * crash: with NOTIFY_SOCKET set and FDSTORE (systemd >= 254 sets it to
 * FileDescriptorStoreMax=; the unit sets it for older ones) above 0, the
 * server stores its listening socket (unless systemd made it), control
 * socket and region once serving, and each peer's socket and eventfds as
 * it joins (removed as it leaves), each under a name that says what it
 * is. When the service is started again after a crash, systemd passes
 * them back in LISTEN_FDS/LISTEN_FDNAMES, and fdstore_state() turns them
 * into the state a restart in place hands over.
 */
#ifndef IVSHMEM_SERVER_FDSTORE_H
#define IVSHMEM_SERVER_FDSTORE_H

#include <stddef.h>

#include "config.h"
#include "log.h"
#include "restart.h"
#include "server.h"
#include "state.h"

#define FDSTORE_PREFIX "ivs-"

struct fdstore {
	const struct log_sink *log;
	struct server_hooks hooks;
	unsigned long failed;   /* stores systemd did not take */
};

/* Whether the service manager keeps an fd store for us. */
int fdstore_enabled(void);

/*
 * Start storing: main's fds now (store_main: not after a restart, when
 * the store has them), and the peers' through the hooks as they come
 * and go.
 */
void fdstore_start(struct fdstore *f, const struct log_sink *log,
		   const struct restart_main *m, struct server *srv,
		   int store_main);

/* Whether LISTEN_FDNAMES names fds we stored. */
int fdstore_ours(const char *names);

/*
 * Build, from the n fds passed from SD_LISTEN_FDS_START with these names,
 * the state a restart in place would hand over (main's part, then the
 * peer table) into b. Fds that belong to no whole peer are closed. 0, or
 * -1 with err saying why.
 */
int fdstore_state(const char *names, int n, const struct server_config *cfg,
		  struct st_buf *b, char *err, size_t errlen);

#endif
