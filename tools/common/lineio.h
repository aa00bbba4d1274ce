/* SPDX-License-Identifier: MIT */
/*
 * Reading commands inside a poll() loop: libedit's line editing and
 * history on a terminal, plain lines from a pipe. Built without libedit
 * (IVSHMEM_WITH_LIBEDIT=OFF) a terminal gets plain lines and the prompt.
 */
#ifndef IVSHMEM_TOOLS_LINEIO_H
#define IVSHMEM_TOOLS_LINEIO_H

#include <stddef.h>

/*
 * Called with each line (no newline), or NULL at the end of input.
 * Returns nonzero when no more lines are wanted (e.g. "quit").
 */
typedef int (*lineio_fn)(char *line, void *ctx);

struct lineio {
	int tty;
	int done;        /* end of input, or fn asked to stop */
	int skip;        /* dropping the rest of a too long line */
	const char *prompt;
	lineio_fn fn;
	void *ctx;
	char buf[4096];
	size_t len;
};

/* Start reading stdin; on a terminal show 'prompt'. */
void lineio_start(struct lineio *io, const char *prompt, lineio_fn fn,
		  void *ctx);
/*
 * poll() said something about stdin (its revents): read what is there,
 * calling fn per complete line. A terminal that hung up, or is readable
 * with nothing to read, is the end of input.
 */
void lineio_read(struct lineio *io, short revents);
/*
 * Print len bytes of news while the user may be typing: on a terminal
 * clear the prompt's line, print, then draw the prompt and what was typed
 * again (unless the input is done).
 */
void lineio_news(struct lineio *io, const char *text, size_t len);
void lineio_stop(struct lineio *io);

#endif
