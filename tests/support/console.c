/* SPDX-License-Identifier: MIT */
#include "console.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#define MAX_CONS 8

static struct con *cons[MAX_CONS];

/* The transcripts: the record of a run, and what a failure needs. */
static void at_exit(void)
{
	for (int i = 0; i < MAX_CONS && cons[i]; i++) {
		struct con *c = cons[i];

		con_close(c);
		fprintf(stderr, "---- %s ----\n", c->name);
		for (size_t j = 0; j < c->len; j++)
			if (c->buf[j] != '\r')
				fputc(c->buf[j], stderr);
		fprintf(stderr, "%s---- end of %s ----\n",
			c->len && c->buf[c->len - 1] != '\n' ? "\n" : "",
			c->name);
	}
}

void con_spawn(struct con *c, const char *name, const char *const *argv)
{
	int to[2], from[2], i;

	for (i = 0; i < MAX_CONS && cons[i]; i++)
		;
	CHECK(i < MAX_CONS, "too many consoles");
	if (i == 0)
		atexit(at_exit);
	CHECK(pipe2(to, O_CLOEXEC) == 0 && pipe2(from, O_CLOEXEC) == 0,
	      "pipe: %s", strerror(errno));
	c->name = name;
	c->len = c->mark = 0;
	c->buf[0] = '\0';
	c->pid = fork();
	CHECK(c->pid >= 0, "fork: %s", strerror(errno));
	if (c->pid == 0) {
		dup2(to[0], STDIN_FILENO);
		dup2(from[1], STDOUT_FILENO);
		dup2(from[1], STDERR_FILENO);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(to[0]);
	close(from[1]);
	c->in = to[1];
	c->out = from[0];
	cons[i] = c;
}

void con_send(struct con *c, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	CHECK(n >= 0 && n < (int)sizeof(line) - 1, "line too long");
	line[n++] = '\n';
	CHECK(write(c->in, line, (size_t)n) == n, "write to %s: %s", c->name,
	      strerror(errno));
}

/* Read what is there within ms; 0 once the process closed its output. */
static int fill(struct con *c, int ms)
{
	struct pollfd p = { .fd = c->out, .events = POLLIN };
	ssize_t n;

	if (c->out < 0 || c->len == CON_BUF - 1)
		return 0;
	if (poll(&p, 1, ms) <= 0)
		return 1;
	n = read(c->out, c->buf + c->len, CON_BUF - 1 - c->len);
	if (n <= 0) {
		close(c->out);
		c->out = -1;
		return 0;
	}
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	return 1;
}

const char *con_expect(struct con *c, const char *text, int timeout_ms)
{
	long long deadline = tu_now_ns() + timeout_ms * 1000000LL;

	for (;;) {
		const char *hit = strstr(c->buf + c->mark, text);
		long long left = (deadline - tu_now_ns()) / 1000000;

		if (hit) {
			c->mark = (size_t)(hit - c->buf) + strlen(text);
			return c->buf + c->mark;
		}
		if (left <= 0 || c->len == CON_BUF - 1 ||
		    !fill(c, (int)left + 1))
			return NULL;
	}
}

const char *con_must(struct con *c, const char *text, int timeout_ms)
{
	const char *p = con_expect(c, text, timeout_ms);

	CHECK(p, "%s did not print \"%s\" within %d ms", c->name, text,
	      timeout_ms);
	return p;
}

unsigned long long con_number_after(struct con *c, const char *text,
				    int timeout_ms)
{
	const char *p = con_must(c, text, timeout_ms);
	unsigned long long v;
	char *end;

	/* The whole number must have arrived: wait for the line's end. */
	con_must(c, "\n", timeout_ms);
	errno = 0;
	v = strtoull(p, &end, 0);
	CHECK(!errno && end != p, "%s: no number after \"%s\"", c->name, text);
	return v;
}

void con_skip(struct con *c, int ms)
{
	long long deadline = tu_now_ns() + ms * 1000000LL;

	while (tu_now_ns() < deadline && fill(c, 10))
		;
	c->mark = c->len;
}

void con_close(struct con *c)
{
	if (c->pid <= 0)
		return;
	close(c->in);
	kill(c->pid, SIGKILL);
	for (int i = 0; i < 20 && fill(c, 100); i++)
		;
	waitpid(c->pid, NULL, 0);
	c->pid = 0;
}
