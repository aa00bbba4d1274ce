/* SPDX-License-Identifier: MIT */
/* The mailbox's checksum: see sum.h. */
#include "ipmc_layout.h"
#include "sum.h"

/* Freestanding: no <string.h> needed (the compiler emits memcpy). */
#define memcpy __builtin_memcpy

static const uint32_t crc_table[256] = {
	0x00000000, 0xf26b8303, 0xe13b70f7, 0x1350f3f4, 0xc79a971f, 0x35f1141c,
	0x26a1e7e8, 0xd4ca64eb, 0x8ad958cf, 0x78b2dbcc, 0x6be22838, 0x9989ab3b,
	0x4d43cfd0, 0xbf284cd3, 0xac78bf27, 0x5e133c24, 0x105ec76f, 0xe235446c,
	0xf165b798, 0x030e349b, 0xd7c45070, 0x25afd373, 0x36ff2087, 0xc494a384,
	0x9a879fa0, 0x68ec1ca3, 0x7bbcef57, 0x89d76c54, 0x5d1d08bf, 0xaf768bbc,
	0xbc267848, 0x4e4dfb4b, 0x20bd8ede, 0xd2d60ddd, 0xc186fe29, 0x33ed7d2a,
	0xe72719c1, 0x154c9ac2, 0x061c6936, 0xf477ea35, 0xaa64d611, 0x580f5512,
	0x4b5fa6e6, 0xb93425e5, 0x6dfe410e, 0x9f95c20d, 0x8cc531f9, 0x7eaeb2fa,
	0x30e349b1, 0xc288cab2, 0xd1d83946, 0x23b3ba45, 0xf779deae, 0x05125dad,
	0x1642ae59, 0xe4292d5a, 0xba3a117e, 0x4851927d, 0x5b016189, 0xa96ae28a,
	0x7da08661, 0x8fcb0562, 0x9c9bf696, 0x6ef07595, 0x417b1dbc, 0xb3109ebf,
	0xa0406d4b, 0x522bee48, 0x86e18aa3, 0x748a09a0, 0x67dafa54, 0x95b17957,
	0xcba24573, 0x39c9c670, 0x2a993584, 0xd8f2b687, 0x0c38d26c, 0xfe53516f,
	0xed03a29b, 0x1f682198, 0x5125dad3, 0xa34e59d0, 0xb01eaa24, 0x42752927,
	0x96bf4dcc, 0x64d4cecf, 0x77843d3b, 0x85efbe38, 0xdbfc821c, 0x2997011f,
	0x3ac7f2eb, 0xc8ac71e8, 0x1c661503, 0xee0d9600, 0xfd5d65f4, 0x0f36e6f7,
	0x61c69362, 0x93ad1061, 0x80fde395, 0x72966096, 0xa65c047d, 0x5437877e,
	0x4767748a, 0xb50cf789, 0xeb1fcbad, 0x197448ae, 0x0a24bb5a, 0xf84f3859,
	0x2c855cb2, 0xdeeedfb1, 0xcdbe2c45, 0x3fd5af46, 0x7198540d, 0x83f3d70e,
	0x90a324fa, 0x62c8a7f9, 0xb602c312, 0x44694011, 0x5739b3e5, 0xa55230e6,
	0xfb410cc2, 0x092a8fc1, 0x1a7a7c35, 0xe811ff36, 0x3cdb9bdd, 0xceb018de,
	0xdde0eb2a, 0x2f8b6829, 0x82f63b78, 0x709db87b, 0x63cd4b8f, 0x91a6c88c,
	0x456cac67, 0xb7072f64, 0xa457dc90, 0x563c5f93, 0x082f63b7, 0xfa44e0b4,
	0xe9141340, 0x1b7f9043, 0xcfb5f4a8, 0x3dde77ab, 0x2e8e845f, 0xdce5075c,
	0x92a8fc17, 0x60c37f14, 0x73938ce0, 0x81f80fe3, 0x55326b08, 0xa759e80b,
	0xb4091bff, 0x466298fc, 0x1871a4d8, 0xea1a27db, 0xf94ad42f, 0x0b21572c,
	0xdfeb33c7, 0x2d80b0c4, 0x3ed04330, 0xccbbc033, 0xa24bb5a6, 0x502036a5,
	0x4370c551, 0xb11b4652, 0x65d122b9, 0x97baa1ba, 0x84ea524e, 0x7681d14d,
	0x2892ed69, 0xdaf96e6a, 0xc9a99d9e, 0x3bc21e9d, 0xef087a76, 0x1d63f975,
	0x0e330a81, 0xfc588982, 0xb21572c9, 0x407ef1ca, 0x532e023e, 0xa145813d,
	0x758fe5d6, 0x87e466d5, 0x94b49521, 0x66df1622, 0x38cc2a06, 0xcaa7a905,
	0xd9f75af1, 0x2b9cd9f2, 0xff56bd19, 0x0d3d3e1a, 0x1e6dcdee, 0xec064eed,
	0xc38d26c4, 0x31e6a5c7, 0x22b65633, 0xd0ddd530, 0x0417b1db, 0xf67c32d8,
	0xe52cc12c, 0x1747422f, 0x49547e0b, 0xbb3ffd08, 0xa86f0efc, 0x5a048dff,
	0x8ecee914, 0x7ca56a17, 0x6ff599e3, 0x9d9e1ae0, 0xd3d3e1ab, 0x21b862a8,
	0x32e8915c, 0xc083125f, 0x144976b4, 0xe622f5b7, 0xf5720643, 0x07198540,
	0x590ab964, 0xab613a67, 0xb831c993, 0x4a5a4a90, 0x9e902e7b, 0x6cfbad78,
	0x7fab5e8c, 0x8dc0dd8f, 0xe330a81a, 0x115b2b19, 0x020bd8ed, 0xf0605bee,
	0x24aa3f05, 0xd6c1bc06, 0xc5914ff2, 0x37faccf1, 0x69e9f0d5, 0x9b8273d6,
	0x88d28022, 0x7ab90321, 0xae7367ca, 0x5c18e4c9, 0x4f48173d, 0xbd23943e,
	0xf36e6f75, 0x0105ec76, 0x12551f82, 0xe03e9c81, 0x34f4f86a, 0xc69f7b69,
	0xd5cf889d, 0x27a40b9e, 0x79b737ba, 0x8bdcb4b9, 0x988c474d, 0x6ae7c44e,
	0xbe2da0a5, 0x4c4623a6, 0x5f16d052, 0xad7d5351,
};

