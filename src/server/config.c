/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "size.h"
#include "wire.h"

#define PROG "ivshmem-server"

enum {
	OPT_MAX_PEERS = 256,
	OPT_MAX_BACKLOG,
	OPT_SOCKET_MODE,
	OPT_SOCKET_OWNER,
	OPT_SOCKET_GROUP,
	OPT_SHM_MODE,
	OPT_SHM_OWNER,
	OPT_SHM_GROUP,
};

static const struct option long_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "foreground", no_argument, NULL, 'F' },
	{ "pidfile", required_argument, NULL, 'p' },
	{ "socket", required_argument, NULL, 'S' },
	{ "shm", required_argument, NULL, 'M' },
	{ "dir", required_argument, NULL, 'm' },
	{ "hugetlbfs", required_argument, NULL, 'm' },
	{ "size", required_argument, NULL, 'l' },
	{ "vectors", required_argument, NULL, 'n' },
	{ "max-peers", required_argument, NULL, OPT_MAX_PEERS },
	{ "max-backlog", required_argument, NULL, OPT_MAX_BACKLOG },
	{ "socket-mode", required_argument, NULL, OPT_SOCKET_MODE },
	{ "socket-owner", required_argument, NULL, OPT_SOCKET_OWNER },
	{ "socket-group", required_argument, NULL, OPT_SOCKET_GROUP },
	{ "shm-mode", required_argument, NULL, OPT_SHM_MODE },
	{ "shm-owner", required_argument, NULL, OPT_SHM_OWNER },
	{ "shm-group", required_argument, NULL, OPT_SHM_GROUP },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
"Usage: %s [OPTION]...\n"
"Serve shared memory and doorbell eventfds to ivshmem peers: QEMU VMs with an\n"
"ivshmem-doorbell device and host programs. Wire-compatible with QEMU's\n"
"contrib/ivshmem-server and taking the same options.\n"
"\n"
"  -h, --help               show this help and exit\n"
"  -V, --version            show the version and exit\n"
"  -v, --verbose            log more: -v adds each peer's setup and removal,\n"
"                           -vv every message sent; needs -F, as QEMU's\n"
"  -q, --quiet              log warnings and errors only\n"
"  -F, --foreground         stay in the foreground and log to stderr;\n"
"                           without it the server daemonizes once it is\n"
"                           listening and logs to syslog\n"
"  -p, --pidfile=PATH       write the server's pid to PATH\n"
"                           (daemon mode default: " SERVER_DEFAULT_PIDFILE ")\n"
"  -S, --socket=PATH        UNIX socket to listen on\n"
"                           (default: " SERVER_DEFAULT_SOCKET ")\n"
"  -M, --shm=NAME           share a POSIX shared memory object /NAME instead\n"
"                           of the default sealed memfd (QEMU's default is\n"
"                           -M ivshmem); any peer can then shrink it\n"
"  -m, --dir=DIR            share a file created in DIR (and unlinked) instead,\n"
"                           e.g. a hugetlbfs mount; also --hugetlbfs=DIR\n"
"  -l, --size=SIZE          shared memory size; K, M, G and T suffixes are\n"
"                           powers of 1024; must be a power of two of at\n"
"                           least 4K, as QEMU's device requires (default: 4M)\n"
"  -n, --vectors=N          doorbell vectors per peer, 1 to %d (default: 1)\n"
"      --max-peers=N        serve at most N peers at once, 1 to %d\n"
"                           (default: %d)\n"
"      --max-backlog=N      messages a peer may leave unread beyond its own\n"
"                           setup before it is disconnected (default: %u)\n"
"      --socket-mode=MODE   octal permissions of the socket (default: umask)\n"
"      --socket-owner=USER  owner of the socket\n"
"      --socket-group=GROUP group of the socket\n"
"      --shm-mode=MODE      octal permissions of the shared memory (0600)\n"
"      --shm-owner=USER     owner of the shared memory\n"
"      --shm-group=GROUP    group of the shared memory\n"
"\n"
"By default the shared memory is a memfd sealed against shrinking and\n"
"growing before any peer gets it, so no peer can truncate it under the others.\n"
"On SIGINT, SIGTERM or SIGQUIT the server removes its socket, pid file and\n"
"shared memory and exits 0. SIGUSR1 logs a status line (peers, vectors,\n"
"queued messages); SIGHUP and SIGUSR2 are logged and change nothing; SIGPIPE\n"
"is ignored. A stale socket left by a crash is replaced; a socket or\n"
"shared memory object in use by a running server is never touched.\n"
"Peer ids are 0 to 65535; a freed id is handed out again only after the ids\n"
"wrap around. Peers never send anything: a peer that does is disconnected,\n"
"as QEMU's server does.\n"
"A control socket SOCKET.ctl (same owner, group and mode) answers ivshmem-ctl\n"
"without joining. Under systemd: the listening socket is taken from\n"
"LISTEN_FDS (socket activation, its file is left in place), readiness and\n"
"status go to NOTIFY_SOCKET, and log lines carry journal priorities.\n",
		prog, IVPROTO_MAX_VECTORS, IVPROTO_NUM_IDS, IVPROTO_NUM_IDS,
		SERVER_DEFAULT_SLACK);
}

