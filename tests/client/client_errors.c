/* SPDX-License-Identifier: MIT */
/*
 * No server at the path (nothing there, or not a socket that listens):
 * every mode exits 1 saying so. Bad options exit 2; --help exits 0.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "clienttest.h"

static void no_server(const char *path, const char *mode, const char *why)
{
	char out[4096], msg[256];
	const char *argv[8] = { ct_client_bin(), "-S", path, mode, NULL };
	int rc;

	/* Interactive mode reads stdin: give it none. */
	if (!mode)
		argv[3] = NULL;
	else if (!strcmp(mode, "--ring"))
		argv[4] = "all";
	else if (!strcmp(mode, "--wait"))
		argv[4] = "0";
	rc = tu_run(argv, out, sizeof(out), 20);
	CHECK(rc == 1, "%s with no server exited %d:\n%s",
	      mode ? mode : "shell", rc, out);
	snprintf(msg, sizeof(msg), "ivshmem-client: cannot join the server at "
		 "%s: %s\n", path, why);
	CHECK(strstr(out, msg), "no '%s' in:\n%s", msg, out);
}

static void usage_error(const char *const *argv, const char *msg)
{
	char out[4096];
	int rc = tu_run(argv, out, sizeof(out), 20);

	CHECK(rc == 2, "%s exited %d:\n%s", argv[1], rc, out);
	CHECK(strstr(out, msg), "%s: no '%s' in:\n%s", argv[1], msg, out);
}

int main(void)
{
	static const char *const modes[] = { "--dump", "--ring", "--wait",
					     NULL };
	char path[256], file[256], out[8192];
	int fd, rc;

	snprintf(path, sizeof(path), "%s/nothing-here", tu_tmpdir());
	snprintf(file, sizeof(file), "%s/a-file", tu_tmpdir());
	fd = open(file, O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0, "create %s", file);
	close(fd);
	for (int i = 0; i < 4; i++) {
		no_server(path, modes[i], "No such file or directory");
		no_server(file, modes[i], "Connection refused");
	}

	rc = tu_run(ARGV(ct_client_bin(), "--help"), out, sizeof(out), 20);
	CHECK(rc == 0 && strstr(out, "Usage: ") && strstr(out, "--ring") &&
	      strstr(out, "Exit status"), "--help exited %d:\n%s", rc, out);

	usage_error(ARGV(ct_client_bin(), "--bogus"), "--help");
	usage_error(ARGV(ct_client_bin(), "extra"), "unexpected argument");
	usage_error(ARGV(ct_client_bin(), "-n", "0"), "invalid vector count");
	usage_error(ARGV(ct_client_bin(), "-n", "65"), "invalid vector count");
	usage_error(ARGV(ct_client_bin(), "-n", "x"), "invalid vector count");
	usage_error(ARGV(ct_client_bin(), "-n", "4294967297"),
		    "invalid vector count");
	usage_error(ARGV(ct_client_bin(), "--ring"), "--help");
	return 0;
}
