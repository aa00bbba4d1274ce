/* SPDX-License-Identifier: MIT */
/*
 * ipm-shell: the shell of Zephyr's "IPM over IVSHMEM" sample on a host (or
 * in a Linux guest): `ivshmem` prints the shared memory, our peer id and
 * vectors; `ivshmem_ipm_send PEER` notifies a peer, which prints "Received
 * IPM notification over IVSHMEM". In mailbox mode it also sends text and
 * files and prints what arrives with its sender and size.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ivshmem/ipm.h>
#include <ivshmem/transport.h>

#include "cli.h"
#include "cmd.h"
#include "lineio.h"

#define DEFAULT_SOCKET "/tmp/ivshmem_socket"
#define PREVIEW 256
#define PING_MAX SHELL_PING_MAX
#define PING_TIMEOUT_MS 2000

struct shell {
	const char *prog;
	struct ipm *ipm;
	struct ivshm_transport *t; /* ipm's, to ask it about peers */
	unsigned long failed;      /* commands that failed: the exit status */
	int gone;                  /* the server closed our connection */
	struct lineio io;
	int mode;
	/* ping: replies seen; pong: the peer every arrival is answered to. */
	int pinging;
	unsigned long replies;
	int pong;
	uint32_t pong_peer;
	char echo[PING_MAX];
};

static uint64_t fnv1a(const volatile uint8_t *p, size_t n)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * UINT64_C(0x100000001b3);
	return h;
}

static void on_message(struct ipm *ipm, void *user, uint32_t id,
		       const volatile void *data, size_t size)
{
	const volatile uint8_t *p = data;
	char text[PREVIEW + 1];
	int printable = size <= PREVIEW;

	struct shell *sh = user;

	if (sh->pinging) {
		sh->replies++;
		return;
	}
	if (sh->pong) {
		/*
		 * Copy out, then answer: a message is echoed to its sender,
		 * a doorbell (data NULL, in either mode) rings PEER.
		 */
		for (size_t i = 0; i < size && i < PING_MAX; i++)
			sh->echo[i] = (char)p[i];
		ipm_send(ipm, 0, data ? id : sh->pong_peer, sh->echo,
			 size < PING_MAX ? size : PING_MAX);
		return;
	}
	if (size == 0) {
		/*
		 * The sample's line, in both modes: a doorbell (data NULL;
		 * in mailbox mode a ring that brought no message) or a
		 * mailbox peer's empty message (its ivshmem_ipm_send).
		 */
		printf("Received IPM notification over IVSHMEM\n");
		fflush(stdout);
		return;
	}
	/* Copy out first: the sender could still change the bytes. */
	for (size_t i = 0; printable && i < size; i++) {
		text[i] = (char)p[i];
		if ((text[i] < 0x20 && text[i] != '\t' && text[i] != '\n') ||
		    text[i] == 0x7f)
			printable = 0;
	}
	if (printable) {
		text[size] = '\0';
		printf("Received %zu bytes from peer %u: %s\n", size, id, text);
	} else {
		printf("Received %zu bytes from peer %u (fnv1a64 %016llx)\n",
		       size, id, (unsigned long long)fnv1a(p, size));
	}
	fflush(stdout);
}

/*
 * Has the server closed our connection? Asked before each command that
 * needs it, since a whole script of commands may be read before the loop
 * would see the hang-up. Only looks (poll, no read): the news stay for the
 * IPM layer. A transport without presence news (a guest) is never "gone".
 */
static int server_gone(struct shell *sh)
{
	struct pollfd p = { .events = POLLRDHUP };

	if (sh->gone)
		return 1;
	p.fd = sh->t->ops->presence_fd(sh->t);
	if (p.fd == -ENOTSUP)
		return 0;
	if (p.fd >= 0 && poll(&p, 1, 0) >= 0 &&
	    !(p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)))
		return 0;
	sh->gone = 1;
	fprintf(stderr, "%s: the server closed the connection\n", sh->prog);
	return 1;
}

