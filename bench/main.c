/* SPDX-License-Identifier: MIT */
/*
 * ipm-bench: measure, print a table, or with --json one JSON object on
 * stdout (the table then goes to stderr). The format and its names are
 * described in docs/bench-json.md (an interface: keep the names).
 */
#include "bench.h"
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef IVSHMEM_VERSION
#define IVSHMEM_VERSION "0"
#endif

/* In the order they run. */
static const struct bench_def *const benches[] = {
	&bench_rtt,
	&bench_tput,
	&bench_fanout,
	&bench_fanin,
	&bench_setup,
	&bench_vm,      /* last: its ratios use rtt.doorbell */
};

/* The targets of docs/bench-json.md, checked at the end of every run. */
static const struct target targets[] = {
	{ "rtt.mailbox.block", 64, "rtt.eventfd", 0, 1, 1.15 },
	{ "rtt.mailbox.poll", 64, "rtt.spin", 64, 1, 1.5 },
	{ "tput.mailbox", 64, "tput.socketpair", 64, 0, 5.0 },
	{ "tput.mailbox", 1048576, "tput.memcpy", 1048576, 0, 0.8 },
};

#define NBENCHES (sizeof(benches) / sizeof(benches[0]))
#define MAX_ONLY 32

static const struct option long_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ "json", no_argument, NULL, 'j' },
	{ "quick", no_argument, NULL, 'q' },
	{ "only", required_argument, NULL, 'o' },
	{ "server", required_argument, NULL, 's' },
	{ "no-pin", no_argument, NULL, 'P' },
	{ "vm", no_argument, NULL, 'V' + 256 },
	{ "vm-images", required_argument, NULL, 'I' },
	{ "vm-pings", required_argument, NULL, 'N' },
	{ NULL, 0, NULL, 0 },
};

static void usage(const char *prog)
{
	FILE *f = stdout;

	fprintf(f,
"Usage: %s [OPTION]...\n"
"Benchmark ivshmem-ipm: each figure next to a baseline measured in the same\n"
"run. Prints a table, or with --json one JSON object on stdout.\n"
"\n"
"  -h, --help         show this help and exit\n"
"  -V, --version      show the version and exit\n"
"      --json         print the results as JSON on stdout; the table and the\n"
"                     progress go to stderr\n"
"      --quick        few iterations (for the test suite): the figures are\n"
"                     rough\n"
"      --only PREFIX  only the figures whose name starts with PREFIX (may be\n"
"                     repeated); their baselines are measured too\n"
"      --server PATH  the ivshmem-server to start (default: the one in this\n"
"                     build tree, ../src/server/ivshmem-server from the\n"
"                     directory of this program, else ivshmem-server\n"
"                     beside it, as installed)\n"
"      --no-pin       do not pin this process to a CPU\n"
"      --vm           also the VM figures (rtt.vm.*): boots Linux guests\n"
"                     under QEMU; implied by an --only PREFIX that starts\n"
"                     with rtt.vm\n"
"      --vm-images DIR\n"
"                     the guests' images are DIR/ARCH, as made by\n"
"                     tests/vm/build-guest.sh (default: ../vm from the\n"
"                     directory of this program, the build tree's)\n"
"      --vm-pings N   round trips per VM figure, 1 to 1000000 (default\n"
"                     2000, 30 with --quick)\n"
"\n"
"Exit status: 0, 1 when a figure failed, 2 on a usage error, 77 when the\n"
"VM figures were asked for and cannot run here (no image, no QEMU).\n"
"\n"
"The JSON format: docs/bench-json.md in the source tree.\n"
"\n"
"Figures:", prog);
	for (size_t i = 0; i < NBENCHES; i++) {
		if (benches[i]->optin)
			fprintf(f, "\nWith --vm:");
		for (int j = 0; benches[i]->figures[j]; j++)
			fprintf(f, " %s", benches[i]->figures[j]);
	}
	fprintf(f, "\n");
}

/* A path in the build tree: 'rel' from this program's directory. */
static int build_path(char *buf, size_t len, const char *rel)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n < 0)
		return -errno;
	exe[n] = '\0';
	if ((size_t)snprintf(buf, len, "%s/%s", dirname(exe), rel) >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* Will this bench run: one of its figures selected, --vm if it needs it? */
static int bench_wanted(const struct bench_ctx *ctx,
			const struct bench_def *b)
{
	int wanted = 0;

	if (b->optin && !ctx->vm)
		return 0;
	for (int j = 0; b->figures[j]; j++)
		wanted |= bench_selected(ctx, b->figures[j]);
	return wanted;
}

/*
 * Pin ourselves to the last CPU we may use and leave the others to the
 * processes we start (the server, helpers), where there are others.
 */
static void pin(struct bench_ctx *ctx)
{
	cpu_set_t allowed, one;
	int last = -1;

	ctx->bench_cpu = -1;
	if (sched_getaffinity(0, sizeof(allowed), &allowed) < 0) {
		ctx->cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
		return;
	}
	ctx->cpus = CPU_COUNT(&allowed);
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &allowed))
			last = c;
	if (last < 0)
		return;
	CPU_ZERO(&one);
	CPU_SET(last, &one);
	if (sched_setaffinity(0, sizeof(one), &one) < 0)
		return;
	ctx->pinned = 1;
	ctx->bench_cpu = last;
	ctx->others = allowed;
	if (ctx->cpus > 1)
		CPU_CLR(last, &ctx->others);
}

