/* SPDX-License-Identifier: MIT */
#include "lineio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef IVSHMEM_WITH_LIBEDIT
#include <editline/readline.h>
#endif

#ifdef IVSHMEM_WITH_LIBEDIT
/* libedit's callback interface takes no context pointer. */
static struct lineio *active;

static void on_line(char *line)
{
	struct lineio *io = active;

	if (line && *line)
		add_history(line);
	io->fn(line, io->ctx);
	free(line);
}
#endif

/* Without libedit a terminal edits lines itself; we show the prompt. */
static void show_prompt(struct lineio *io)
{
	fputs(io->prompt, stdout);
	fflush(stdout);
}

void lineio_start(struct lineio *io, const char *prompt, lineio_fn fn,
		  void *ctx)
{
	io->tty = isatty(STDIN_FILENO);
	io->prompt = prompt;
	io->fn = fn;
	io->ctx = ctx;
	io->len = 0;
#ifdef IVSHMEM_WITH_LIBEDIT
	active = io;
	if (io->tty) {
		rl_callback_handler_install(prompt, on_line);
		return;
	}
#endif
	if (io->tty)
		show_prompt(io);
}

static void read_pipe(struct lineio *io)
{
	ssize_t n = read(STDIN_FILENO, io->buf + io->len,
			 sizeof(io->buf) - 1 - io->len);
	char *nl;

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		if (io->len) {
			io->buf[io->len] = '\0';
			io->len = 0;
			io->fn(io->buf, io->ctx);
		}
		io->fn(NULL, io->ctx);
		return;
	}
	io->len += (size_t)n;
	while ((nl = memchr(io->buf, '\n', io->len))) {
		size_t take = (size_t)(nl - io->buf) + 1;
		char line[sizeof(io->buf)];

		memcpy(line, io->buf, take - 1);
		line[take - 1] = '\0';
		memmove(io->buf, io->buf + take, io->len - take);
		io->len -= take;
		io->fn(line, io->ctx);
		if (io->tty)
			show_prompt(io);
	}
	if (io->len == sizeof(io->buf) - 1) {
		fprintf(stderr, "line too long, dropped\n");
		io->len = 0;
	}
}

void lineio_read(struct lineio *io)
{
#ifdef IVSHMEM_WITH_LIBEDIT
	if (io->tty) {
		rl_callback_read_char();
		return;
	}
#endif
	read_pipe(io);
}

void lineio_stop(struct lineio *io)
{
#ifdef IVSHMEM_WITH_LIBEDIT
	if (io->tty)
		rl_callback_handler_remove();
	active = NULL;
#endif
}
