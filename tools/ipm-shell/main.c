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

#include "lineio.h"

#define DEFAULT_SOCKET "/tmp/ivshmem_socket"
#define PREVIEW 256
#define PING_MAX 65536
#define PING_TIMEOUT_MS 2000

struct shell {
	struct ipm *ipm;
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
		/* Copy out, then answer: doorbell rings, mailbox echoes. */
		for (size_t i = 0; i < size && i < PING_MAX; i++)
			sh->echo[i] = (char)p[i];
		ipm_send(ipm, 0, sh->mode == IPM_MODE_MAILBOX ? id :
			 sh->pong_peer, sh->echo,
			 size < PING_MAX ? size : PING_MAX);
		return;
	}
	if (size == 0) {
		/* The sample's line, in both modes. */
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

static int parse_peer(const char *s, uint32_t *peer)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < 0 || v > 65535)
		return -1;
	*peer = (uint32_t)v;
	return 0;
}

static void report_send(struct shell *sh, uint32_t peer, size_t size, int rc)
{
	(void)sh;
	if (rc < 0)
		printf("send to peer %u failed: %s\n", peer, strerror(-rc));
	else if (size)
		printf("sent %zu bytes to peer %u: completed by the receiver\n",
		       size, peer);
}

static void cmd_ivshmem(struct shell *sh)
{
	const struct ivshm_transport *t = ipm_transport(sh->ipm);

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
		printf("cannot open %s: %s\n", path, strerror(errno));
		return;
	}
	buf = malloc(max + 1);
	n = buf ? fread(buf, 1, max + 1, f) : 0;
	fclose(f);
	if (!buf)
		printf("out of memory\n");
	else if (n > max)
		printf("%s is larger than the %zu bytes a message can carry\n",
		       path, max);
	else
		report_send(sh, peer, n, ipm_send(sh->ipm, 1, peer, buf, n));
	free(buf);
}

static void cmd_peers(struct shell *sh)
{
	int ids[64], n = ipm_peers(sh->ipm, ids, 64);

	if (n < 0) {
		printf("peers: %s\n", strerror(-n));
		return;
	}
	printf("%d mailbox peer%s:", n, n == 1 ? "" : "s");
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
	int rc = ipm_send(sh->ipm, 0, peer, buf, size);

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

static void cmd_ping(struct shell *sh, uint32_t peer, long count, long size,
		     int samples)
{
	long long *rtt = calloc((size_t)count, sizeof(*rtt));
	char *buf = calloc(1, (size_t)size + 1);
	long done = 0;
	int rc = 0;

	if (!rtt || !buf) {
		printf("out of memory\n");
		goto out;
	}
	sh->pinging = 1;
	while (done < count && rc == 0)
		rc = ping_once(sh, peer, buf, (size_t)size, &rtt[done++]);
	sh->pinging = 0;
	if (rc < 0) {
		printf("ping peer %u: round trip %ld: %s\n", peer, done,
		       strerror(-rc));
		goto out;
	}
	if (samples)
		print_samples(rtt, count);
	qsort(rtt, (size_t)count, sizeof(*rtt), cmp_ll);
	printf("ping peer %u: %ld round trips of %ld bytes: min %.1f us, "
	       "median %.1f us, p99 %.1f us, max %.1f us\n", peer, count, size,
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
	       "wait SECONDS             handle arrivals for a while\n"
	       "ping PEER [N] [BYTES] [samples]\n"
	       "                         N round trips to PEER (default 100),\n"
	       "                         which must run 'pong'; prints times,\n"
	       "                         with 'samples' each one in ns too\n"
	       "pong PEER|off            answer every arrival: doorbell mode\n"
	       "                         rings PEER, mailbox mode echoes the\n"
	       "                         payload to its sender\n"
	       "help, quit\n");
}

static void serve_for(struct shell *sh, double seconds)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		double spent;

		clock_gettime(CLOCK_MONOTONIC, &t);
		spent = (double)(t.tv_sec - t0.tv_sec) +
			(double)(t.tv_nsec - t0.tv_nsec) / 1e9;
		if (spent >= seconds)
			return;
		if (ipm_poll(sh->ipm, (int)((seconds - spent) * 1000) + 1) < 0)
			return;
	}
}

