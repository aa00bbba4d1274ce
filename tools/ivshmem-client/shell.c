/* SPDX-License-Identifier: MIT */
/*
 * The interactive shell: one poll() loop over stdin, the server socket and
 * our vectors, so notifications print while the user types. Lines come
 * through lineio: libedit on a terminal, raw from a pipe.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"
#include "lineio.h"

#define PROMPT "cmd> "

struct shell {
	struct ivshmem *iv;
	struct client_ring_out ring;
	struct lineio io;
	int status;
};

static void help(void)
{
	printf("help, ?            this text\n"
	       "dump               our id, memory, vectors and the peers\n"
	       "int PEER VECTOR    ring a peer's vector\n"
	       "int PEER all       ring all of a peer's vectors\n"
	       "int all            ring every vector of every peer\n"
	       "quit               leave\n"
	       "Separate commands on a line with ';'.\n");
}

/* One command; nonzero ends the shell. */
static int run_one(struct shell *sh, char *cmd)
{
	char *argv[4], *save = NULL;
	int argc = 0, peer, vector;

	for (char *t = strtok_r(cmd, " \t\r\n", &save); t && argc < 4;
	     t = strtok_r(NULL, " \t\r\n", &save))
		argv[argc++] = t;
	if (argc == 0)
		return 0;
	if (!strcmp(argv[0], "help") || !strcmp(argv[0], "?")) {
		help();
	} else if (!strcmp(argv[0], "dump")) {
		client_dump(sh->iv, stdout);
	} else if (!strcmp(argv[0], "quit") || !strcmp(argv[0], "exit")) {
		return 1;
	} else if (!strcmp(argv[0], "int")) {
		char target[64];

		if (argc == 2 && !strcmp(argv[1], "all"))
			snprintf(target, sizeof(target), "all");
		else if (argc == 3)
			snprintf(target, sizeof(target), "%s:%s", argv[1],
				 argv[2]);
		else
			target[0] = '\0';
		if (client_parse_target(target, &peer, &vector) < 0)
			printf("usage: int PEER VECTOR | int PEER all | "
			       "int all\n");
		else if (client_ring(sh->iv, peer, vector, &sh->ring) == 0)
			printf("rang %s\n", target);
	} else {
		printf("unknown command '%s'; try 'help'\n", argv[0]);
	}
	fflush(stdout);
	return 0;
}

/*
 * One line; nonzero ends the shell (NULL: end of input). As in QEMU's
 * client, ';' separates commands on a line.
 */
static int run(char *line, void *ctx)
{
	char *save = NULL;

	if (!line)
		return 1;
	for (char *c = strtok_r(line, ";", &save); c;
	     c = strtok_r(NULL, ";", &save))
		if (run_one(ctx, c))
			return 1;
	return 0;
}

/* News while the user may be typing: printed around the prompt. */
static int report(struct shell *sh)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int rc;

	if (!f)
		return client_report(sh->iv, stdout, NULL);
	rc = client_report(sh->iv, f, NULL);
	fclose(f);
	if (rc != 0)
		sh->io.done = 1; /* no prompt after the server went */
	lineio_news(&sh->io, text, len);
	free(text);
	return rc;
}

int client_shell(struct ivshmem *iv, unsigned limit, int verbose)
{
	struct shell sh = {
		.iv = iv,
		.ring = {
			.log = verbose ? stdout : NULL,
			.err = stdout,
			.prefix = "",
			.limit = limit,
		},
	};
	struct pollfd pfd[2 + IVSHMEM_MAX_VECTORS];
	unsigned nvec = ivshmem_vectors(iv);

	printf("joined as peer %d (%zu bytes of shared memory, %u %s)\n",
	       ivshmem_id(iv), ivshmem_size(iv), nvec,
	       cli_plural(nvec, "vector", "vectors"));
	if (verbose)
		client_dump(iv, stdout);
	client_present(iv, stdout);
	if (client_report(iv, stdout, NULL) == -ENOTCONN)
		return 1;
	lineio_start(&sh.io, PROMPT, run, &sh);
	while (!sh.io.done) {
		pfd[0] = (struct pollfd){ .fd = STDIN_FILENO,
					  .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = ivshmem_socket_fd(iv),
					  .events = POLLIN };
		for (unsigned v = 0; v < nvec; v++)
			pfd[2 + v] = (struct pollfd){
				.fd = ivshmem_vector_fd(iv, v),
				.events = POLLIN,
			};
		if (poll(pfd, 2 + nvec, -1) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "ivshmem-client: poll: %s\n",
				strerror(errno));
			sh.status = 1;
			break;
		}
		lineio_read(&sh.io, pfd[0].revents);
		if (report(&sh) == -ENOTCONN) {
			sh.status = 1;
			break;
		}
	}
	lineio_stop(&sh.io);
	return sh.status;
}
