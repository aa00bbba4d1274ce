/* SPDX-License-Identifier: MIT */
/*
 * A child process driven through its stdin and stdout (QEMU's -serial
 * stdio, ipm-shell): send lines, wait for text. Every console's transcript
 * is printed to stderr when the test exits, however it exits.
 */
#ifndef IVSHMEM_TESTS_CONSOLE_H
#define IVSHMEM_TESTS_CONSOLE_H

#include <stddef.h>
#include <sys/types.h>

#define CON_BUF (256 * 1024)

struct con {
	const char *name;
	pid_t pid;
	int in, out;		/* its stdin, its stdout and stderr */
	char buf[CON_BUF];	/* everything it printed, NUL-terminated */
	size_t len;
	size_t mark;		/* con_expect() searches from here */
};

/* Start argv (argv[0] a path) with pipes; fails the test on error. */
void con_spawn(struct con *c, const char *name, const char *const *argv);

/* Write one line (a newline is added); fails the test on error. */
void con_send(struct con *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Wait up to timeout_ms for text after the mark. Found: the mark moves
 * past it and the result points just after it in buf. NULL on timeout or
 * when the process exited first.
 */
const char *con_expect(struct con *c, const char *text, int timeout_ms);

/* con_expect() or fail the test, naming what did not come. */
const char *con_must(struct con *c, const char *text, int timeout_ms);

/* The number right after text (con_must(), then strtoull base 0). */
unsigned long long con_number_after(struct con *c, const char *text,
				    int timeout_ms);

/* Move the mark to the end of what has arrived (after reading for ms). */
void con_skip(struct con *c, int ms);

/* SIGKILL and reap it (also done at exit). */
void con_close(struct con *c);

#endif
