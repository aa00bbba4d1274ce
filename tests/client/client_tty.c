/* SPDX-License-Identifier: MIT */
/*
 * The shell on a terminal (a pty): line editing fixes a typo before the
 * command runs, arrow-up recalls it, Ctrl-D on an empty line leaves with
 * 0, and a terminal that hangs up ends it without spinning.
 */
#include <signal.h>
#include <string.h>

#include "clienttest.h"

#define CPU_MAX_S 0.2

static struct tu_server s;

static struct ct_proc *spawn(int ignore_sighup)
{
	struct ct_proc *c = calloc(1, sizeof(*c));

	CHECK(c, "out of memory");
	ct_spawn_pty(c, ARGV(ct_client_bin(), "-S", s.socket_path),
		     ignore_sighup);
	CHECK(ct_expect(c, "cmd> ", 10000), "no prompt:\n%s", c->buf);
	return c;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *h = strstr(hay, needle); h;
	     h = strstr(h + 1, needle))
		n++;
	return n;
}

static void editing(void)
{
	struct ct_proc *c = spawn(0);

	/* "dumq", backspace, "p": dump runs, dumq does not. */
	ct_send(c, "dumq\x7fp\r");
	CHECK(ct_expect(c, "own id: ", 5000), "no dump:\n%s", c->buf);
	CHECK(ct_expect(c, "cmd> ", 5000), "no new prompt:\n%s", c->buf);
	/* Arrow up, Enter: dump again. */
	ct_send(c, "\x1b[A\r");
	CHECK(ct_expect(c, "own id: ", 5000), "no recalled dump:\n%s",
	      c->buf);
	CHECK(ct_expect(c, "cmd> ", 5000), "no new prompt:\n%s", c->buf);
	/* Two typos; then Ctrl-U throws a whole line away. */
	ct_send(c, "hepl\x7f\x7flp\r");
	CHECK(ct_expect(c, "int PEER VECTOR", 5000), "no help:\n%s", c->buf);
	/*
	 * As a user does, wait for the prompt: while a command runs, libedit
	 * has the terminal cooked, so the kernel would take a typed-ahead
	 * Ctrl-U and Ctrl-D itself.
	 */
	CHECK(ct_expect(c, "cmd> ", 5000), "no new prompt:\n%s", c->buf);
	ct_send(c, "frobnicate\x15");
	ct_send(c, "\x04");
	CHECK(ct_wait_exit(c, 3000) >= 0, "Ctrl-D on a line did not end "
	      "it... or it did not clear the line:\n%s", c->buf);
	CHECK(c->status == 0, "exit %d:\n%s", c->status, c->buf);
	CHECK(!strstr(c->buf, "unknown command"), "a typo ran:\n%s", c->buf);
	CHECK(count(c->buf, "own id: ") == 2, "dumps:\n%s", c->buf);
	CHECK(c->cpu_s < CPU_MAX_S, "%.2f s of CPU", c->cpu_s);
	ct_finish(c);
	free(c);
}

/* The terminal goes away; with SIGHUP ignored (nohup) it must see EOF. */
static void hangup(int ignore_sighup)
{
	struct ct_proc *c = spawn(ignore_sighup);
	int rc;

	ct_close_in(c);
	rc = ct_wait_exit(c, 3000);
	if (rc < 0) {
		double cpu = ct_cpu_s(c->pid);

		CHECK(0, "still running 3 s after a hangup (sighup %s), "
		      "%.2f s of CPU", ignore_sighup ? "ignored" : "default",
		      cpu);
	}
	if (ignore_sighup)
		CHECK(rc == 0, "exit %d after a hangup", rc);
	else
		CHECK(rc == 0 || rc == 128 + SIGHUP, "exit %d after a hangup",
		      rc);
	CHECK(c->cpu_s < CPU_MAX_S, "%.2f s of CPU", c->cpu_s);
	ct_finish(c);
	free(c);
}

int main(void)
{
	tu_server_start(&s, NULL);
	editing();
	hangup(0);
	hangup(1);
	return 0;
}
