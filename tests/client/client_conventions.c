/* SPDX-License-Identifier: MIT */
/*
 * Issue 13, items 2, 3 and 5 for ivshmem-client: it takes every vector
 * the server sends (--ring PEER:1 against a -n 2 server, --dump with each
 * peer's real count), -n is a limit, and the command-line conventions of
 * src/util/cli.h: --help, --version, one-line usage errors naming the bare
 * program, runtime errors prefixed "ivshmem-client:", plurals, -v.
 */
#include <stdlib.h>
#include <string.h>

#include "clienttest.h"

static int lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void usage_error(const char *const *argv, const char *what)
{
	char out[4096];
	int rc = tu_run(argv, out, sizeof(out), 20);

	CHECK(rc == 2, "%s exited %d:\n%s", argv[1], rc, out);
	CHECK(!strncmp(out, "ivshmem-client: ", 16) && lines(out) == 1 &&
	      strstr(out, what) &&
	      strstr(out, "(see 'ivshmem-client --help')\n"),
	      "%s: not one line naming the program and --help:\n%s", argv[1],
	      out);
}

static void conventions(void)
{
	char out[8192];
	int rc;

	rc = tu_run(ARGV(ct_client_bin(), "--help"), out, sizeof(out), 20);
	CHECK(rc == 0 && !strncmp(out, "Usage: ivshmem-client ", 22),
	      "--help exited %d:\n%s", rc, out);
	/* The sentence that was cut off, whole. */
	CHECK(strstr(out, "keep at most N") && strstr(out, "(default: all of\n"
	      "                         them, as QEMU's client)"),
	      "-n in --help:\n%s", out);
	rc = tu_run(ARGV(ct_client_bin(), "--version"), out, sizeof(out), 20);
	CHECK(rc == 0 && !strncmp(out, "ivshmem-client (ivshmem-ipm) ", 29) &&
	      lines(out) == 1, "--version exited %d:\n%s", rc, out);

	usage_error(ARGV(ct_client_bin(), "--bogus"), "unknown option '--bogus'");
	usage_error(ARGV(ct_client_bin(), "-x"), "unknown option '-x'");
	usage_error(ARGV(ct_client_bin(), "-S"), "needs a value");
	usage_error(ARGV(ct_client_bin(), "--ring"), "needs a value");
	usage_error(ARGV(ct_client_bin(), "extra"), "unexpected argument");
	usage_error(ARGV(ct_client_bin(), "-n", "1x"), "invalid vector count");
	usage_error(ARGV(ct_client_bin(), "-n", " 1"), "invalid vector count");
	usage_error(ARGV(ct_client_bin(), "-n", "0"), "invalid vector count");
	usage_error(ARGV(ct_client_bin(), "--wait", "1x"), "invalid --wait");
	usage_error(ARGV(ct_client_bin(), "--timeout", " 1"),
		    "invalid --timeout");
	usage_error(ARGV(ct_client_bin(), "--ring", "1:x"), "invalid --ring");
}