static int parse_uint(const char *s, unsigned long min, unsigned long max,
		      unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int parse_mode(const char *s, mode_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 8);
	if (errno || end == s || *end || v > 07777)
		return -1;
	*out = (mode_t)v;
	return 0;
}

static int parse_user(const char *s, uid_t *out)
{
	struct passwd *pw = getpwnam(s);
	unsigned v;

	if (pw) {
		*out = pw->pw_uid;
		return 0;
	}
	if (parse_uint(s, 0, UINT_MAX - 1, &v) < 0)
		return -1;
	*out = (uid_t)v;
	return 0;
}

static int parse_group(const char *s, gid_t *out)
{
	struct group *gr = getgrnam(s);
	unsigned v;

	if (gr) {
		*out = gr->gr_gid;
		return 0;
	}
	if (parse_uint(s, 0, UINT_MAX - 1, &v) < 0)
		return -1;
	*out = (gid_t)v;
	return 0;
}

/* Explain why QEMU's device cannot map 'size', naming the nearest ones. */
static void bad_size(const char *text, uint64_t size)
{
	char lo[32], hi[32];
	uint64_t below = SERVER_MIN_SIZE, above = SERVER_MIN_SIZE;

	if (size > SERVER_MIN_SIZE) {
		below = UINT64_C(1) << (63 - __builtin_clzll(size));
		above = below < (UINT64_C(1) << 63) ? below << 1 : below;
	}
	size_format(below, lo, sizeof(lo));
	size_format(above, hi, sizeof(hi));
	if (size < SERVER_MIN_SIZE || above == below)
		cli_usage_error(PROG, "invalid size '%s' (%llu bytes): QEMU's "
				"ivshmem device needs a power of two of at "
				"least 4K; the nearest valid size is %s", text,
				(unsigned long long)size,
				size < SERVER_MIN_SIZE ? hi : lo);
	else
		cli_usage_error(PROG, "invalid size '%s' (%llu bytes): QEMU's "
				"ivshmem device needs a power of two of at "
				"least 4K; the nearest valid sizes are %s and "
				"%s", text, (unsigned long long)size, lo, hi);
}

