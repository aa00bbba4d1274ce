/* SPDX-License-Identifier: MIT */
/*
 * ivshmem-ctl: ask a running ivshmem-server what it holds, over its
 * control socket (SOCK.ctl), never joining as a peer. The server answers
 * "ok" or "error WHY", then "key value" lines (status) or "peer k=v ..."
 * lines (peers), then "."; this prints them as text or as one JSON object.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define DEFAULT_SOCKET "/tmp/ivshmem_socket"
#define MAX_ANSWER     (16u << 20)

static const char *prog = "ivshmem-ctl";

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [-S SOCK] [--json] COMMAND\n"
		"Ask a running ivshmem-server what it holds, over its control "
		"socket\nSOCK.ctl, without joining as a peer.\n\n"
		"Commands:\n"
		"  peers    each peer: id, vectors, pid, uid, gid, connect "
		"time, queued messages\n"
		"  status   the server's counters, uptime and region\n"
		"  restart  re-execute the server's program in place, keeping "
		"every peer\n"
		"           (as SIGHUP does); prints the new program's version "
		"and pid\n\n"
		"Options:\n"
		"  -S, --socket SOCK   the server's socket (default %s);\n"
		"                      the control socket is SOCK.ctl\n"
		"  -j, --json          print one JSON object\n"
		"  -t, --timeout SEC   give up after SEC seconds (default 5, "
		"restart 15)\n"
		"  -h, --help          show this help\n"
		"  -V, --version       show the version\n",
		prog, DEFAULT_SOCKET);
}

/* Send the request, read the whole answer (NUL-terminated) into *out. */
static int ask(const char *sock_path, const char *req, int timeout_ms,
	       char **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	int fd, rc = 0;

	if (!buf)
		return -ENOMEM;
	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s.ctl", sock_path) >=
	    (int)sizeof(sa.sun_path)) {
		free(buf);
		return -ENAMETOOLONG;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req)) {
		rc = -errno;
		goto out;
	}
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (len + 1 >= cap) {
			char *nb = cap < MAX_ANSWER ? realloc(buf, cap * 2) :
				   NULL;

			if (!nb) {
				rc = -EMSGSIZE;
				goto out;
			}
			buf = nb;
			cap *= 2;
		}
		if (poll(&pfd, 1, timeout_ms) == 0) {
			rc = -ETIMEDOUT;
			goto out;
		}
		n = recv(fd, buf + len, cap - 1 - len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	/* A complete answer ends with the "." line. */
	if (!(len >= 2 && !strcmp(buf + len - 2, ".\n") &&
	      (len == 2 || buf[len - 3] == '\n')))
		rc = -EPROTO;
out:
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		free(buf);
	else
		*out = buf;
	return rc;
}

