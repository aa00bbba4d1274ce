/* SPDX-License-Identifier: MIT */
/* --help, --version and bad options: output and exit status. */
#include <string.h>

#include "cli_util.h"

#ifndef IVSHMEM_VERSION
#error "the build passes IVSHMEM_VERSION"
#endif

static void expect_ok(const char *const *args, const char *const *needles)
{
	const char *argv[8] = { cli_server_bin() };
	char out[16384];
	int rc, argc = 1;

	for (int i = 0; args[i]; i++)
		argv[argc++] = args[i];
	argv[argc] = NULL;
	rc = tu_run(argv, out, sizeof(out), 10);
	CHECK(rc == 0, "'%s' exited %d:\n%s", args[0], rc, out);
	for (int i = 0; needles[i]; i++)
		CHECK(strstr(out, needles[i]), "'%s' output lacks '%s':\n%s",
		      args[0], needles[i], out);
}

/*
 * A usage error: exit 2 and exactly one line on stderr, naming the bare
 * program and pointing at --help, with 'needle' in it.
 */
static void expect_usage(const char *const *args, const char *needle)
{
	const char *argv[16] = { cli_server_bin() };
	char out[4096];
	int rc, argc = 1;
	size_t len;

	for (int i = 0; args[i]; i++)
		argv[argc++] = args[i];
	argv[argc] = NULL;
	rc = tu_run(argv, out, sizeof(out), 10);
	len = strlen(out);
	printf("%s -> exit %d: %s", args[0], rc, out);
	CHECK(rc == 2, "'%s': exit %d, not 2:\n%s", args[0], rc, out);
	CHECK(!strncmp(out, "ivshmem-server: ", 16), "'%s': not prefixed "
	      "with the bare program name:\n%s", args[0], out);
	CHECK(len && out[len - 1] == '\n' && !memchr(out, '\n', len - 1),
	      "'%s': not one line:\n%s", args[0], out);
	CHECK(strstr(out, "(see 'ivshmem-server --help')\n"), "'%s': no "
	      "pointer to --help:\n%s", args[0], out);
	CHECK(strstr(out, needle), "'%s': lacks '%s':\n%s", args[0], needle,
	      out);
}

int main(void)
{
	struct tu_server s;
	const char *help[] = {
		"Usage:", "--socket", "--shm", "--size", "--vectors",
		"--pidfile", "--foreground", "--hugetlbfs", "--socket-mode",
		"--socket-owner", "--socket-group", "--shm-mode", "--shm-owner",
		"--shm-group", "--max-peers", "--max-backlog", "--version",
		NULL
	};
	const char *version[] = { "ivshmem-server", IVSHMEM_VERSION, NULL };
	const char *hint[] = { "--help", NULL };

	expect_ok(CLI_ARGS("--help"), help);
	expect_ok(CLI_ARGS("-h"), help);
	/* Help wins over an error later on the line, as with most tools. */
	expect_ok(CLI_ARGS("-h", "-n", "0"), help);
	expect_ok(CLI_ARGS("-V"), version);
	expect_ok(CLI_ARGS("--version"), version);

	/*
	 * Private paths everywhere, so that a parser that wrongly accepted
	 * a line would not touch the default socket or shm.
	 */
	cli_names(&s, "usage");
#define BAD(...) cli_expect_fail(CLI_ARGS("-F", "-S", s.socket_path, "-M", \
					  s.shm_name, __VA_ARGS__), \
				 needles, s.socket_path, s.shm_name)
	{
		const char *needles[] = { "'--bogus'", "unknown", "--help",
					  NULL };
		BAD("--bogus");
	}
	{
		const char *needles[] = { "'-z'", "unknown", "--help", NULL };
		BAD("-z");
		/* -z in the middle or at the front of a group of options. */
		BAD("-Fz");
		BAD("-zF");
		BAD("-vzq");
	}
	{
		const char *needles[] = { "'-S'", "needs a value", "--help",
					  NULL };
		cli_expect_fail(CLI_ARGS("-F", "-M", s.shm_name, "-S"),
				needles, NULL, s.shm_name);
	}
	{
		const char *needles[] = { "'--size'", "needs a value", NULL };
		BAD("--size");
	}
	{
		const char *needles[] = { "unexpected argument 'extra'",
					  "--help", NULL };
		BAD("extra");
	}
	cli_expect_fail(CLI_ARGS("--help=x"), hint, NULL, NULL);

	/* The conventions of every program (src/util/cli.h). */
	expect_usage(CLI_ARGS("--bogus", "-F", "-S", s.socket_path), "'--bogus'");
	expect_usage(CLI_ARGS("-F", "-n", "0", "-S", s.socket_path), "vectors");
	expect_usage(CLI_ARGS("-F", "-n", "1x", "-S", s.socket_path), "'1x'");
	expect_usage(CLI_ARGS("-F", "-l", "3M", "-S", s.socket_path),
		     "nearest valid sizes are 2M and 4M");
	expect_usage(CLI_ARGS("-F", "-S", s.socket_path, "extra"), "'extra'");
	/* As QEMU's server: verbose output needs the foreground. */
	expect_usage(CLI_ARGS("-v", "-S", s.socket_path), "-v needs -F");
	CHECK(!cli_path_exists(s.socket_path), "a usage error made a socket");
	{
		const char *argv[] = { cli_server_bin(), "--version", NULL };
		char out[256], want[128];

		snprintf(want, sizeof(want), "ivshmem-server (ivshmem-ipm) "
			 "%s\n", IVSHMEM_VERSION);
		CHECK(tu_run(argv, out, sizeof(out), 10) == 0 &&
		      !strcmp(out, want), "--version printed '%s'", out);
	}
	printf("cli_usage: ok\n");
	return 0;
}
