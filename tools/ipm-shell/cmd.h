/* SPDX-License-Identifier: MIT */
/*
 * ipm-shell's command lines, parsed apart from running them so that the
 * parser can be tested and fuzzed alone: every number is checked whole and
 * in range (cli.h), a command with a bad argument is refused with its
 * usage line.
 */
#ifndef IVSHMEM_TOOLS_IPM_SHELL_CMD_H
#define IVSHMEM_TOOLS_IPM_SHELL_CMD_H

#include <stddef.h>
#include <stdint.h>

#define SHELL_PEER_MAX 65535
#define SHELL_PING_COUNT_MAX 1000000
#define SHELL_PING_DEFAULT 100
#define SHELL_PING_MAX 65536
#define SHELL_WAIT_MAX_S 86400
#define SHELL_WAIT_DEFAULT_MS 1000

enum shell_op {
	SHELL_NONE,     /* an empty line */
	SHELL_IVSHMEM,
	SHELL_RING,     /* ivshmem_ipm_send PEER */
	SHELL_SEND,     /* send PEER TEXT... */
	SHELL_SENDFILE, /* sendfile PEER PATH */
	SHELL_PEERS,
	SHELL_WAIT,
	SHELL_PING,
	SHELL_PONG,
	SHELL_PONG_OFF,
	SHELL_HELP,
	SHELL_QUIT,
};

struct shell_cmd {
	enum shell_op op;
	uint32_t peer;
	long count;        /* ping: round trips */
	long size;         /* ping: payload bytes */
	int samples;       /* ping: print every round trip */
	int wait_ms;       /* wait */
	const char *text;  /* send: the rest of the line; sendfile: the path */
	size_t text_len;
};

/*
 * Parse one command line, which is modified in place (cmd->text points
 * into it). 0 with cmd filled, or -EINVAL with a one-line reason (no
 * newline) in err: a usage line, or "NAME: command not found".
 */
int shell_cmd_parse(char *line, struct shell_cmd *cmd, char *err,
		    size_t errlen);

#endif
