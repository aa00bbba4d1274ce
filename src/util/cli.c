/* SPDX-License-Identifier: MIT */
/* The command-line conventions of cli.h. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#ifndef IVSHMEM_IPM_VERSION
#define IVSHMEM_IPM_VERSION "unknown"
#endif

const char *cli_prog_name(const char *argv0, const char *fallback)
{
	const char *slash;

	if (!argv0 || !*argv0)
		return fallback;
	slash = strrchr(argv0, '/');
	if (slash && slash[1])
		return slash + 1;
	return slash ? fallback : argv0;
}

void cli_print_version(const char *prog)
{
	printf("%s (ivshmem-ipm) %s\n", prog, IVSHMEM_IPM_VERSION);
}

int cli_usage_error(const char *prog, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see '%s --help')\n", prog);
	return CLI_EXIT_USAGE;
}

int cli_bad_option(const char *prog, char *const *argv, int c)
{
	/*
	 * getopt stays on the same word while it walks a group of short
	 * options ("-Fz"): name a short option by optopt, a long one by the
	 * word before optind, without its "=VALUE".
	 */
	const char *word = optind > 0 ? argv[optind - 1] : "";
	int is_long = !strncmp(word, "--", 2);
	int len = is_long ? (int)strcspn(word, "=") : 2;
	char shortname[3] = { '-', (char)optopt, '\0' };

	if (!is_long) {
		if (optopt <= 0 || optopt > 255)
			return cli_usage_error(prog, "bad option '%s'", word);
		word = shortname;
	}
	if (c == ':')
		return cli_usage_error(prog, "option '%.*s' needs a value",
				       len, word);
	if (is_long && optopt && word[len] == '=')
		return cli_usage_error(prog, "option '%.*s' takes no argument",
				       len, word);
	return cli_usage_error(prog, "unknown option '%.*s'", len, word);
}

const char *cli_plural(unsigned long n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

int cli_parse_long(const char *text, long min, long max, long *out)
{
	char *end;
	long v;

	if (!text || !*text || isspace((unsigned char)*text))
		return -EINVAL;
	errno = 0;
	v = strtol(text, &end, 10);
	if (end == text || *end)
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int cli_parse_seconds_ms(const char *text, double max_s, int *out_ms)
{
	char *end;
	double s, ms;

	if (!text || !*text || isspace((unsigned char)*text))
		return -EINVAL;
	/* Decimal only: strtod would take hex ("0x10") and "infinity". */
	if (text[strspn(text, "0123456789.eE+-")])
		return -EINVAL;
	errno = 0;
	s = strtod(text, &end);
	if (end == text || *end || isnan(s) || isinf(s))
		return -EINVAL;
	if (s < 0 || s > max_s || errno == ERANGE)
		return -ERANGE;
	ms = ceil(s * 1000.0);
	if (ms > INT_MAX)
		return -ERANGE;
	*out_ms = (int)ms;
	return 0;
}
