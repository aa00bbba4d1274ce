/* SPDX-License-Identifier: MIT */
/* ipm-shell's command parser: strict numbers, usage lines, the text. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "testutil.h"

/* Parse a copy of text: its rc; cmd and err filled. */
static int parse(const char *text, struct shell_cmd *cmd, char *err,
		 size_t errlen, char *buf, size_t buflen)
{
	snprintf(buf, buflen, "%s", text);
	err[0] = '\0';
	return shell_cmd_parse(buf, cmd, err, errlen);
}

static void bad(const char *text, const char *want_err)
{
	struct shell_cmd c;
	char err[128], buf[256];
	int rc = parse(text, &c, err, sizeof(err), buf, sizeof(buf));

	CHECK(rc == -EINVAL, "'%s' accepted (op %d)", text, c.op);
	CHECK(!strncmp(err, want_err, strlen(want_err)),
	      "'%s': error '%s', want '%s...'", text, err, want_err);
}

static struct shell_cmd good(const char *text, enum shell_op op)
{
	static char buf[256];
	struct shell_cmd c;
	char err[128];
	int rc = parse(text, &c, err, sizeof(err), buf, sizeof(buf));

	CHECK(rc == 0, "'%s' refused: %s", text, err);
	CHECK(c.op == op, "'%s': op %d, want %d", text, c.op, op);
	return c;
}

int main(void)
{
	struct shell_cmd c;

	good("", SHELL_NONE);
	good("  \t ", SHELL_NONE);
	good("ivshmem", SHELL_IVSHMEM);
	good("quit", SHELL_QUIT);
	good("exit", SHELL_QUIT);
	good("help", SHELL_HELP);
	good("peers", SHELL_PEERS);
	bad("ivshmem now", "usage: ivshmem (no arguments)");
	bad("frobnicate 1", "frobnicate: command not found");

	c = good("wait", SHELL_WAIT);
	CHECK(c.wait_ms == 1000, "wait: %d ms", c.wait_ms);
	c = good("wait 0.25", SHELL_WAIT);
	CHECK(c.wait_ms == 250, "wait 0.25: %d ms", c.wait_ms);
	c = good("wait 0", SHELL_WAIT);
	CHECK(c.wait_ms == 0, "wait 0: %d ms", c.wait_ms);
	/* Issue 12, item 12: NaN never returned, 1e308 was UB. */
	bad("wait nan", "usage: wait [SECONDS]");
	bad("wait inf", "usage: wait [SECONDS]");
	bad("wait 1e308", "usage: wait [SECONDS]");
	bad("wait 86401", "usage: wait [SECONDS]");
	bad("wait -1", "usage: wait [SECONDS]");
	bad("wait 1x", "usage: wait [SECONDS]");
	bad("wait 1 2", "usage: wait [SECONDS]");

	c = good("ivshmem_ipm_send 3", SHELL_RING);
	CHECK(c.peer == 3, "peer %u", c.peer);
	c = good("ivshmem_ipm_send 65535", SHELL_RING);
	bad("ivshmem_ipm_send", "usage: ivshmem_ipm_send PEER");
	bad("ivshmem_ipm_send 65536", "usage: ivshmem_ipm_send PEER");
	bad("ivshmem_ipm_send -1", "usage: ivshmem_ipm_send PEER");
	bad("ivshmem_ipm_send 1x", "usage: ivshmem_ipm_send PEER");
	bad("ivshmem_ipm_send 1 2", "usage: ivshmem_ipm_send PEER");

	c = good("send 2   hello  world \r", SHELL_SEND);
	CHECK(c.peer == 2 && c.text_len == 12 &&
	      !strcmp(c.text, "hello  world"), "send: %u '%s' %zu", c.peer,
	      c.text, c.text_len);
	c = good("sendfile 1 /tmp/a b", SHELL_SENDFILE);
	CHECK(!strcmp(c.text, "/tmp/a b"), "sendfile: '%s'", c.text);
	bad("send 2", "usage: send PEER TEXT...");
	bad("send 2   ", "usage: send PEER TEXT...");
	bad("send x hi", "usage: send PEER TEXT...");
	bad("sendfile 2", "usage: sendfile PEER PATH");

	c = good("ping 1", SHELL_PING);
	CHECK(c.count == 100 && c.size == 0 && !c.samples, "ping defaults");
	c = good("ping 1 5 64 samples", SHELL_PING);
	CHECK(c.count == 5 && c.size == 64 && c.samples, "ping 1 5 64 samples");
	bad("ping 1 0", "usage: ping PEER [1..1000000] [0..65536] [samples]");
	bad("ping 1 1x", "usage: ping PEER");
	bad("ping 1 5 65537", "usage: ping PEER");
	bad("ping 1 5 0 bogus", "usage: ping PEER");
	bad("ping 1 5 0 samples more", "usage: ping PEER");
	bad("ping", "usage: ping PEER");

	c = good("pong 4", SHELL_PONG);
	CHECK(c.peer == 4, "pong peer %u", c.peer);
	good("pong off", SHELL_PONG_OFF);
	bad("pong", "usage: pong PEER|off");
	bad("pong 4x", "usage: pong PEER|off");
	bad("pong off now", "usage: pong PEER|off");
	printf("shell_cmd: ok\n");
	return 0;
}
