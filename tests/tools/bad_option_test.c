/* SPDX-License-Identifier: MIT */
/*
 * cli_bad_option(): the one-line usage error for what getopt_long()
 * refused, naming the option as it was typed (ipm-shell and ipm-bench use
 * it; tests/conventions checks the programs).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "testutil.h"

static const struct option opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "vectors", required_argument, NULL, 'n' },
	{ NULL, 0, NULL, 0 },
};

/* Parse args as a program would; the usage error's line, or "" if none. */
static void parse(char **argv, int argc, char *line, size_t len)
{
	FILE *err = tmpfile();
	int saved = dup(2), c, rc = 0;

	CHECK(err && saved >= 0, "tmpfile/dup");
	fflush(stderr);
	dup2(fileno(err), 2);
	optind = 0; /* a full reset of getopt between parses */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hFn:", opts, NULL)) != -1)
		if (c == '?' || c == ':') {
			rc = cli_bad_option("prog", argv, c);
			break;
		}
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(err);
	line[0] = '\0';
	if (!fgets(line, (int)len, err))
		line[0] = '\0';
	CHECK(fgetc(err) == EOF, "more than one line: %s", line);
	fclose(err);
	CHECK(!line[0] || rc == CLI_EXIT_USAGE, "rc %d", rc);
}

static void expect(const char *arg, const char *what)
{
	char *argv[] = { "prog", (char *)arg, NULL }, line[256], want[256];

	snprintf(want, sizeof(want), "prog: %s (see 'prog --help')\n", what);
	parse(argv, 2, line, sizeof(line));
	CHECK(!strcmp(line, want), "%s: '%s', want '%s'", arg, line, want);
}

int main(void)
{
	expect("--bogus", "unknown option '--bogus'");
	expect("--bogus=3", "unknown option '--bogus'");
	expect("-Z", "unknown option '-Z'");
	expect("-FZ", "unknown option '-Z'");
	expect("-n", "option '-n' needs a value");
	expect("--vectors", "option '--vectors' needs a value");
	expect("--help=1", "option '--help' takes no argument");
	expect("--vec", "option '--vec' needs a value");
	printf("bad_option: ok\n");
	return 0;
}
