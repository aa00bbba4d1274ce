/* SPDX-License-Identifier: MIT */
/* ivshmem-client: what the command line and the interactive shell share. */
#ifndef IVSHMEM_TOOLS_CLIENT_H
#define IVSHMEM_TOOLS_CLIENT_H

#include <stdio.h>

#include <ivshmem/ivshmem.h>

#define CLIENT_ALL (-1)

/* Print our id, the memory, our vectors and every live peer with its. */
void client_dump(struct ivshmem *iv, FILE *out);

/* Where client_ring() reports, and what it needs to explain errors. */
struct client_ring_out {
	FILE *log;           /* a line per doorbell rung (-v), or NULL */
	FILE *err;           /* errors */
	const char *prefix;  /* before each error: "ivshmem-client: " or "" */
	unsigned limit;      /* -n, 0 for none: why a vector may be missing */
};

/*
 * Ring 'vector' of 'peer'; CLIENT_ALL for either means every peer / every
 * vector that peer has. 0 or -errno (printed to o->err).
 */
int client_ring(struct ivshmem *iv, int peer, int vector,
		const struct client_ring_out *o);

/* Parse "PEER:VECTOR", "PEER:all", "all:VECTOR" or "all". 0 or -EINVAL. */
int client_parse_target(const char *text, int *peer, int *vector);

/*
 * Print and drain what happened: server news (joins, leaves) and our
 * vectors' notifications. Returns -ENOTCONN once the server is gone.
 * *rung gets a bit per vector that was rung (may be NULL).
 */
int client_report(struct ivshmem *iv, FILE *out, unsigned long long *rung);

/*
 * Print and drop the events ivshmem_connect() queued: the peers that were
 * there before us, not joins. Call before the first client_report().
 */
void client_present(struct ivshmem *iv, FILE *out);

/*
 * The interactive shell: commands from stdin until EOF or "quit". limit
 * is -n (0: none), verbose -v's count.
 */
int client_shell(struct ivshmem *iv, unsigned limit, int verbose);

#endif
