/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the parsers of command-line numbers and sizes. Beyond not
 * crashing, each accepted value must be what the text says: a size
 * formatted back parses to itself, a strict integer is all digits.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "size.h"
#include "testutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[64], back[64];
	uint64_t v, v2;
	long l;
	int ms;

	if (size >= sizeof(text))
		size = sizeof(text) - 1;
	memcpy(text, data, size);
	text[size] = 0;

	if (size_parse(text, &v) == 0) {
		size_format(v, back, sizeof(back));
		CHECK(size_parse(back, &v2) == 0 && v2 == v,
		      "'%s' -> %llu -> '%s' does not parse back", text,
		      (unsigned long long)v, back);
		size_format_human(v, back, sizeof(back));
	}
	if (cli_parse_long(text, LONG_MIN, LONG_MAX, &l) == 0) {
		const char *p = text + (text[0] == '-' || text[0] == '+');

		CHECK(*p, "'%s' accepted without digits", text);
		for (; *p; p++)
			CHECK(isdigit((unsigned char)*p),
			      "'%s' accepted with a non-digit", text);
	}
	if (cli_parse_long(text, 0, 64, &l) == 0)
		CHECK(l >= 0 && l <= 64, "'%s' -> %ld out of [0, 64]", text, l);
	if (cli_parse_seconds_ms(text, 86400, &ms) == 0)
		CHECK(ms >= 0 && ms <= 86400000, "'%s' -> %d ms", text, ms);
	return 0;
}