static int is_number(const char *s)
{
	if (*s == '-')
		s++;
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void json_value(const char *v)
{
	if (is_number(v))
		fputs(v, stdout);
	else
		json_str(v);
}

static void time_text(const char *epoch, char *buf, size_t len)
{
	time_t t = (time_t)strtoll(epoch, NULL, 10);
	struct tm tm;

	if (localtime_r(&t, &tm))
		strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
	else
		snprintf(buf, len, "%s", epoch);
}

/* "peer id=1 vectors=2 ...": print one row or one JSON object. */
static void print_peer(char *line, int json, int first)
{
	char *save = NULL, *kv, when[64];
	const char *f[8] = { 0 };
	static const char *const keys[] = {
		"id", "vectors", "pid", "uid", "gid", "joined", "queued",
		"setup",
	};

	strtok_r(line, " ", &save);   /* "peer" */
	if (json)
		printf("%s{", first ? "" : ",");
	for (int n = 0; (kv = strtok_r(NULL, " ", &save)); n++) {
		char *eq = strchr(kv, '=');

		if (!eq)
			continue;
		*eq = '\0';
		if (json) {
			printf("%s", n ? "," : "");
			json_str(kv);
			putchar(':');
			json_value(eq + 1);
		}
		for (unsigned k = 0; k < 8; k++)
			if (!strcmp(kv, keys[k]))
				f[k] = eq + 1;
	}
	if (json) {
		putchar('}');
		return;
	}
	time_text(f[5] ? f[5] : "0", when, sizeof(when));
	printf("%5s %7s %8s %6s %6s  %-19s %6s %s\n", f[0] ? f[0] : "?",
	       f[1] ? f[1] : "?", f[2] ? f[2] : "?", f[3] ? f[3] : "?",
	       f[4] ? f[4] : "?", when, f[6] ? f[6] : "?",
	       f[7] ? f[7] : "?");
}

static int print_answer(const char *cmd, char *ans, int json)
{
	char *save = NULL, *line = strtok_r(ans, "\n", &save);
	int n = 0;

	if (!line || strncmp(line, "ok", 3)) {
		fprintf(stderr, "%s: the server answered: %s\n", prog,
			line && !strncmp(line, "error ", 6) ? line + 6 :
			line ? line : "nothing");
		return 1;
	}
	if (!strcmp(cmd, "peers")) {
		if (json)
			printf("{\"peers\":[");
		else
			printf("%5s %7s %8s %6s %6s  %-19s %6s %s\n", "ID",
			       "VECTORS", "PID", "UID", "GID", "CONNECTED",
			       "QUEUED", "SETUP");
		while ((line = strtok_r(NULL, "\n", &save)) &&
		       strcmp(line, "."))
			if (!strncmp(line, "peer ", 5))
				print_peer(line, json, n++ == 0);
		if (json)
			printf("]}\n");
		return 0;
	}
	if (json)
		putchar('{');
	while ((line = strtok_r(NULL, "\n", &save)) && strcmp(line, ".")) {
		char *sp = strchr(line, ' ');

		if (!sp)
			continue;
		*sp = '\0';
		if (json) {
			printf("%s", n++ ? "," : "");
			json_str(line);
			putchar(':');
			json_value(sp + 1);
		} else {
			printf("%-24s %s\n", line, sp + 1);
		}
	}
	if (json)
		printf("}\n");
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = DEFAULT_SOCKET, *cmd;
	int json = 0, timeout_ms = -1, c, rc;
	char req[32], *ans = NULL;

	prog = cli_prog_name(argv[0], prog);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:S:jt:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'S':
			sock = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 't':
			if (cli_parse_seconds_ms(optarg, 3600, &timeout_ms) < 0 ||
			    timeout_ms <= 0)
				return cli_usage_error(prog, "invalid timeout "
						       "'%s'", optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			cli_print_version(prog);
			return 0;
		default:
			return cli_bad_option(prog, argv, c);
		}
	}
	if (optind >= argc)
		return cli_usage_error(prog, "a command is needed (peers, "
				       "status, restart)");
	cmd = argv[optind];
	if (strcmp(cmd, "peers") && strcmp(cmd, "status") &&
	    strcmp(cmd, "restart"))
		return cli_usage_error(prog, "unknown command '%s'", cmd);
	if (optind + 1 < argc)
		return cli_usage_error(prog, "unexpected argument '%s'",
				       argv[optind + 1]);
	/* A restart waits for the new program to check the state first. */
	if (timeout_ms < 0)
		timeout_ms = strcmp(cmd, "restart") ? 5000 : 15000;
	snprintf(req, sizeof(req), "%s\n", cmd);
	rc = ask(sock, req, timeout_ms, &ans);
	if (rc < 0) {
		fprintf(stderr, "%s: %s.ctl: %s\n", prog, sock,
			rc == -EPROTO ? "incomplete answer from the server" :
			strerror(-rc));
		return 1;
	}
	rc = print_answer(cmd, ans, json);
	free(ans);
	return rc;
}