static inline uint32_t crc_byte_sw(uint32_t c, uint8_t b)
{
	return crc_table[(c ^ b) & 0xff] ^ (c >> 8);
}

static inline uint32_t crc_word_sw(uint32_t c, uint64_t w)
{
	for (int i = 0; i < 8; i++, w >>= 8)
		c = crc_byte_sw(c, (uint8_t)w);
	return c;
}

static inline uint64_t load_le64(const uint8_t *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof(w));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	return w;
}

static inline void store_le64(uint8_t *p, uint64_t w)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	memcpy(p, &w, sizeof(w));
}

static inline uint32_t le32(uint32_t w)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap32(w);
#endif
	return w;
}

/*
 * One body, instantiated per step (CRC_WORD / CRC_BYTE) and with or
 * without the copy (STORE, a constant: no branch per word). It runs the
 * caller's lanes c0..c3 over the n bytes at s, storing each word to d as
 * it goes. The 32-byte blocks feed the four lanes independently, so a CRC
 * instruction (3 cycles of latency, one per cycle of throughput) stays
 * busy.
 */
#define SUM_LOOP(CRC_WORD, CRC_BYTE, STORE)                               \
	do {                                                              \
		size_t i = 0;                                             \
									  \
		for (; i + 32 <= n; i += 32) {                            \
			uint64_t w0 = load_le64(s + i);                   \
			uint64_t w1 = load_le64(s + i + 8);               \
			uint64_t w2 = load_le64(s + i + 16);              \
			uint64_t w3 = load_le64(s + i + 24);              \
									  \
			c0 = CRC_WORD(c0, w0);                            \
			c1 = CRC_WORD(c1, w1);                            \
			c2 = CRC_WORD(c2, w2);                            \
			c3 = CRC_WORD(c3, w3);                            \
			if (STORE) {                                      \
				store_le64(d + i, w0);                    \
				store_le64(d + i + 8, w1);                \
				store_le64(d + i + 16, w2);               \
				store_le64(d + i + 24, w3);               \
			}                                                 \
		}                                                         \
		/* The last block's whole words: lanes 0, 1, 2. */        \
		for (int k = 0; i + 8 <= n; i += 8, k++) {                \
			uint64_t w = load_le64(s + i);                    \
									  \
			if (k == 0)                                       \
				c0 = CRC_WORD(c0, w);                     \
			else if (k == 1)                                  \
				c1 = CRC_WORD(c1, w);                     \
			else                                              \
				c2 = CRC_WORD(c2, w);                     \
			if (STORE)                                        \
				store_le64(d + i, w);                     \
		}                                                         \
		for (; i < n; i++) {                                      \
			uint8_t b = s[i];                                 \
									  \
			c0 = CRC_BYTE(c0, b);                             \
			if (STORE)                                        \
				d[i] = b;                                 \
		}                                                         \
	} while (0)

