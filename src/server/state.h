/* SPDX-License-Identifier: MIT */
/*
 * The serialized state a restarting server hands to the program it
 * re-executes (see restart.c): a versioned header, then a body of
 * fixed-width little-endian fields and length-prefixed strings. Fds are
 * not in it, only their numbers: exec keeps them. Reading is bounds-checked
 * and sticky: the first error makes every later read return 0, so a
 * caller checks st_rd_err() once at the end of a section.
 */
#ifndef IVSHMEM_SERVER_STATE_H
#define IVSHMEM_SERVER_STATE_H

#include <stddef.h>
#include <stdint.h>

/* Bumped whenever the body's layout changes: another version is refused. */
#define STATE_VERSION 1
#define STATE_MAGIC   "IVSRVST\n"
/* A bound on what a reader accepts, whatever the header says. */
#define STATE_MAX_LEN (256u << 20)

struct st_buf {
	uint8_t *p;
	size_t len, cap;
	int err;                /* -ENOMEM once a write failed */
};

void st_u32(struct st_buf *b, uint32_t v);
void st_u64(struct st_buf *b, uint64_t v);
static inline void st_i32(struct st_buf *b, int32_t v)
{
	st_u32(b, (uint32_t)v);
}
static inline void st_i64(struct st_buf *b, int64_t v)
{
	st_u64(b, (uint64_t)v);
}
void st_str(struct st_buf *b, const char *s);
void st_buf_free(struct st_buf *b);

/*
 * Write header + body to a new memfd (not close-on-exec: it is for the
 * next program); returns the fd or -errno.
 */
int st_to_memfd(const struct st_buf *body);

struct st_rd {
	const uint8_t *p;
	size_t len, off;
	int err;                /* -EBADMSG once a read ran past the end */
};

uint32_t st_get_u32(struct st_rd *r);
uint64_t st_get_u64(struct st_rd *r);
static inline int32_t st_get_i32(struct st_rd *r)
{
	return (int32_t)st_get_u32(r);
}
static inline int64_t st_get_i64(struct st_rd *r)
{
	return (int64_t)st_get_u64(r);
}
/* A string into buf (NUL-terminated); longer than cap-1 is an error. */
void st_get_str(struct st_rd *r, char *buf, size_t cap);
/* A count of items of at least item_min bytes each that must still fit. */
uint32_t st_get_count(struct st_rd *r, uint32_t max, size_t item_min);

/*
 * Read and check a state from fd (header, version, length, checksum)
 * into *body (malloc'ed; the reader points into it). -EPROTO with a
 * message in err for anything but a whole state of our version.
 */
int st_from_fd(int fd, uint8_t **body, struct st_rd *r, char *err,
	       size_t errlen);

#endif
