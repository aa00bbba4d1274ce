/* SPDX-License-Identifier: MIT */
/*
 * The two systemd service protocols a daemon needs, without libsystemd:
 * socket activation (sd_listen_fds(3): LISTEN_PID, LISTEN_FDS, fds from 3)
 * and the notification socket (sd_notify(3): NOTIFY_SOCKET, a datagram
 * AF_UNIX socket, path or "@abstract"). Both are no-ops when the
 * environment does not ask for them, so a daemon calls them always.
 */
#ifndef IVSHMEM_SD_H
#define IVSHMEM_SD_H

#include <stddef.h>

/* The first fd passed by socket activation */
#define SD_LISTEN_FDS_START 3

/*
 * How many fds the service manager passed us (0 when none, or when they
 * were meant for another process: LISTEN_PID is not ours). They are
 * SD_LISTEN_FDS_START.. and are made close-on-exec. With unset_env the
 * variables are removed, so children do not take the fds for theirs.
 * -EINVAL when the variables are malformed.
 */
int sd_listen_fds_get(int unset_env);

/*
 * The same, with LISTEN_FDNAMES (colon-separated, one name per fd) copied
 * into names (NUL-terminated; "" when absent) before it is unset.
 * -ENAMETOOLONG when it does not fit.
 */
int sd_listen_fds_names(int unset_env, char *names, size_t len);

/*
 * Send state (e.g. "READY=1\nSTATUS=serving 2 peers") to NOTIFY_SOCKET.
 * 0 when sent, 0 as well when there is no NOTIFY_SOCKET, -errno when it
 * could not be sent. Never blocks.
 */
int sd_notify_state(const char *state);

/* The same with passing fds (e.g. "FDSTORE=1\nFDNAME=peer-3"). */
int sd_notify_fds(const char *state, const int *fds, size_t nfds);

#endif
