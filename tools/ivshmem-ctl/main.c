/* SPDX-License-Identifier: MIT */
/*
 * ivshmem-ctl: ask a running ivshmem-server what it holds, over its
 * control socket (SOCK.ctl), never joining as a peer. The server answers
 * "ok" or "error WHY", then "key value" lines (status) or "peer k=v ..."
 * lines (peers), then "."; this prints them as text or as one JSON object.
 */
#include <errno.h>
#include <fcntl.h>
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
#include "mailbox.h"

#define DEFAULT_SOCKET "/tmp/ivshmem_socket"
#define MAX_ANSWER     (16u << 20)

static const char *prog = "ivshmem-ctl";

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [-S SOCK] [--json] [-r PATH] [-i SEC] COMMAND\n"
		"Ask a running ivshmem-server what it holds, over its control "
		"socket\nSOCK.ctl, without joining as a peer.\n\n"
		"Commands:\n"
		"  peers    each peer: id, vectors, pid, uid, gid, connect "
		"time, queued messages\n"
		"  status   the server's counters, uptime and region\n"
		"  mailbox  a read-only view of the mailbox region: header, "
		"slots, owners,\n"
		"           heartbeats, the counters each peer publishes, "
		"queue depths\n"
		"           and pending records checked, per pair (never "
		"joins)\n"
		"  restart  re-execute the server's program in place, keeping "
		"every peer\n"
		"           (as SIGHUP does); prints the new program's version "
		"and pid\n\n"
		"Options:\n"
		"  -S, --socket SOCK   the server's socket (default %s);\n"
		"                      the control socket is SOCK.ctl\n"
		"  -j, --json          print one JSON object\n"
		"  -r, --region PATH   mailbox: map this file (e.g. /dev/shm/NAME) "
		"instead of\n"
		"                      asking the server for its region\n"
		"  -i, --interval SEC  mailbox: sample heartbeats SEC apart "
		"(default 0.6;\n"
		"                      0: once, no age)\n"
		"  -t, --timeout SEC   give up after SEC seconds (default 5, "
		"restart 15)\n"
		"  -h, --help          show this help\n"
		"  -V, --version       show the version\n",
		prog, DEFAULT_SOCKET);
}

/* An fd passed with the answer (SCM_RIGHTS) into *fd, others closed. */
static void take_fds(struct msghdr *msg, int *fd)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c;
	     c = CMSG_NXTHDR(msg, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int got;

			memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (fd && *fd < 0)
				*fd = got;
			else
				close(got);
		}
	}
}

/*
 * Send the request, read the whole answer (NUL-terminated) into *out;
 * an fd passed with it into *fd (-1: none; fd NULL: closed).
 */
static int ask(const char *sock_path, const char *req, int timeout_ms,
	       char **out, int *fd_out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	int fd, rc = 0;

	if (fd_out)
		*fd_out = -1;
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
		union {
			char b[CMSG_SPACE(4 * sizeof(int))];
			struct cmsghdr align;
		} u;
		struct iovec iov = { .iov_base = buf + len,
				     .iov_len = cap - 1 - len };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
				      .msg_control = u.b,
				      .msg_controllen = sizeof(u.b) };

		n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
		if (n > 0)
			take_fds(&msg, fd_out);
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
	if (rc < 0) {
		free(buf);
		if (fd_out && *fd_out >= 0)
			close(*fd_out);
		if (fd_out)
			*fd_out = -1;
	} else {
		*out = buf;
	}
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

/* The region from the server (read-only fd) or from a path, then shown. */
static int mailbox(const char *sock, const char *path, int timeout_ms,
		   int json, int interval_ms)
{
	char *ans = NULL, source[320];
	int fd = -1, rc;

	if (path) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "%s: %s: %s\n", prog, path,
				strerror(errno));
			return 1;
		}
		snprintf(source, sizeof(source), "file %s", path);
	} else {
		rc = ask(sock, "mailbox\n", timeout_ms, &ans, &fd);
		if (rc < 0) {
			fprintf(stderr, "%s: %s.ctl: %s\n", prog, sock,
				rc == -EPROTO ? "incomplete answer from the "
				"server" : strerror(-rc));
			return 1;
		}
		if (strncmp(ans, "ok\n", 3) || fd < 0) {
			fprintf(stderr, "%s: the server answered: %s\n", prog,
				strncmp(ans, "error ", 6) ? "no region" :
				strtok(ans + 6, "\n"));
			free(ans);
			if (fd >= 0)
				close(fd);
			return 1;
		}
		free(ans);
		snprintf(source, sizeof(source), "from the server at %s", sock);
	}
	rc = mailbox_show(prog, fd, source, json, interval_ms);
	close(fd);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "region", required_argument, NULL, 'r' },
		{ "interval", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = DEFAULT_SOCKET, *cmd, *region = NULL;
	int json = 0, timeout_ms = -1, interval_ms = 600, c, rc;
	char req[32], *ans = NULL;

	prog = cli_prog_name(argv[0], prog);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:S:jt:r:i:hV", opts, NULL)) != -1) {
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
		case 'r':
			region = optarg;
			break;
		case 'i':
			if (cli_parse_seconds_ms(optarg, 60, &interval_ms) < 0)
				return cli_usage_error(prog, "invalid interval "
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
				       "status, mailbox, restart)");
	cmd = argv[optind];
	if (strcmp(cmd, "peers") && strcmp(cmd, "status") &&
	    strcmp(cmd, "restart") && strcmp(cmd, "mailbox"))
		return cli_usage_error(prog, "unknown command '%s'", cmd);
	if (optind + 1 < argc)
		return cli_usage_error(prog, "unexpected argument '%s'",
				       argv[optind + 1]);
	/* A restart waits for the new program to check the state first. */
	if (timeout_ms < 0)
		timeout_ms = strcmp(cmd, "restart") ? 5000 : 15000;
	if (region && strcmp(cmd, "mailbox"))
		return cli_usage_error(prog, "--region is for 'mailbox' only");
	if (!strcmp(cmd, "mailbox"))
		return mailbox(sock, region, timeout_ms, json, interval_ms);
	snprintf(req, sizeof(req), "%s\n", cmd);
	rc = ask(sock, req, timeout_ms, &ans, NULL);
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