/* SUM_LOOP copying to d, or summing only when d is NULL. */
#define SUM_RUN(CRC_WORD, CRC_BYTE)                                       \
	do {                                                              \
		if (d)                                                    \
			SUM_LOOP(CRC_WORD, CRC_BYTE, 1);                  \
		else                                                      \
			SUM_LOOP(CRC_WORD, CRC_BYTE, 0);                  \
	} while (0)

/* ipm_sum_copy's body over the caller's lanes[]. */
#define SUM_COPY_BODY(CRC_WORD, CRC_BYTE)                                 \
	const uint8_t *s = src;                                           \
	uint8_t *d = dst;                                                 \
	uint32_t c0 = lanes[0], c1 = lanes[1], c2 = lanes[2], c3 = lanes[3]; \
									  \
	SUM_RUN(CRC_WORD, CRC_BYTE);                                      \
	lanes[0] = c0;                                                    \
	lanes[1] = c1;                                                    \
	lanes[2] = c2;                                                    \
	lanes[3] = c3

static void sum_copy_sw(void *dst, const void *src, size_t n,
			uint32_t lanes[IPM_SUM_LANES])
{
	SUM_COPY_BODY(crc_word_sw, crc_byte_sw);
}

#if defined(__x86_64__)
#define HW_ATTR __attribute__((target("sse4.2")))
#define crc_word_hw(c, w) ((uint32_t)__builtin_ia32_crc32di((c), (w)))
#define crc_byte_hw(c, b) __builtin_ia32_crc32qi((c), (b))
#define HAVE_HW 1
#elif defined(__aarch64__) && defined(__ARM_FEATURE_CRC32)
#include <arm_acle.h>
#define HW_ATTR
#define crc_word_hw(c, w) __crc32cd((c), (w))
#define crc_byte_hw(c, b) __crc32cb((c), (b))
#define HAVE_HW 1
#else
#define HAVE_HW 0
#endif

#if HAVE_HW
HW_ATTR static void sum_copy_hw_out(void *dst, const void *src, size_t n,
				    uint32_t lanes[IPM_SUM_LANES])
{
	SUM_COPY_BODY(crc_word_hw, crc_byte_hw);
}

HW_ATTR static uint32_t crc32c_hw(uint32_t c, const uint8_t *p, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8)
		c = crc_word_hw(c, load_le64(p + i));
	for (; i < n; i++)
		c = crc_byte_hw(c, p[i]);
	return c;
}

/*
 * The 64-byte head (index, the IPMC_REC_SUMMED_LEN header bytes, zeros)
 * straight from the words, without building it in memory: its words
 * 0..3 and 4..7 are the two blocks, so lane k takes words k and k + 4.
 * The lanes are the caller's locals c0..c3.
 */
#define HEAD_HW(index, h)                                                 \
	do {                                                              \
		uint32_t w5;                                              \
									  \
		memcpy(&w5, (h) + 32, sizeof(w5));                        \
		w5 = le32(w5);                                            \
		c0 = crc_word_hw(crc_word_hw(0xffffffffu, (index)),       \
				 load_le64((h) + 24));                    \
		c1 = crc_word_hw(crc_word_hw(0xffffffffu,                 \
					     load_le64(h)), w5);          \
		c2 = crc_word_hw(crc_word_hw(0xffffffffu,                 \
					     load_le64((h) + 8)), 0);     \
		c3 = crc_word_hw(crc_word_hw(0xffffffffu,                 \
					     load_le64((h) + 16)), 0);    \
	} while (0)

