/* SPDX-License-Identifier: MIT */
/*
 * The interactive shell: one poll() loop over stdin, the server socket and
 * our vectors, so notifications print while the user types. On a terminal
 * libedit gives line editing and history; from a pipe lines are read raw.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <editline/readline.h>

#include "client.h"

#define PROMPT "cmd> "

struct shell {
	struct ivshmem *iv;
	int tty;
	int done;
	int status;
	int skip;		/* dropping the rest of a too long line */
	char buf[4096];
	size_t len;
};

/* libedit's callback interface takes no context pointer. */
static struct shell *active;

static void help(void)
{
	printf("help               this text\n"
	       "dump               our id, memory, vectors and the peers\n"
	       "int PEER VECTOR    ring a peer's vector\n"
	       "int PEER all       ring all of a peer's vectors\n"
	       "int all            ring every vector of every peer\n"
	       "quit               leave\n");
}

static void run(struct shell *sh, char *line)
{
	char *argv[4], *save = NULL;
	int argc = 0, peer, vector;

	for (char *t = strtok_r(line, " \t\r\n", &save); t && argc < 4;
	     t = strtok_r(NULL, " \t\r\n", &save))
		argv[argc++] = t;
	if (argc == 0)
		return;
	if (!strcmp(argv[0], "help")) {
		help();
	} else if (!strcmp(argv[0], "dump")) {
		client_dump(sh->iv, stdout);
	} else if (!strcmp(argv[0], "quit") || !strcmp(argv[0], "exit")) {
		sh->done = 1;
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
		else if (client_ring(sh->iv, peer, vector, stdout) == 0)
			printf("rang %s\n", target);
	} else {
		printf("unknown command '%s'; try 'help'\n", argv[0]);
	}
	fflush(stdout);
}

static void on_line(char *line)
{
	if (!line) {
		/* Ctrl-D: end the prompt's line, as a shell does. */
		printf("\n");
		active->done = 1;
		return;
	}
	if (*line)
		add_history(line);
	run(active, line);
	free(line);
	/*
	 * libedit prints the next prompt only when the next key comes:
	 * installing the handler again prints it now.
	 */
	if (!active->done)
		rl_callback_handler_install(PROMPT, on_line);
}

/* Split what a pipe gave us into lines; EOF ends the shell. */
static void read_pipe(struct shell *sh)
{
	ssize_t n = read(STDIN_FILENO, sh->buf + sh->len,
			 sizeof(sh->buf) - 1 - sh->len);
	char *nl;

	if (n <= 0) {
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			return;
		if (sh->len && !sh->skip) {
			sh->buf[sh->len] = '\0';
			run(sh, sh->buf);
		}
		sh->done = 1;
		return;
	}
	sh->len += (size_t)n;
	sh->buf[sh->len] = '\0';
	while (!sh->done && (nl = memchr(sh->buf, '\n', sh->len))) {
		size_t take = (size_t)(nl - sh->buf) + 1;

		*nl = '\0';
		if (!sh->skip)
			run(sh, sh->buf);
		sh->skip = 0;
		memmove(sh->buf, sh->buf + take, sh->len - take);
		sh->len -= take;
	}
	if (sh->len == sizeof(sh->buf) - 1) {
		/* Not its tail either: that is no command. */
		if (!sh->skip)
			printf("line too long, dropped\n");
		fflush(stdout);
		sh->skip = 1;
		sh->len = 0;
	}
}

/*
 * A terminal that is readable with nothing to read: an EOF (Ctrl-D typed
 * ahead while a command ran, with the terminal in cooked mode), or it
 * hung up with SIGHUP ignored.
 */
static int tty_eof(void)
{
	int avail = 0;

	return ioctl(STDIN_FILENO, FIONREAD, &avail) < 0 || avail == 0;
}

/*
 * News while the user may be typing: on a terminal, clear the prompt's
 * line, print, and draw the prompt and what was typed again.
 */
static int report(struct shell *sh)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	if (!sh->tty || !isatty(STDOUT_FILENO))
		return client_report(sh->iv, stdout, NULL);
	f = open_memstream(&text, &len);
	if (!f)
		return client_report(sh->iv, stdout, NULL);
	rc = client_report(sh->iv, f, NULL);
	fclose(f);
	if (len) {
		printf("\r\033[K%s", text);
		fflush(stdout);
		if (rc == 0)
			rl_forced_update_display();
	}
	free(text);
	return rc;
}

int client_shell(struct ivshmem *iv, int verbose)
{
	struct shell sh = { .iv = iv, .tty = isatty(STDIN_FILENO) };
	struct pollfd pfd[2 + IVSHMEM_MAX_VECTORS];
	unsigned nvec = ivshmem_vectors(iv);

	active = &sh;
	printf("joined as peer %d (%zu bytes of shared memory, %u vectors)\n",
	       ivshmem_id(iv), ivshmem_size(iv), nvec);
	if (verbose)
		client_dump(iv, stdout);
	client_present(iv, stdout);
	if (client_report(iv, stdout, NULL) == -ENOTCONN)
		return 1;
	if (sh.tty)
		rl_callback_handler_install(PROMPT, on_line);
	while (!sh.done) {
		int hup;

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
		hup = pfd[0].revents & (POLLHUP | POLLERR | POLLNVAL);
		if (sh.tty && pfd[0].revents && (hup || tty_eof())) {
			/*
			 * libedit reads nothing then and says nothing: left
			 * alone, we would poll a readable fd forever.
			 */
			sh.done = 1;
		} else if (pfd[0].revents) {
			if (sh.tty)
				rl_callback_read_char();
			else
				read_pipe(&sh);
		}
		if (report(&sh) == -ENOTCONN) {
			sh.status = 1;
			break;
		}
	}
	if (sh.tty)
		rl_callback_handler_remove();
	active = NULL;
	return sh.status;
}
