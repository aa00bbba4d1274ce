/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: ipm-shell's command parser (tools/ipm-shell/cmd.c) on any
 * line. Beyond not crashing: it accepts or refuses with a one-line reason,
 * and what it accepts is in range (peer, counts, sizes, wait time) and its
 * text lies inside the line, blanks trimmed.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "cmd.h"
#include "testutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* lineio hands lines of at most 4095 bytes, without the newline. */
	char line[4096], err[128];
	struct shell_cmd c;
	int rc;

	if (size >= sizeof(line))
		size = sizeof(line) - 1;
	memcpy(line, data, size);
	line[size] = '\0';
	memset(err, 0, sizeof(err));
	rc = shell_cmd_parse(line, &c, err, sizeof(err));
	if (rc < 0) {
		CHECK(rc == -EINVAL, "rc %d", rc);
		CHECK(err[0] && !strchr(err, '\n'), "error '%s'", err);
		return 0;
	}
	CHECK(rc == 0, "rc %d", rc);
	CHECK(c.peer <= SHELL_PEER_MAX, "peer %u", c.peer);
	switch (c.op) {
	case SHELL_SEND:
	case SHELL_SENDFILE:
		CHECK(c.text >= line && c.text + c.text_len <= line + size &&
		      c.text_len > 0 && strlen(c.text) == c.text_len,
		      "text outside the line or untrimmed");
		CHECK(!strchr(" \t\r\n\v\f", c.text[0]) &&
		      !strchr(" \t\r\n\v\f", c.text[c.text_len - 1]), "untrimmed");
		break;
	case SHELL_PING:
		CHECK(c.count >= 1 && c.count <= SHELL_PING_COUNT_MAX &&
		      c.size >= 0 && c.size <= SHELL_PING_MAX,
		      "ping %ld x %ld", c.count, c.size);
		break;
	case SHELL_WAIT:
		CHECK(c.wait_ms >= 0 && c.wait_ms <= SHELL_WAIT_MAX_S * 1000,
		      "wait %d ms", c.wait_ms);
		break;
	default:
		CHECK(c.op >= SHELL_NONE && c.op <= SHELL_QUIT, "op %d", c.op);
		break;
	}
	return 0;
}