int main(int argc, char **argv)
{
	static char server[PATH_MAX], images[PATH_MAX];
	static const char *only[MAX_ONLY + 1];
	struct bench_ctx ctx = { .bench_cpu = -1 };
	struct report_meta meta = {
		.tool = "ipm-bench",
		.version = IVSHMEM_VERSION,
		.targets = targets,
		.ntargets = sizeof(targets) / sizeof(targets[0]),
	};
	const char *prog = cli_prog_name(argv[0], "ipm-bench");
	int json = 0, no_pin = 0, nonly = 0, failed = 0, ran = 0, opt, rc;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":hV", long_opts, NULL)) != -1) {
		long n;

		switch (opt) {
		case 'h':
			usage(prog);
			return 0;
		case 'V':
			cli_print_version(prog);
			return 0;
		case 'j':
			json = 1;
			break;
		case 'q':
			ctx.quick = 1;
			break;
		case 'o':
			if (nonly == MAX_ONLY)
				return cli_usage_error(prog, "more than %d "
						       "--only", MAX_ONLY);
			only[nonly++] = optarg;
			break;
		case 's':
			snprintf(server, sizeof(server), "%s", optarg);
			break;
		case 'P':
			no_pin = 1;
			break;
		case 'V' + 256:
			ctx.vm = 1;
			break;
		case 'I':
			snprintf(images, sizeof(images), "%s", optarg);
			break;
		case 'N':
			if (cli_parse_long(optarg, 1, 1000000, &n) < 0)
				return cli_usage_error(prog, "--vm-pings: '%s' "
						       "is not a count from 1 "
						       "to 1000000", optarg);
			ctx.vm_pings = (unsigned)n;
			break;
		default:
			return cli_bad_option(prog, argv, opt);
		}
	}
	if (optind < argc)
		return cli_usage_error(prog, "unexpected argument '%s'",
				       argv[optind]);
	ctx.only = only;
	/* Asking for VM figures by name is asking for the VMs. */
	for (int i = 0; i < nonly; i++)
		if (!strncmp(only[i], "rtt.vm", strlen("rtt.vm")))
			ctx.vm = 1;
	/*
	 * The default: the build tree's server, or installed, the one beside
	 * us in bin/. build_path() fails only without /proc/self/exe.
	 */
	if (!server[0] &&
	    ((rc = build_path(server, sizeof(server),
			      "../src/server/ivshmem-server")) < 0 ||
	     (access(server, X_OK) < 0 &&
	      (rc = build_path(server, sizeof(server), "ivshmem-server")) < 0))) {
		fprintf(stderr, "%s: cannot find ivshmem-server (use --server):"
			" %s\n", prog, strerror(-rc));
		return 2;
	}
	if (access(server, X_OK) < 0) {
		fprintf(stderr, "%s: %s: %s (use --server)\n", prog, server,
			strerror(errno));
		return 2;
	}
	ctx.server_path = server;
	if (!images[0] && (rc = build_path(images, sizeof(images),
					   "../vm")) < 0) {
		fprintf(stderr, "%s: cannot find the guest images (use "
			"--vm-images): %s\n", prog, strerror(-rc));
		return 2;
	}
	ctx.vm_images = images;
	for (size_t i = 0; i < NBENCHES; i++)
		ran |= bench_wanted(&ctx, benches[i]);
	if (!ran)
		return cli_usage_error(prog, "no figure matches --only");
	/* Before measuring anything: what cannot run here fails at once. */
	for (size_t i = 0; i < NBENCHES; i++) {
		const struct bench_def *b = benches[i];

		if (b->check && bench_wanted(&ctx, b) && b->check(&ctx) < 0) {
			fprintf(stderr, "%s: the %s figures cannot run here\n",
				prog, b->name);
			return 77;
		}
	}

	ctx.report = report_new();
	if (!ctx.report)
		return 1;
	if (no_pin) {
		cpu_set_t allowed;

		ctx.cpus = sched_getaffinity(0, sizeof(allowed), &allowed) ?
			   (int)sysconf(_SC_NPROCESSORS_ONLN) :
			   CPU_COUNT(&allowed);
	} else {
		pin(&ctx);
	}
	bench_set_cpus(ctx.cpus);
	rc = bench_sys_init(&ctx);
	if (rc < 0) {
		fprintf(stderr, "%s: mkdtemp: %s\n", prog, strerror(-rc));
		return 1;
	}
	bench_log("%s %s: %d %s, %s, server %s%s", prog, IVSHMEM_VERSION,
		  ctx.cpus, cli_plural((unsigned long)ctx.cpus, "CPU", "CPUs"),
		  ctx.pinned ? "pinned" : "not pinned", server,
		  ctx.quick ? ", quick" : "");
	if (ctx.pinned)
		bench_log("bench on CPU %d, helpers on the %s", ctx.bench_cpu,
			  ctx.cpus > 1 ? "others" : "same");

	for (size_t i = 0; i < NBENCHES; i++) {
		const struct bench_def *b = benches[i];

		if (!bench_wanted(&ctx, b))
			continue;
		rc = b->run(&ctx);
		if (rc < 0) {
			bench_log("%s: %s failed: %s", prog, b->name,
				  strerror(-rc));
			failed = 1;
		}
	}

	meta.cpus = ctx.cpus;
	meta.pinned = ctx.pinned;
	report_table(ctx.report, &meta, json ? stderr : stdout);
	if (json)
		report_json(ctx.report, &meta, stdout);
	fflush(stdout);
	report_free(ctx.report);
	return failed;
}
