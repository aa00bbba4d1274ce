/* SPDX-License-Identifier: MIT */
/* The command-line conventions: program names, strict numbers. */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "cli.h"
#include "testutil.h"

static void check_long(const char *text, long min, long max, int want_rc,
		       long want)
{
	long v = -12345;
	int rc = cli_parse_long(text, min, max, &v);

	CHECK(rc == want_rc, "cli_parse_long(\"%s\") = %d, want %d", text, rc,
	      want_rc);
	if (rc == 0)
		CHECK(v == want, "\"%s\" -> %ld, want %ld", text, v, want);
}

static void check_secs(const char *text, int want_rc, int want_ms)
{
	int ms = -1;
	int rc = cli_parse_seconds_ms(text, 86400, &ms);

	CHECK(rc == want_rc, "cli_parse_seconds_ms(\"%s\") = %d, want %d",
	      text, rc, want_rc);
	if (rc == 0)
		CHECK(ms == want_ms, "\"%s\" -> %d ms, want %d", text, ms,
		      want_ms);
}

int main(void)
{
	CHECK(!strcmp(cli_prog_name("./tools/ipm-shell", "x"), "ipm-shell"),
	      "path stripped");
	CHECK(!strcmp(cli_prog_name("ipm-shell", "x"), "ipm-shell"), "bare");
	CHECK(!strcmp(cli_prog_name("", "x"), "x"), "empty");
	CHECK(!strcmp(cli_prog_name(NULL, "x"), "x"), "NULL");
	CHECK(!strcmp(cli_prog_name("dir/", "x"), "x"), "trailing slash");
	CHECK(!strcmp(cli_plural(1, "peer", "peers"), "peer"), "one");
	CHECK(!strcmp(cli_plural(0, "peer", "peers"), "peers"), "zero");
	CHECK(!strcmp(cli_plural(2, "peer", "peers"), "peers"), "two");

	check_long("1", 0, 10, 0, 1);
	check_long("0", 0, 10, 0, 0);
	check_long("-3", -5, 10, 0, -3);
	check_long("10", 0, 10, 0, 10);
	check_long("11", 0, 10, -ERANGE, 0);
	check_long("-1", 0, 10, -ERANGE, 0);
	check_long("1x", 0, 10, -EINVAL, 0);
	check_long("3x", 0, 64, -EINVAL, 0);
	check_long("", 0, 10, -EINVAL, 0);
	check_long(" 1", 0, 10, -EINVAL, 0);
	check_long("1 ", 0, 10, -EINVAL, 0);
	check_long("-", 0, 10, -EINVAL, 0);
	check_long("0x10", 0, 100, -EINVAL, 0);
	check_long("99999999999999999999", 0, LONG_MAX, -ERANGE, 0);

	check_secs("1", 0, 1000);
	check_secs("0", 0, 0);
	check_secs("1.5", 0, 1500);
	check_secs("0.0001", 0, 1);
	check_secs("nan", -EINVAL, 0);
	check_secs("NaN", -EINVAL, 0);
	check_secs("inf", -EINVAL, 0);
	check_secs("-inf", -EINVAL, 0);
	check_secs("1e308", -ERANGE, 0);
	check_secs("-1", -ERANGE, 0);
	check_secs("1s", -EINVAL, 0);
	check_secs("", -EINVAL, 0);
	check_secs("0x10", -EINVAL, 0);
	check_secs("infinity", -EINVAL, 0);
	check_secs("1e3", 0, 1000000);
	check_secs("86401", -ERANGE, 0);
	return 0;
}