int config_parse(struct server_config *cfg, int argc, char **argv, FILE *out)
{
	const char *prog = cli_prog_name(argc > 0 ? argv[0] : NULL, PROG);
	const char *size_text = "4M";
	int c;

	*cfg = (struct server_config){
		.socket_path = SERVER_DEFAULT_SOCKET,

		.shm_size = SERVER_DEFAULT_SIZE,
		.vectors = SERVER_DEFAULT_VECTORS,
		.max_peers = IVPROTO_NUM_IDS,
		.queue_slack = SERVER_DEFAULT_SLACK,
		.socket_mode = (mode_t)-1,
		.socket_uid = (uid_t)-1,
		.socket_gid = (gid_t)-1,
		.shm_mode = 0600,
		.shm_uid = (uid_t)-1,
		.shm_gid = (gid_t)-1,
	};
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hVvqFp:S:M:m:l:n:", long_opts,
				NULL)) != -1) {
		const char *what = NULL;

		switch (c) {
		case 'h':
			usage(out, prog);
			return 1;
		case 'V':
			fflush(out);
			cli_print_version(PROG);
			return 1;
		case 'v':
			cfg->verbosity = cfg->verbosity < 0 ? 1 : cfg->verbosity + 1;
			break;
		case 'q':
			cfg->verbosity = -1;
			break;
		case 'F':
			cfg->foreground = 1;
			break;
		case 'p':
			cfg->pid_file = optarg;
			break;
		case 'S':
			cfg->socket_path = optarg;
			break;
		case 'M':
			cfg->shm_name = optarg;
			cfg->shm_dir = NULL;
			break;
		case 'm':
			cfg->shm_dir = optarg;
			cfg->shm_name = NULL;
			break;
		case 'l': {
			int rc = size_parse(optarg, &cfg->shm_size);

			if (rc < 0) {
				cli_usage_error(PROG, "invalid size '%s': %s",
					optarg, rc == -ERANGE ? "too large" :
					"expected a number with an optional K, M, G or T suffix");
				return -1;
			}
			size_text = optarg;
			break;
		}
		case 'n':
			if (parse_uint(optarg, 1, IVPROTO_MAX_VECTORS, &cfg->vectors))
				what = "vectors: expected 1 to 64";
			break;
		case OPT_MAX_PEERS:
			if (parse_uint(optarg, 1, IVPROTO_NUM_IDS, &cfg->max_peers))
				what = "max-peers: expected 1 to 65536";
			break;
		case OPT_MAX_BACKLOG:
			if (parse_uint(optarg, 1, 1u << 24, &cfg->queue_slack))
				what = "max-backlog: expected 1 to 16777216";
			break;
		case OPT_SOCKET_MODE:
			if (parse_mode(optarg, &cfg->socket_mode))
				what = "socket-mode: expected an octal mode";
			break;
		case OPT_SHM_MODE:
			if (parse_mode(optarg, &cfg->shm_mode))
				what = "shm-mode: expected an octal mode";
			break;
		case OPT_SOCKET_OWNER:
			if (parse_user(optarg, &cfg->socket_uid))
				what = "socket-owner: no such user";
			break;
		case OPT_SHM_OWNER:
			if (parse_user(optarg, &cfg->shm_uid))
				what = "shm-owner: no such user";
			break;
		case OPT_SOCKET_GROUP:
			if (parse_group(optarg, &cfg->socket_gid))
				what = "socket-group: no such group";
			break;
		case OPT_SHM_GROUP:
			if (parse_group(optarg, &cfg->shm_gid))
				what = "shm-group: no such group";
			break;
		case ':':
		default:
			cli_bad_option(PROG, argv, c);
			return -1;
		}
		if (what) {
			cli_usage_error(PROG, "invalid %s, got '%s'", what,
					optarg);
			return -1;
		}
	}
	if (optind < argc) {
		cli_usage_error(PROG, "unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if (!size_is_pow2(cfg->shm_size) || cfg->shm_size < SERVER_MIN_SIZE) {
		bad_size(size_text, cfg->shm_size);
		return -1;
	}
	/* As QEMU's: a daemon's verbose output would go nowhere useful. */
	if (cfg->verbosity > 0 && !cfg->foreground) {
		cli_usage_error(PROG, "-v needs -F: a daemon logs to syslog, "
				"which may not exist here");
		return -1;
	}
	if (!cfg->foreground && !cfg->pid_file)
		cfg->pid_file = SERVER_DEFAULT_PIDFILE;
	return 0;
}