/* Why a send to peer failed, in words: "no peer 99" rather than ENOTCONN. */
static void report_failure(struct shell *sh, const char *what, uint32_t peer,
			   int rc)
{
	sh->failed++;
	if (server_gone(sh))
		printf("%s peer %u failed: not connected (the server is gone)\n",
		       what, peer);
	else if ((rc == -ENOTCONN && sh->t->ops->peer_live(sh->t,
							   (int)peer) == 0) ||
		 (rc == -EINVAL && peer > ipm_max_id_val_get(sh->ipm)))
		printf("no peer %u\n", peer);
	else if (rc == -ENOTCONN)
		printf("%s peer %u failed: it has no mailbox (doorbell mode) "
		       "or left\n", what, peer);
	else
		printf("%s peer %u failed: %s\n", what, peer, strerror(-rc));
}

static void report_send(struct shell *sh, uint32_t peer, size_t size, int rc)
{
	if (rc < 0)
		report_failure(sh, "send to", peer, rc);
	else if (size)
		printf("sent %zu bytes to peer %u: completed by the receiver\n",
		       size, peer);
}

static void cmd_ivshmem(struct shell *sh)
{
	const struct ivshm_transport *t = sh->t;

	if (server_gone(sh)) {
		sh->failed++;
		printf("IVshmem is down: the server closed the connection\n");
		return;
	}
	printf("IVshmem up and running: \n"
	       "\tShared memory: %p of size %zu bytes\n"
	       "\tPeer id: %d\n"
	       "\tNotification vectors: %u\n", t->mem, t->size, t->id,
	       t->vectors);
}

static void cmd_sendfile(struct shell *sh, uint32_t peer, const char *path)
{
	FILE *f = fopen(path, "rb");
	size_t max = (size_t)ipm_max_data_size_get(sh->ipm), n;
	char *buf;

	if (!f) {
		sh->failed++;
		printf("cannot open %s: %s\n", path, strerror(errno));
		return;
	}
	buf = malloc(max + 1);
	n = buf ? fread(buf, 1, max + 1, f) : 0;
	fclose(f);
	if (!buf) {
		sh->failed++;
		printf("out of memory\n");
	} else if (n > max) {
		sh->failed++;
		printf("%s is larger than the %zu bytes a message can carry\n",
		       path, max);
	} else {
		report_send(sh, peer, n, ipm_send(sh->ipm, 1, peer, buf, n));
	}
	free(buf);
}

