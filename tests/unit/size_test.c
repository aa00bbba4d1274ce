/* SPDX-License-Identifier: MIT */
/* size_parse, size_format, size_format_human and size_is_pow2. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "size.h"
#include "testutil.h"

#define KIB (UINT64_C(1) << 10)
#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)
#define TIB (UINT64_C(1) << 40)
#define PIB (UINT64_C(1) << 50)
#define EIB (UINT64_C(1) << 60)

static void parses(const char *text, uint64_t want)
{
	uint64_t v = 12345;
	int rc = size_parse(text, &v);

	CHECK(rc == 0, "'%s': error %d", text, rc);
	CHECK(v == want, "'%s': %llu, want %llu", text, (unsigned long long)v,
	      (unsigned long long)want);
}

static void rejects(const char *text, int want_rc)
{
	uint64_t v = 12345;
	int rc = size_parse(text, &v);

	CHECK(rc == want_rc, "'%s': rc %d, want %d", text, rc, want_rc);
	CHECK(v == 12345, "'%s': output written on error", text);
}

static void formats(uint64_t size, const char *want)
{
	char buf[32];

	size_format(size, buf, sizeof(buf));
	CHECK(!strcmp(buf, want), "size_format(%llu) = '%s', want '%s'",
	      (unsigned long long)size, buf, want);
}

static void humanizes(uint64_t size, const char *want)
{
	char buf[32];

	size_format_human(size, buf, sizeof(buf));
	CHECK(!strcmp(buf, want), "size_format_human(%llu) = '%s', want '%s'",
	      (unsigned long long)size, buf, want);
}

int main(void)
{
	char buf[32];

	parses("0", 0);
	parses("1", 1);
	parses("4096", 4096);
	parses("4K", 4 * KIB);
	parses("4k", 4 * KIB);
	parses("4KB", 4 * KIB);
	parses("4kb", 4 * KIB);
	parses("4KiB", 4 * KIB);
	parses("4kib", 4 * KIB);
	parses("4M", 4 * MIB);
	parses("4MiB", 4 * MIB);
	parses("2G", 2 * GIB);
	parses("1T", TIB);
	parses("1P", PIB);
	parses("1E", EIB);
	parses("15E", 15 * EIB);
	parses("1536K", 1536 * KIB);
	parses("0K", 0);
	parses("7B", 7);
	parses("007M", 7 * MIB);
	parses("18446744073709551615", UINT64_MAX);
	parses("17179869183G", 17179869183 * GIB);

	rejects("", -EINVAL);
	rejects("K", -EINVAL);
	rejects("-1", -EINVAL);
	rejects("+1", -EINVAL);
	rejects(" 1", -EINVAL);
	rejects("1 ", -EINVAL);
	rejects("1 K", -EINVAL);
	rejects("1X", -EINVAL);
	rejects("1KX", -EINVAL);
	rejects("1KK", -EINVAL);
	rejects("1KBB", -EINVAL);
	rejects("1iB", -EINVAL);
	rejects("1Ki", -EINVAL);
	rejects("1.5G", -EINVAL);
	rejects("0x1000", -EINVAL);
	rejects("18446744073709551616", -ERANGE);
	rejects("99999999999999999999999", -ERANGE);
	rejects("16E", -ERANGE);
	rejects("17179869184G", -ERANGE);

	formats(0, "0");
	formats(1, "1");
	formats(1023, "1023");
	formats(1024, "1K");
	formats(4097, "4097");
	formats(1536 * KIB, "1536K");
	formats(4 * MIB, "4M");
	formats(2 * GIB, "2G");
	formats(3 * TIB, "3T");
	formats(PIB, "1P");
	formats(8 * EIB, "8E");
	formats(UINT64_MAX, "18446744073709551615");
	/* Truncated, still terminated. */
	size_format(1536 * KIB, buf, 3);
	CHECK(!strcmp(buf, "15"), "truncated to '%s'", buf);

	humanizes(0, "0");
	humanizes(1000, "1000");
	humanizes(1023, "1023");
	humanizes(1024, "1K");
	humanizes(1536, "1.5K");
	humanizes(1025, "1.0K");
	humanizes(512 * KIB, "512K");
	humanizes(1023 * KIB + 1023, "1023.9K");
	humanizes(24684084 * KIB, "23.5G");
	humanizes(4 * GIB, "4G");
	humanizes(4 * GIB - 1, "3.9G");
	humanizes(8 * EIB, "8E");
	humanizes(UINT64_MAX, "15.9E");

	CHECK(!size_is_pow2(0), "0 is not a power of two");
	for (int i = 0; i < 64; i++) {
		uint64_t v = UINT64_C(1) << i, back = 0;

		CHECK(size_is_pow2(v), "2^%d", i);
		if (i > 1)
			CHECK(!size_is_pow2(v + 1) && !size_is_pow2(v - 1),
			      "2^%d +- 1", i);
		/* What size_format prints, size_parse reads back. */
		size_format(v, buf, sizeof(buf));
		CHECK(size_parse(buf, &back) == 0 && back == v,
		      "2^%d: '%s' reads back as %llu", i, buf,
		      (unsigned long long)back);
		size_format(v + 3, buf, sizeof(buf));
		CHECK(size_parse(buf, &back) == 0 && back == v + 3,
		      "2^%d+3: '%s' reads back as %llu", i, buf,
		      (unsigned long long)back);
	}
	printf("unit_size: ok\n");
	return 0;
}
