/* SPDX-License-Identifier: MIT */
#include "lineio.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#ifdef IVSHMEM_WITH_LIBEDIT
#include <editline/readline.h>
#endif

static void deliver(struct lineio *io, char *line)
{
	if (io->done)
		return;
	if (!line || io->fn(line, io->ctx))
		io->done = 1;
	if (!line)
		io->fn(NULL, io->ctx);
}

/* Without libedit a terminal edits lines itself; we show the prompt. */
static void show_prompt(struct lineio *io)
{
	fputs(io->prompt, stdout);
	fflush(stdout);
}

#ifdef IVSHMEM_WITH_LIBEDIT
/* libedit's callback interface takes no context pointer. */
static struct lineio *active;

static void on_line(char *line)
{
	struct lineio *io = active;

	if (!line)
		printf("\n"); /* Ctrl-D: end the prompt's line, as shells do */
	else if (*line)
		add_history(line);
	deliver(io, line);
	free(line);
	/*
	 * libedit prints the next prompt only when the next key comes:
	 * installing the handler again prints it now.
	 */
	if (!io->done)
		rl_callback_handler_install(io->prompt, on_line);
}
#endif

void lineio_start(struct lineio *io, const char *prompt, lineio_fn fn,
		  void *ctx)
{
	io->tty = isatty(STDIN_FILENO);
	io->done = io->skip = 0;
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

/* Split what a pipe (or a plain terminal) gave us into lines. */
static void read_plain(struct lineio *io)
{
	ssize_t n = read(STDIN_FILENO, io->buf + io->len,
			 sizeof(io->buf) - 1 - io->len);
	char *nl;

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		if (io->len && !io->skip) {
			io->buf[io->len] = '\0';
			io->len = 0;
			deliver(io, io->buf);
		}
		deliver(io, NULL);
		return;
	}
	io->len += (size_t)n;
	while (!io->done && (nl = memchr(io->buf, '\n', io->len))) {
		size_t take = (size_t)(nl - io->buf) + 1;
		char line[sizeof(io->buf)];

		memcpy(line, io->buf, take - 1);
		line[take - 1] = '\0';
		memmove(io->buf, io->buf + take, io->len - take);
		io->len -= take;
		if (!io->skip)
			deliver(io, line);
		io->skip = 0;
		if (io->tty && !io->done)
			show_prompt(io);
	}
	if (io->len == sizeof(io->buf) - 1) {
		/* Not its tail either: that is no command. */
		if (!io->skip)
			fprintf(stderr, "line too long, dropped\n");
		io->skip = 1;
		io->len = 0;
	}
}

/*
 * A terminal that is readable with nothing to read: an EOF (Ctrl-D typed
 * ahead while a command ran, with the terminal in cooked mode), or it hung
 * up with SIGHUP ignored. Left alone, we would poll it forever.
 */
static int tty_ended(short revents)
{
	int avail = 0;

	if (revents & (POLLHUP | POLLERR | POLLNVAL))
		return 1;
	return ioctl(STDIN_FILENO, FIONREAD, &avail) < 0 || avail == 0;
}

void lineio_read(struct lineio *io, short revents)
{
	if (io->done || !revents)
		return;
	if (io->tty && tty_ended(revents)) {
		deliver(io, NULL);
		return;
	}
#ifdef IVSHMEM_WITH_LIBEDIT
	if (io->tty) {
		rl_callback_read_char();
		return;
	}
#endif
	read_plain(io);
}

void lineio_news(struct lineio *io, const char *text, size_t len)
{
	if (!len)
		return;
	if (!io->tty || !isatty(STDOUT_FILENO)) {
		fwrite(text, 1, len, stdout);
		fflush(stdout);
		return;
	}
	printf("\r\033[K%.*s", (int)len, text);
	fflush(stdout);
	if (io->done)
		return;
#ifdef IVSHMEM_WITH_LIBEDIT
	rl_forced_update_display();
#else
	show_prompt(io);
#endif
}

void lineio_stop(struct lineio *io)
{
#ifdef IVSHMEM_WITH_LIBEDIT
	if (io->tty)
		rl_callback_handler_remove();
	active = NULL;
#endif
	(void)io;
}
