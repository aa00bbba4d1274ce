/* SPDX-License-Identifier: MIT */
/*
 * The mailbox checksum (src/ipm/sum.c): CRC-32C's check value, and the
 * CPU-instruction version equal to the table version for every length
 * and alignment, summing alone or while copying (the copy exact).
 */
#include <string.h>

#include "sum.h"
#include "testutil.h"

int main(void)
{
	static uint8_t src[4096 + 16], a[4096], b[4096];
	uint64_t x = 88172645463325252ULL;
	int hw = ipm_sum_hw();

	/* The standard check: CRC-32C("123456789") = 0xe3069283. */
	CHECK((~ipm_crc32c(0xffffffffu, "123456789", 9, 0)) == 0xe3069283u,
	      "table CRC-32C");
	CHECK((~ipm_crc32c(0xffffffffu, "123456789", 9, hw)) == 0xe3069283u,
	      "instruction CRC-32C (hw %d)", hw);
	for (size_t i = 0; i < sizeof(src); i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		src[i] = (uint8_t)x;
	}
	for (size_t n = 0; n <= 4096; n += n < 300 ? 1 : 997) {
		for (size_t off = 0; off < 8; off += 3) {
			uint32_t l1[IPM_SUM_LANES], l2[IPM_SUM_LANES];
			uint32_t l3[IPM_SUM_LANES];
			uint8_t hdr[36];

			ipm_lanes_init(l1);
			ipm_lanes_init(l2);
			ipm_lanes_init(l3);
			memset(a, 0, sizeof(a));
			memset(b, 0, sizeof(b));
			ipm_sum_copy(a, src + off, n, l1, 0);
			ipm_sum_copy(b, src + off, n, l2, hw);
			ipm_sum_copy(NULL, src + off, n, l3, hw);
			CHECK(!memcmp(l1, l2, sizeof(l1)) &&
			      !memcmp(l1, l3, sizeof(l1)), "lanes differ at "
			      "%zu bytes, offset %zu", n, off);
			CHECK(!memcmp(a, src + off, n) &&
			      !memcmp(b, src + off, n), "copy at %zu", n);
			memcpy(hdr, src + n % 64, sizeof(hdr));
			ipm_sum_head(l1, n * 64, hdr, 0);
			ipm_sum_head(l2, n * 64, hdr, hw);
			ipm_sum_copy(NULL, src + off, n, l1, 0);
			ipm_sum_copy(NULL, src + off, n, l2, hw);
			CHECK(ipm_sum_fold(l1, 0) == ipm_sum_fold(l2, hw),
			      "record sum");
			/* All in one call, both ways, with a far index. */
			uint64_t far = n * 64 + (x >> 24 << 6);
			uint32_t want;

			ipm_sum_head(l1, far, hdr, 0);
			memset(a, 0, sizeof(a));
			ipm_sum_copy(a, src + off, n, l1, 0);
			want = ipm_sum_fold(l1, 0);
			memset(b, 0, sizeof(b));
			CHECK(ipm_sum_rec(b, src + off, n, far, hdr, hw) ==
			      want && !memcmp(b, src + off, n) &&
			      ipm_sum_rec(NULL, src + off, n, far, hdr, 0) ==
			      want, "ipm_sum_rec at %zu bytes, offset %zu", n,
			      off);
			hdr[35] ^= 0x80;
			CHECK(ipm_sum_rec(NULL, src + off, n, far, hdr, hw) !=
			      want, "the last header byte not summed");
			hdr[35] ^= 0x80;
			ipm_sum_head(l1, n * 64, hdr, 0);
			ipm_sum_copy(NULL, src + off, n, l1, 0);
			hdr[0] ^= 1;
			ipm_sum_head(l2, n * 64, hdr, hw);
			ipm_sum_copy(NULL, src + off, n, l2, hw);
			CHECK(ipm_sum_fold(l1, 0) != ipm_sum_fold(l2, hw),
			      "a header bit flipped, the same sum");
		}
	}
	for (int i = 0; i < 1000; i++) {
		uint64_t v[3];

		memcpy(v, src + i, sizeof(v));
		CHECK(ipm_ack_check(v[0], v[1], v[2], 0) ==
		      ipm_ack_check(v[0], v[1], v[2], hw), "ack check %d", i);
	}
	CHECK(ipm_ack_check(7, 1, 2, 0) == ipm_ack_check(7, 1, 2, hw) &&
	      ipm_ack_check(7, 1, 2, 0) != ipm_ack_check(8, 1, 2, 0),
	      "ack check");
	printf("ipm_sum: table and %s agree\n",
	       hw ? "CRC instruction" : "table (no CRC instruction here)");
	return 0;
}