/* One command line; nonzero ends the shell (NULL: end of input). */
static int run(char *line, void *ctx)
{
	struct shell *sh = ctx;
	char *save = NULL, *cmd, *arg;
	uint32_t peer;

	if (!line)
		return 1;
	cmd = strtok_r(line, " \t\r", &save);
	if (!cmd)
		return 0;
	arg = strtok_r(NULL, " \t\r", &save);
	if (!strcmp(cmd, "ivshmem")) {
		cmd_ivshmem(sh);
	} else if (!strcmp(cmd, "ivshmem_ipm_send")) {
		if (!arg || parse_peer(arg, &peer) < 0)
			printf("usage: ivshmem_ipm_send PEER\n");
		else
			report_send(sh, peer, 0, ipm_send(sh->ipm, 0, peer,
							   NULL, 0));
	} else if (!strcmp(cmd, "send") || !strcmp(cmd, "sendfile")) {
		char *rest = save ? save + strspn(save, " \t") : NULL;

		if (sh->mode != IPM_MODE_MAILBOX)
			printf("%s needs mailbox mode (--mode mailbox)\n", cmd);
		else if (!arg || parse_peer(arg, &peer) < 0 || !rest || !*rest)
			printf("usage: %s PEER %s\n", cmd,
			       cmd[4] ? "PATH" : "TEXT...");
		else if (cmd[4])
			cmd_sendfile(sh, peer, rest);
		else
			report_send(sh, peer, strlen(rest),
				    ipm_send(sh->ipm, 1, peer, rest,
					     strlen(rest)));
	} else if (!strcmp(cmd, "peers")) {
		cmd_peers(sh);
	} else if (!strcmp(cmd, "ping")) {
		char *n = strtok_r(NULL, " \t\r", &save);
		char *b = n ? strtok_r(NULL, " \t\r", &save) : NULL;
		char *s = b ? strtok_r(NULL, " \t\r", &save) : NULL;
		long count = n ? atol(n) : 100, size = b ? atol(b) : 0;

		if (!arg || parse_peer(arg, &peer) < 0 || count < 1 ||
		    count > 1000000 || size < 0 || size > PING_MAX ||
		    (s && strcmp(s, "samples")))
			printf("usage: ping PEER [1..1000000] [0..%d] "
			       "[samples]\n", PING_MAX);
		else
			cmd_ping(sh, peer, count, size, s != NULL);
	} else if (!strcmp(cmd, "pong")) {
		if (arg && !strcmp(arg, "off")) {
			sh->pong = 0;
		} else if (!arg || parse_peer(arg, &peer) < 0) {
			printf("usage: pong PEER|off\n");
		} else {
			sh->pong = 1;
			sh->pong_peer = peer;
		}
	} else if (!strcmp(cmd, "wait")) {
		serve_for(sh, arg ? atof(arg) : 1.0);
	} else if (!strcmp(cmd, "help")) {
		help();
	} else if (!strcmp(cmd, "quit") || !strcmp(cmd, "exit")) {
		return 1;
	} else {
		printf("%s: command not found\n", cmd);
	}
	fflush(stdout);
	return 0;
}

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
"Usage: %s [OPTION]...\n"
"The shell of Zephyr's \"IPM over IVSHMEM\" sample, for a host process\n"
"(through the ivshmem server) or a Linux guest (its ivshmem PCI device).\n"
"Commands come from stdin (a terminal gets line editing): type 'help'.\n"
"\n"
"  -h, --help           show this help and exit\n"
"  -S, --socket=PATH    the ivshmem server's socket (default " DEFAULT_SOCKET ")\n"
"      --pci[=ADDR]     in a Linux guest, as root: use the ivshmem PCI device\n"
"                       at ADDR (default: the first 1af4:1110 device) through\n"
"                       VFIO, or sysfs when VFIO is unavailable (then mailbox\n"
"                       mode only: arrivals are found by polling)\n"
"  -n, --vectors=N      our doorbell vectors: as the server's -n (default 1);\n"
"                       with --pci, the MSI-X vectors to use (default all)\n"
"  -m, --mode=MODE      doorbell (Zephyr's ipm_ivshmem, no payload; default)\n"
"                       or mailbox (payloads in shared memory)\n"
"      --slots=N        mailbox: peer slots when laying out a new region\n"
"                       (default 2)\n", prog);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "socket", required_argument, NULL, 'S' },
		{ "vectors", required_argument, NULL, 'n' },
		{ "mode", required_argument, NULL, 'm' },
		{ "slots", required_argument, NULL, 's' },
		{ "pci", optional_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	struct ipm_config cfg = { .mode = IPM_MODE_DOORBELL };
	const char *path = DEFAULT_SOCKET;
	struct ivshm_transport *t;
	struct shell sh = { 0 };
	const char *pci_addr = NULL;
	unsigned vectors = 0;
	int c, rc, pci = 0;

	while ((c = getopt_long(argc, argv, "hS:n:m:", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout, argv[0]);
			return 0;
		case 'S':
			path = optarg;
			break;
		case 'n':
			vectors = (unsigned)atoi(optarg);
			if (vectors < 1 || vectors > 64) {
				fprintf(stderr, "ipm-shell: -n: 1 to 64\n");
				return 2;
			}
			break;
		case 'm':
			if (!strcmp(optarg, "doorbell")) {
				cfg.mode = IPM_MODE_DOORBELL;
			} else if (!strcmp(optarg, "mailbox")) {
				cfg.mode = IPM_MODE_MAILBOX;
			} else {
				fprintf(stderr, "ipm-shell: --mode: doorbell or "
					"mailbox\n");
				return 2;
			}
			break;
		case 'p':
			pci = 1;
			pci_addr = optarg;
			break;
		case 's':
			cfg.slots = (unsigned)atoi(optarg);
			if (cfg.slots < 2 || cfg.slots > 64) {
				fprintf(stderr, "ipm-shell: --slots: 2 to 64\n");
				return 2;
			}
			break;
		default:
			usage(stderr, argv[0]);
			return 2;
		}
	}
	if (pci) {
		/* The transport tells on stderr which path it took, or why not. */
		rc = ivshm_transport_pci_open(&t, pci_addr, vectors);
		if (rc < 0)
			return 1;
	} else {
		rc = ivshm_transport_host_open(&t, path, vectors ? vectors : 1,
					       10000);
	}
	if (rc < 0) {
		fprintf(stderr, "ipm-shell: cannot join the server at %s: %s\n",
			path, strerror(-rc));
		return 1;
	}
	rc = ipm_open(&sh.ipm, t, &cfg);
	if (rc < 0) {
		fprintf(stderr, "ipm-shell: cannot open the %s IPM: %s\n",
			cfg.mode == IPM_MODE_MAILBOX ? "mailbox" : "doorbell",
			strerror(-rc));
		if (rc == -ENOTSUP && cfg.mode == IPM_MODE_DOORBELL)
			fprintf(stderr, "ipm-shell: doorbell mode needs the "
				"notifications this transport cannot give: "
				"use --mode mailbox\n");
		ivshm_transport_close(t);
		return 1;
	}
	sh.mode = cfg.mode;
	ipm_register_callback(sh.ipm, on_message, &sh);
	lineio_start(&sh.io, "uart:~$ ", run, &sh);
	while (!sh.io.done) {
		struct pollfd fds[4];
		int n = ipm_fds(sh.ipm, fds + 1, 3);

		fds[0] = (struct pollfd){ .fd = 0, .events = POLLIN };
		/* No fd to wait on (a guest without VFIO): poll every 1 ms. */
		if (poll(fds, (nfds_t)n + 1, n ? 1000 : 1) < 0 &&
		    errno != EINTR)
			break;
		lineio_read(&sh.io, fds[0].revents);
		rc = ipm_process(sh.ipm);
		if (rc < 0 && rc != -EAGAIN) {
			printf("ipm: %s\n", strerror(-rc));
			if (rc == -ENOTCONN)
				break;
		}
	}
	lineio_stop(&sh.io);
	ipm_close(sh.ipm);
	return 0;
}
