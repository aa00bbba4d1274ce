/* SPDX-License-Identifier: MIT */
/* The server's settings, as given on the command line. */
#ifndef IVSHMEM_SERVER_CONFIG_H
#define IVSHMEM_SERVER_CONFIG_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define SERVER_DEFAULT_SOCKET   "/tmp/ivshmem_socket"
#define SERVER_DEFAULT_SHM      "/ivshmem"
#define SERVER_DEFAULT_PIDFILE  "/var/run/ivshmem-server.pid"
#define SERVER_DEFAULT_SIZE     (4u << 20)
#define SERVER_DEFAULT_VECTORS  1
#define SERVER_MIN_SIZE         4096u
#define SERVER_DEFAULT_SLACK    4096u

struct server_config {
	int verbosity;          /* -1 quiet, 0 default, 1+ verbose */
	int foreground;
	const char *pid_file;   /* NULL: none */
	const char *socket_path;
	const char *shm_name;   /* -M: POSIX shm name, or NULL */
	const char *shm_dir;    /* -m: a directory, or NULL */
				/* neither: a sealed memfd */
	uint64_t shm_size;
	unsigned vectors;
	unsigned max_peers;
	unsigned queue_slack;   /* queued messages allowed beyond a full setup */
	mode_t socket_mode;     /* (mode_t)-1: as the umask gives */
	uid_t socket_uid;       /* (uid_t)-1: unchanged */
	gid_t socket_gid;
	mode_t shm_mode;
	uid_t shm_uid;
	gid_t shm_gid;
};

/*
 * Parse argv into cfg. Returns 0 to run, 1 when help or version was
 * printed on 'out' (exit 0), or -1 after printing the usage error on
 * stderr (exit CLI_EXIT_USAGE).
 */
int config_parse(struct server_config *cfg, int argc, char **argv, FILE *out);

#endif
