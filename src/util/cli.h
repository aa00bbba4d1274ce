/* SPDX-License-Identifier: MIT */
/*
 * The conventions every program of the project follows on its command
 * line, so they behave alike:
 *   --help     usage on stdout, exit 0
 *   --version  "PROG (ivshmem-ipm) VERSION" on stdout, exit 0
 *   a usage error: one line on stderr, "PROG: WHAT (see 'PROG --help')",
 *              exit CLI_EXIT_USAGE
 *   every other message starts with "PROG: ", the bare program name.
 * Numbers on the command line are parsed whole: "1x", "", " 1" and values
 * out of range are errors.
 */
#ifndef IVSHMEM_UTIL_CLI_H
#define IVSHMEM_UTIL_CLI_H

#include <stdint.h>

#define CLI_EXIT_USAGE 2

/* argv[0] without its directories ("./tools/ipm-shell" -> "ipm-shell"). */
const char *cli_prog_name(const char *argv0, const char *fallback);

/* Print the --version line for prog on stdout. */
void cli_print_version(const char *prog);

/* Print the one-line usage error; returns CLI_EXIT_USAGE to exit with. */
int cli_usage_error(const char *prog, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * The usage error for what getopt_long() returned as c, run with opterr = 0
 * and an optstring that starts with ':' (so c is ':' for a missing
 * argument, '?' for the rest): names the option as it was typed, e.g.
 * "PROG: unknown option '--bogus' (see 'PROG --help')". Returns
 * CLI_EXIT_USAGE.
 */
int cli_bad_option(const char *prog, char *const *argv, int c);

/* "peer" or "peers", for "%lu %s". */
const char *cli_plural(unsigned long n, const char *one, const char *many);

/*
 * Parse a whole decimal integer in [min, max]: 0, -EINVAL for anything
 * that is not one (empty, sign-only, trailing characters, leading space),
 * -ERANGE when out of range.
 */
int cli_parse_long(const char *text, long min, long max, long *out);

/*
 * Parse a finite decimal number of seconds (e.g. "1.5") in [0, max_s] into
 * milliseconds, rounded up: -EINVAL for NaN, infinities and malformed text,
 * -ERANGE beyond max_s.
 */
int cli_parse_seconds_ms(const char *text, double max_s, int *out_ms);

#endif
