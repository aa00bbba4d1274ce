/* SPDX-License-Identifier: MIT */
/*
 * Reading commands inside a poll() loop: libedit's line editing and
 * history on a terminal, plain lines from a pipe. Built without libedit
 * (IVSHMEM_WITH_LIBEDIT=OFF) a terminal gets plain lines and the prompt.
 */
#ifndef IVSHMEM_TOOLS_LINEIO_H
#define IVSHMEM_TOOLS_LINEIO_H

#include <stddef.h>

/* Called with each line (no newline), or NULL at end of input. */
typedef void (*lineio_fn)(char *line, void *ctx);

struct lineio {
	int tty;
	const char *prompt;
	lineio_fn fn;
	void *ctx;
	char buf[4096];
	size_t len;
};

/* Start reading stdin; on a terminal show 'prompt'. */
void lineio_start(struct lineio *io, const char *prompt, lineio_fn fn,
		  void *ctx);
/* stdin is readable: read what is there, calling fn per complete line. */
void lineio_read(struct lineio *io);
void lineio_stop(struct lineio *io);

#endif