static void cmd_peers(struct shell *sh)
{
	int ids[64], n = ipm_peers(sh->ipm, ids, 64);

	if (n < 0) {
		sh->failed++;
		printf("peers: %s\n", strerror(-n));
		return;
	}
	printf("%d mailbox %s:", n, cli_plural((unsigned long)n, "peer",
					       "peers"));
	for (int i = 0; i < n && i < 64; i++)
		printf(" %d", ids[i]);
	printf("\n");
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

/* One round trip: send, then handle arrivals until the reply. */
static int ping_once(struct shell *sh, uint32_t peer, const char *buf,
		     size_t size, long long *rtt)
{
	unsigned long want = sh->replies + 1;
	long long t0 = now_ns(), deadline = t0 + PING_TIMEOUT_MS * 1000000LL;
	int rc;

	/*
	 * A non-blocking send says -EBUSY while the receiver has not yet
	 * completed what it holds (a peer that answers from its callback
	 * completes after answering): serve, and try again until the
	 * round trip's deadline, as any sender of wait=0 must.
	 */
	while ((rc = ipm_send(sh->ipm, 0, peer, buf, size)) == -EBUSY) {
		if (now_ns() >= deadline)
			return -ETIMEDOUT;
		rc = ipm_poll(sh->ipm, 1);
		if (rc < 0)
			return rc;
	}
	while (rc >= 0 && sh->replies < want) {
		long long left = deadline - now_ns();

		if (left <= 0)
			return -ETIMEDOUT;
		rc = ipm_poll(sh->ipm, (int)(left / 1000000) + 1);
	}
	*rtt = now_ns() - t0;
	return rc < 0 ? rc : 0;
}

/*
 * With 'samples', every round trip in nanoseconds, in the order measured,
 * for programs (ipm-bench): "ping ns: T T ..." lines before the summary.
 */
static void print_samples(const long long *rtt, long count)
{
	for (long i = 0; i < count; i++)
		printf("%s%lld%s", i % 16 ? " " : "ping ns: ", rtt[i],
		       i % 16 == 15 || i == count - 1 ? "\n" : "");
}

static void cmd_ping(struct shell *sh, const struct shell_cmd *c)
{
	long long *rtt = calloc((size_t)c->count, sizeof(*rtt));
	char *buf = calloc(1, (size_t)c->size + 1);
	long done = 0, count = c->count;
	int rc = 0;

	if (!rtt || !buf) {
		sh->failed++;
		printf("out of memory\n");
		goto out;
	}
	sh->pinging = 1;
	while (done < count && rc == 0)
		rc = ping_once(sh, c->peer, buf, (size_t)c->size,
			       &rtt[done++]);
	sh->pinging = 0;
	if (rc == -ETIMEDOUT) {
		sh->failed++;
		printf("ping peer %u: round trip %ld: no reply within %d ms "
		       "(does it run 'pong'?)\n", c->peer, done,
		       PING_TIMEOUT_MS);
		goto out;
	}
	if (rc < 0) {
		report_failure(sh, "ping", c->peer, rc);
		goto out;
	}
	if (c->samples)
		print_samples(rtt, count);
	qsort(rtt, (size_t)count, sizeof(*rtt), cmp_ll);
	printf("ping peer %u: %ld round %s of %ld %s: min %.1f us, "
	       "median %.1f us, p99 %.1f us, max %.1f us\n", c->peer, count,
	       cli_plural((unsigned long)count, "trip", "trips"), c->size,
	       cli_plural((unsigned long)c->size, "byte", "bytes"),
	       rtt[0] / 1e3, rtt[count / 2] / 1e3,
	       rtt[(count * 99) / 100] / 1e3, rtt[count - 1] / 1e3);
out:
	free(rtt);
	free(buf);
}

static void help(void)
{
	printf("ivshmem                  show the shared memory, peer id, vectors\n"
	       "ivshmem_ipm_send PEER    notify PEER (it prints the sample's line)\n"
	       "send PEER TEXT...        mailbox: send TEXT, wait for completion\n"
	       "sendfile PEER PATH       mailbox: send a file's bytes\n"
	       "peers                    mailbox: the live mailbox peers\n"
	       "wait [SECONDS]           handle arrivals for a while (default 1,\n"
	       "                         at most %d)\n"
	       "ping PEER [N] [BYTES] [samples]\n"
	       "                         N round trips to PEER (default %d),\n"
	       "                         which must run 'pong'; prints times,\n"
	       "                         with 'samples' each one in ns too\n"
	       "pong PEER|off            answer every arrival: a doorbell rings\n"
	       "                         PEER, a mailbox message is echoed to\n"
	       "                         its sender\n"
	       "help, quit\n", SHELL_WAIT_MAX_S, SHELL_PING_DEFAULT);
}

/* Handle arrivals for ms milliseconds (or until the connection is lost). */
static void serve_for(struct shell *sh, int ms)
{
	long long end = now_ns() + ms * 1000000LL;

	for (;;) {
		long long left = end - now_ns();

		if (left <= 0 || server_gone(sh))
			return;
		if (ipm_poll(sh->ipm, (int)(left / 1000000) + 1) < 0)
			return;
	}
}

/* The commands that need the server (when there is one) to be there. */
static int needs_server(enum shell_op op)
{
	return op == SHELL_RING || op == SHELL_SEND || op == SHELL_SENDFILE ||
	       op == SHELL_PEERS || op == SHELL_PING;
}

/* One command line; nonzero ends the shell (NULL: end of input). */
static int run(char *line, void *ctx)
{
	struct shell *sh = ctx;
	struct shell_cmd c;
	char err[128];

	if (!line)
		return 1;
	if (shell_cmd_parse(line, &c, err, sizeof(err)) < 0) {
		sh->failed++;
		printf("%s\n", err);
		fflush(stdout);
		return 0;
	}
	if ((c.op == SHELL_SEND || c.op == SHELL_SENDFILE) &&
	    sh->mode != IPM_MODE_MAILBOX) {
		sh->failed++;
		printf("%s needs mailbox mode (--mode mailbox)\n",
		       c.op == SHELL_SEND ? "send" : "sendfile");
		c.op = SHELL_NONE;
	} else if (c.op == SHELL_PEERS && server_gone(sh)) {
		sh->failed++;
		printf("peers: not connected (the server is gone)\n");
		c.op = SHELL_NONE;
	} else if (needs_server(c.op) && server_gone(sh)) {
		report_failure(sh, c.op == SHELL_PING ? "ping" : "send to",
			       c.peer, -ENOTCONN);
		c.op = SHELL_NONE;
	}
	switch (c.op) {
	case SHELL_NONE:
		break;
	case SHELL_IVSHMEM:
		cmd_ivshmem(sh);
		break;
	case SHELL_RING:
		report_send(sh, c.peer, 0, ipm_send(sh->ipm, 0, c.peer, NULL, 0));
		break;
	case SHELL_SEND:
		report_send(sh, c.peer, c.text_len,
			    ipm_send(sh->ipm, 1, c.peer, c.text, c.text_len));
		break;
	case SHELL_SENDFILE:
		cmd_sendfile(sh, c.peer, c.text);
		break;
	case SHELL_PEERS:
		cmd_peers(sh);
		break;
	case SHELL_PING:
		cmd_ping(sh, &c);
		break;
	case SHELL_PONG:
		sh->pong = 1;
		sh->pong_peer = c.peer;
		break;
	case SHELL_PONG_OFF:
		sh->pong = 0;
		break;
	case SHELL_WAIT:
		serve_for(sh, c.wait_ms);
		break;
	case SHELL_HELP:
		help();
		break;
	case SHELL_QUIT:
		return 1;
	}
	fflush(stdout);
	return 0;
}

static void usage(const char *prog)
{
	printf(
"Usage: %s [OPTION]...\n"
"The shell of Zephyr's \"IPM over IVSHMEM\" sample, for a host process\n"
"(through the ivshmem server) or a Linux guest (its ivshmem PCI device).\n"
"Commands come from stdin (a terminal gets line editing): type 'help'.\n"
"\n"
"  -h, --help           show this help and exit\n"
"  -V, --version        show the version and exit\n"
"  -S, --socket=PATH    the ivshmem server's socket (default " DEFAULT_SOCKET ")\n"
"      --pci[=ADDR]     in a Linux guest, as root: use the ivshmem PCI device\n"
"                       at ADDR (default: the first 1af4:1110 device) through\n"
"                       VFIO, or sysfs when VFIO is unavailable (then mailbox\n"
"                       mode only: arrivals are found by polling)\n"
"  -n, --vectors=N      our doorbell vectors, 1 to 64: as the server's -n\n"
"                       (default 1); with --pci, the MSI-X vectors to use\n"
"                       (default all)\n"
"  -m, --mode=MODE      doorbell (Zephyr's ipm_ivshmem, no payload; default)\n"
"                       or mailbox (payloads in shared memory)\n"
"      --slots=N        mailbox: peer slots when laying out a new region,\n"
"                       2 to 64 (default: the most it holds with queues of\n"
"                       at least 256 KiB: 4 in 4 MiB, 8 in 16 MiB)\n"
"\n"
"Exit status, at the end of input or 'quit': 0 when every command\n"
"succeeded; 1 when one failed (a bad command or argument, a send that\n"
"failed, no such peer) or the server closed the connection, or when the\n"
"shell could not start; 2 on a usage error.\n", prog);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "socket", required_argument, NULL, 'S' },
		{ "vectors", required_argument, NULL, 'n' },
		{ "mode", required_argument, NULL, 'm' },
		{ "slots", required_argument, NULL, 's' },
		{ "pci", optional_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	const char *prog = cli_prog_name(argv[0], "ipm-shell");
	/* Doorbells in mailbox mode too: the sample's line for them. */
	struct ipm_config cfg = { .mode = IPM_MODE_DOORBELL, .doorbells = 1 };
	const char *path = DEFAULT_SOCKET;
	struct ivshm_transport *t;
	struct shell sh = { .prog = prog };
	const char *pci_addr = NULL;
	long vectors = 0, slots;
	int c, rc, pci = 0;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hVS:n:m:", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(prog);
			return 0;
		case 'V':
			cli_print_version(prog);
			return 0;
		case 'S':
			path = optarg;
			break;
		case 'n':
			if (cli_parse_long(optarg, 1, 64, &vectors) < 0)
				return cli_usage_error(prog, "-n: '%s' is not "
						       "a vector count from 1 "
						       "to 64", optarg);
			break;
		case 'm':
			if (!strcmp(optarg, "doorbell"))
				cfg.mode = IPM_MODE_DOORBELL;
			else if (!strcmp(optarg, "mailbox"))
				cfg.mode = IPM_MODE_MAILBOX;
			else
				return cli_usage_error(prog, "--mode: '%s' is "
						       "neither doorbell nor "
						       "mailbox", optarg);
			break;
		case 'p':
			pci = 1;
			pci_addr = optarg;
			break;
		case 's':
			if (cli_parse_long(optarg, 2, 64, &slots) < 0)
				return cli_usage_error(prog, "--slots: '%s' is "
						       "not a slot count from "
						       "2 to 64", optarg);
			cfg.slots = (unsigned)slots;
			break;
		default:
			return cli_bad_option(prog, argv, c);
		}
	}
	if (optind < argc)
		return cli_usage_error(prog, "unexpected argument '%s'",
				       argv[optind]);
	if (pci) {
		/* The transport tells on stderr which path it took, or why not. */
		rc = ivshm_transport_pci_open(&t, pci_addr, (unsigned)vectors);
		if (rc < 0)
			return 1;
	} else {
		rc = ivshm_transport_host_open(&t, path, vectors ?
					       (unsigned)vectors : 1, 10000);
	}
	if (rc < 0) {
		fprintf(stderr, "%s: cannot join the server at %s: %s\n", prog,
			path, strerror(-rc));
		return 1;
	}
	sh.t = t;
	rc = ipm_open(&sh.ipm, t, &cfg);
	if (rc < 0) {
		fprintf(stderr, "%s: cannot open the %s IPM: %s\n", prog,
			cfg.mode == IPM_MODE_MAILBOX ? "mailbox" : "doorbell",
			strerror(-rc));
		if (rc == -ENOSPC && cfg.mode == IPM_MODE_MAILBOX)
			fprintf(stderr, "%s: every mailbox slot of the region "
				"is taken; the first mailbox peer chose how "
				"many (--slots; by default the most it holds "
				"with 256 KiB queues: 4 in 4 MiB, 8 in "
				"16 MiB)\n", prog);
		if (rc == -ENOTSUP && cfg.mode == IPM_MODE_DOORBELL)
			fprintf(stderr, "%s: doorbell mode needs the "
				"notifications this transport cannot give: "
				"use --mode mailbox\n", prog);
		ivshm_transport_close(t);
		return 1;
	}
	sh.mode = cfg.mode;
	ipm_register_callback(sh.ipm, on_message, &sh);
	lineio_start(&sh.io, "uart:~$ ", run, &sh);
	while (!sh.io.done) {
		struct pollfd fds[4];
		int n = ipm_fds(sh.ipm, fds + 1, 3);
		int due = ipm_timeout(sh.ipm);

		fds[0] = (struct pollfd){ .fd = 0, .events = POLLIN };
		/*
		 * No fd to wait on (a guest without VFIO): poll every 1 ms.
		 * Else wake when the IPM asks (the heartbeat that guests,
		 * which have no presence news, take as our being alive).
		 */
		if (poll(fds, (nfds_t)n + 1,
			 !n ? 1 : due >= 0 && due < 1000 ? due : 1000) < 0 &&
		    errno != EINTR)
			break;
		lineio_read(&sh.io, fds[0].revents);
		rc = ipm_process(sh.ipm);
		if (rc < 0 && rc != -EAGAIN && rc != -ENOTCONN) {
			fprintf(stderr, "%s: %s\n", prog, strerror(-rc));
			sh.failed++;
		}
		/*
		 * Say so as soon as the server hangs up; the commands that
		 * follow fail, and the shell goes on to the end of its input
		 * (a script's remaining lines are each answered).
		 */
		server_gone(&sh);
	}
	lineio_stop(&sh.io);
	ipm_close(sh.ipm);
	return sh.failed || sh.gone ? 1 : 0;
}