static void vectors(void)
{
	struct tu_server s;
	struct ivshmem *p;
	char out[8192], line[128];
	int rc, id, counts[64];

	tu_server_start(&s, ARGV("-n", "2"));
	p = ct_peer(s.socket_path, 0);
	id = ivshmem_id(p);
	CHECK(ivshmem_vectors(p) == 2, "peer took %u", ivshmem_vectors(p));

	/* Issue 13, item 3: both of a -n 2 peer's vectors, by default. */
	snprintf(line, sizeof(line), "%d:1", id);
	rc = tu_run(ARGV(ct_client_bin(), "-S", s.socket_path, "--ring", line),
		    out, sizeof(out), 20);
	CHECK(rc == 0, "--ring %s exited %d:\n%s", line, rc, out);
	CHECK(ct_peer_event(p, IVSHMEM_EV_PEER_LEFT, -1, 5000) >= 0, "left");
	ct_peer_acks(p, counts);
	CHECK(counts[0] == 0 && counts[1] == 1, "rung %d, %d", counts[0],
	      counts[1]);

	rc = tu_run(ARGV(ct_client_bin(), "-S", s.socket_path, "--dump"),
		    out, sizeof(out), 20);
	CHECK(rc == 0, "--dump exited %d:\n%s", rc, out);
	snprintf(line, sizeof(line), "  peer %d: 2 vectors\n", id);
	CHECK(strstr(out, "vectors: 2\n") && strstr(out, line),
	      "--dump:\n%s", out);
	CHECK(ct_peer_event(p, IVSHMEM_EV_PEER_LEFT, -1, 5000) >= 0, "left");

	/* -n 1 is a limit: vector 1 is then not ours to ring, and it says. */
	snprintf(line, sizeof(line), "%d:1", id);
	rc = tu_run(ARGV(ct_client_bin(), "-S", s.socket_path, "-n", "1",
			 "--ring", line), out, sizeof(out), 20);
	snprintf(line, sizeof(line), "ivshmem-client: peer %d has no vector 1 "
		 "that we kept: -n 1 keeps 1 vector\n", id);
	CHECK(rc == 1 && strstr(out, line), "-n 1 --ring exited %d:\n%s", rc,
	      out);
	CHECK(ct_peer_event(p, IVSHMEM_EV_PEER_LEFT, -1, 5000) >= 0, "left");

	/* Runtime errors: prefixed, no path. */
	rc = tu_run(ARGV(ct_client_bin(), "-S", s.socket_path, "--ring",
			 "999:0"), out, sizeof(out), 20);
	CHECK(rc == 1 && !strcmp(out, "ivshmem-client: no peer 999\n"),
	      "--ring 999:0 exited %d:\n%s", rc, out);
	CHECK(ct_peer_event(p, IVSHMEM_EV_PEER_LEFT, -1, 5000) >= 0, "left");

	/* -v: the table, and one line per doorbell rung. */
	snprintf(line, sizeof(line), "%d:all", id);
	rc = tu_run(ARGV(ct_client_bin(), "-v", "-S", s.socket_path, "--ring",
			 line), out, sizeof(out), 20);
	CHECK(rc == 0 && strstr(out, "peers: 1\n"), "-v exited %d:\n%s", rc,
	      out);
	snprintf(line, sizeof(line), "rang peer %d vector 0\nrang peer %d "
		 "vector 1\n", id, id);
	CHECK(strstr(out, line), "-v: no '%s' in:\n%s", line, out);
	CHECK(ct_peer_event(p, IVSHMEM_EV_PEER_LEFT, -1, 5000) >= 0, "left");
	/* Without -v, silence. */
	snprintf(line, sizeof(line), "%d:0", id);
	rc = tu_run(ARGV(ct_client_bin(), "-S", s.socket_path, "--ring", line),
		    out, sizeof(out), 20);
	CHECK(rc == 0 && !*out, "--ring exited %d:\n%s", rc, out);

	/* The shell: QEMU's '?' and ';' between commands; plurals. */
	{
		struct ct_proc *c = calloc(1, sizeof(*c));

		CHECK(c, "out of memory");
		ct_spawn(c, ARGV(ct_client_bin(), "-S", s.socket_path, "-n",
				 "1"));
		CHECK(ct_expect(c, "of shared memory, 1 vector)", 5000),
		      "no join line:\n%s", c->buf);
		snprintf(line, sizeof(line), "int %d 0;?\n", id);
		ct_send(c, line);
		snprintf(line, sizeof(line), "rang %d:0", id);
		CHECK(ct_expect(c, line, 5000) &&
		      ct_expect(c, "help, ?", 5000), "int;?:\n%s", c->buf);
		ct_close_in(c);
		CHECK(ct_wait_exit(c, 5000) == 0, "shell exited %d:\n%s",
		      c->status, c->buf);
		ct_finish(c);
		free(c);
	}

	ivshmem_close(p);
	CHECK(tu_server_stop(&s) == 0, "server exit status");
}

int main(void)
{
	conventions();
	vectors();
	return 0;
}