/* The lanes as 16 little-endian bytes, two words: no buffer either. */
HW_ATTR static inline uint32_t fold_hw(uint32_t c0, uint32_t c1, uint32_t c2,
				       uint32_t c3)
{
	uint64_t w0 = c0 | (uint64_t)c1 << 32;
	uint64_t w1 = c2 | (uint64_t)c3 << 32;

	return ~crc_word_hw(crc_word_hw(0xffffffffu, w0), w1);
}

HW_ATTR static void head_hw(uint32_t lanes[IPM_SUM_LANES], uint64_t index,
			    const uint8_t *h)
{
	uint32_t c0, c1, c2, c3;

	HEAD_HW(index, h);
	lanes[0] = c0;
	lanes[1] = c1;
	lanes[2] = c2;
	lanes[3] = c3;
}

/* A whole record in registers: this runs twice per message. */
HW_ATTR static uint32_t sum_rec_hw(void *dst, const void *src, size_t n,
				   uint64_t index, const uint8_t *summed)
{
	const uint8_t *s = src;
	uint8_t *d = dst;
	uint32_t c0, c1, c2, c3;

	HEAD_HW(index, summed);
	SUM_RUN(crc_word_hw, crc_byte_hw);
	return fold_hw(c0, c1, c2, c3);
}

HW_ATTR static uint32_t ack_check_hw(uint64_t seq, uint64_t dst, uint64_t src)
{
	return ~crc_word_hw(crc_word_hw(crc_word_hw(0xffffffffu, seq), dst),
			    src);
}
#endif

void ipm_sum_copy(void *dst, const void *src, size_t n,
		  uint32_t lanes[IPM_SUM_LANES], int hw)
{
#if HAVE_HW
	if (hw) {
		sum_copy_hw_out(dst, src, n, lanes);
		return;
	}
#endif
	(void)hw;
	sum_copy_sw(dst, src, n, lanes);
}

uint32_t ipm_crc32c(uint32_t crc, const void *p, size_t n, int hw)
{
	const uint8_t *b = p;

#if HAVE_HW
	if (hw)
		return crc32c_hw(crc, b, n);
#endif
	(void)hw;
	for (size_t i = 0; i < n; i++)
		crc = crc_byte_sw(crc, b[i]);
	return crc;
}

void ipm_sum_head(uint32_t lanes[IPM_SUM_LANES], uint64_t index,
		  const void *summed, int hw)
{
	uint8_t head[IPM_SUM_HEAD] = { 0 };

#if HAVE_HW
	if (hw) {
		head_hw(lanes, index, summed);
		return;
	}
#endif

	store_le64(head, index);
	memcpy(head + 8, summed, IPMC_REC_SUMMED_LEN);
	ipm_lanes_init(lanes);
	ipm_sum_copy(NULL, head, sizeof(head), lanes, hw);
}

uint32_t ipm_sum_fold(const uint32_t lanes[IPM_SUM_LANES], int hw)
{
	uint8_t buf[4 * IPM_SUM_LANES];

#if HAVE_HW
	if (hw)
		return fold_hw(lanes[0], lanes[1], lanes[2], lanes[3]);
#endif

	for (int k = 0; k < IPM_SUM_LANES; k++)
		for (int j = 0; j < 4; j++)
			buf[4 * k + j] = (uint8_t)(lanes[k] >> (8 * j));
	return ~ipm_crc32c(0xffffffffu, buf, sizeof(buf), hw);
}

uint32_t ipm_sum_rec(void *dst, const void *src, size_t n, uint64_t index,
		     const void *summed, int hw)
{
	uint32_t lanes[IPM_SUM_LANES];

#if HAVE_HW
	if (hw)
		return sum_rec_hw(dst, src, n, index, summed);
#endif
	ipm_sum_head(lanes, index, summed, hw);
	ipm_sum_copy(dst, src, n, lanes, hw);
	return ipm_sum_fold(lanes, hw);
}

uint32_t ipm_ack_check(uint64_t seq, uint64_t dst, uint64_t src, int hw)
{
	uint8_t buf[24];

#if HAVE_HW
	if (hw)
		return ack_check_hw(seq, dst, src);
#endif

	store_le64(buf, seq);
	store_le64(buf + 8, dst);
	store_le64(buf + 16, src);
	return ~ipm_crc32c(0xffffffffu, buf, sizeof(buf), hw);
}

int ipm_sum_hw(void)
{
#if defined(__x86_64__)
	return __builtin_cpu_supports("sse4.2");
#else
	return HAVE_HW;
#endif
}
