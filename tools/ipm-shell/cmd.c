/* SPDX-License-Identifier: MIT */
/* Parsing ipm-shell's command lines: see cmd.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cmd.h"

/* Blanks between words; lineio passes no newline, but a caller might. */
#define SEP " \t\r\n\v\f"

static int parse_peer(const char *s, uint32_t *peer)
{
	long v;

	if (!s || cli_parse_long(s, 0, SHELL_PEER_MAX, &v) < 0)
		return -EINVAL;
	*peer = (uint32_t)v;
	return 0;
}

/* The usage line of cmd into err: -EINVAL. */
static int usage(const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "usage: %s", what);
	return -EINVAL;
}

/* send/sendfile: PEER and the rest of the line, blanks around it dropped. */
static int parse_send(char *save, struct shell_cmd *cmd, int file,
		      char *err, size_t errlen)
{
	const char *use = file ? "sendfile PEER PATH" : "send PEER TEXT...";
	char *peer = strtok_r(NULL, SEP, &save), *rest = save, *end;

	if (parse_peer(peer, &cmd->peer) < 0 || !rest)
		return usage(use, err, errlen);
	rest += strspn(rest, SEP);
	end = rest + strlen(rest);
	while (end > rest && strchr(SEP, end[-1]))
		*--end = '\0';
	if (rest == end)
		return usage(use, err, errlen);
	cmd->op = file ? SHELL_SENDFILE : SHELL_SEND;
	cmd->text = rest;
	cmd->text_len = (size_t)(end - rest);
	return 0;
}

static int parse_ping(char *save, struct shell_cmd *cmd, char *err,
		      size_t errlen)
{
	char *peer = strtok_r(NULL, SEP, &save);
	char *n = peer ? strtok_r(NULL, SEP, &save) : NULL;
	char *b = n ? strtok_r(NULL, SEP, &save) : NULL;
	char *s = b ? strtok_r(NULL, SEP, &save) : NULL;
	char use[64];

	snprintf(use, sizeof(use), "ping PEER [1..%d] [0..%d] [samples]",
		 SHELL_PING_COUNT_MAX, SHELL_PING_MAX);
	cmd->count = SHELL_PING_DEFAULT;
	cmd->size = 0;
	if (parse_peer(peer, &cmd->peer) < 0 ||
	    (n && cli_parse_long(n, 1, SHELL_PING_COUNT_MAX, &cmd->count)) ||
	    (b && cli_parse_long(b, 0, SHELL_PING_MAX, &cmd->size)) ||
	    (s && strcmp(s, "samples")) || strtok_r(NULL, SEP, &save))
		return usage(use, err, errlen);
	cmd->samples = s != NULL;
	cmd->op = SHELL_PING;
	return 0;
}

/* A command that takes no more words than 'words' allows. */
static int no_more(char **save, const char *use, char *err, size_t errlen)
{
	return strtok_r(NULL, SEP, save) ? usage(use, err, errlen) : 0;
}

int shell_cmd_parse(char *line, struct shell_cmd *cmd, char *err,
		    size_t errlen)
{
	char *save = NULL, *name, *arg;
	int rc;

	*cmd = (struct shell_cmd){ .op = SHELL_NONE };
	name = strtok_r(line, SEP, &save);
	if (!name)
		return 0;
	if (!strcmp(name, "send") || !strcmp(name, "sendfile"))
		return parse_send(save, cmd, name[4] != '\0', err, errlen);
	if (!strcmp(name, "ping"))
		return parse_ping(save, cmd, err, errlen);
	if (!strcmp(name, "ivshmem_ipm_send")) {
		arg = strtok_r(NULL, SEP, &save);
		if (parse_peer(arg, &cmd->peer) < 0 ||
		    no_more(&save, "", err, errlen))
			return usage("ivshmem_ipm_send PEER", err, errlen);
		cmd->op = SHELL_RING;
		return 0;
	}
	if (!strcmp(name, "pong")) {
		arg = strtok_r(NULL, SEP, &save);
		if (arg && !strcmp(arg, "off"))
			cmd->op = SHELL_PONG_OFF;
		else if (parse_peer(arg, &cmd->peer) == 0)
			cmd->op = SHELL_PONG;
		else
			return usage("pong PEER|off", err, errlen);
		return no_more(&save, "pong PEER|off", err, errlen);
	}
	if (!strcmp(name, "wait")) {
		arg = strtok_r(NULL, SEP, &save);
		cmd->wait_ms = SHELL_WAIT_DEFAULT_MS;
		if (arg && cli_parse_seconds_ms(arg, SHELL_WAIT_MAX_S,
						&cmd->wait_ms) < 0) {
			snprintf(err, errlen, "usage: wait [SECONDS], 0 to %d "
				 "(e.g. 0.5)", SHELL_WAIT_MAX_S);
			return -EINVAL;
		}
		cmd->op = SHELL_WAIT;
		return no_more(&save, "wait [SECONDS]", err, errlen);
	}
	if (!strcmp(name, "ivshmem"))
		cmd->op = SHELL_IVSHMEM;
	else if (!strcmp(name, "peers"))
		cmd->op = SHELL_PEERS;
	else if (!strcmp(name, "help"))
		cmd->op = SHELL_HELP;
	else if (!strcmp(name, "quit") || !strcmp(name, "exit"))
		cmd->op = SHELL_QUIT;
	if (cmd->op == SHELL_NONE) {
		snprintf(err, errlen, "%.64s: command not found", name);
		return -EINVAL;
	}
	rc = no_more(&save, "", err, errlen);
	if (rc < 0) {
		snprintf(err, errlen, "usage: %s (no arguments)", name);
		cmd->op = SHELL_NONE;
	}
	return rc;
}
