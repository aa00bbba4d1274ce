/* SPDX-License-Identifier: MIT */
#include "state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* magic, version, body length, FNV-1a of the body */
#define HEADER_LEN (8 + 4 + 4 + 8 + 8)

static void put(struct st_buf *b, const void *src, size_t n)
{
	if (b->err)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		uint8_t *p;

		while (cap < b->len + n)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->err = -ENOMEM;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, src, n);
	b->len += n;
}

static void le(uint8_t *out, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		out[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t from_le(const uint8_t *in, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v |= (uint64_t)in[i] << (8 * i);
	return v;
}

void st_u32(struct st_buf *b, uint32_t v)
{
	uint8_t x[4];

	le(x, v, 4);
	put(b, x, 4);
}

void st_u64(struct st_buf *b, uint64_t v)
{
	uint8_t x[8];

	le(x, v, 8);
	put(b, x, 8);
}

void st_str(struct st_buf *b, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	st_u32(b, (uint32_t)n);
	put(b, s, n);
}

void st_buf_free(struct st_buf *b)
{
	free(b->p);
	*b = (struct st_buf){ 0 };
}

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static int write_all(int fd, const void *p, size_t n)
{
	const uint8_t *c = p;

	while (n) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int st_to_memfd(const struct st_buf *body)
{
	uint8_t h[HEADER_LEN];
	int fd, rc;

	if (body->err)
		return body->err;
	memcpy(h, STATE_MAGIC, 8);
	le(h + 8, STATE_VERSION, 4);
	le(h + 12, 0, 4);
	le(h + 16, body->len, 8);
	le(h + 24, fnv1a(body->p, body->len), 8);
	fd = memfd_create("ivshmem-server-state", 0);
	if (fd < 0)
		return -errno;
	rc = write_all(fd, h, sizeof(h));
	if (!rc)
		rc = write_all(fd, body->p, body->len);
	if (!rc && lseek(fd, 0, SEEK_SET) < 0)
		rc = -errno;
	if (rc) {
		close(fd);
		return rc;
	}
	return fd;
}

static int take(struct st_rd *r, size_t n)
{
	if (r->err || r->len - r->off < n) {
		r->err = -EBADMSG;
		return 0;
	}
	return 1;
}

uint32_t st_get_u32(struct st_rd *r)
{
	uint32_t v;

	if (!take(r, 4))
		return 0;
	v = (uint32_t)from_le(r->p + r->off, 4);
	r->off += 4;
	return v;
}

uint64_t st_get_u64(struct st_rd *r)
{
	uint64_t v;

	if (!take(r, 8))
		return 0;
	v = from_le(r->p + r->off, 8);
	r->off += 8;
	return v;
}

void st_get_str(struct st_rd *r, char *buf, size_t cap)
{
	uint32_t n = st_get_u32(r);

	buf[0] = '\0';
	if (r->err)
		return;
	if (n >= cap || !take(r, n)) {
		r->err = -EBADMSG;
		return;
	}
	memcpy(buf, r->p + r->off, n);
	buf[n] = '\0';
	if (strlen(buf) != n)
		r->err = -EBADMSG;     /* a NUL inside */
	r->off += n;
}

uint32_t st_get_count(struct st_rd *r, uint32_t max, size_t item_min)
{
	uint32_t n = st_get_u32(r);

	if (!r->err && (n > max || (r->len - r->off) / item_min < n))
		r->err = -EBADMSG;
	return r->err ? 0 : n;
}

static int read_at(int fd, void *p, size_t n, off_t off)
{
	uint8_t *c = p;

	while (n) {
		ssize_t got = pread(fd, c, n, off);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return got < 0 ? -errno : -EBADMSG;
		c += got;
		n -= (size_t)got;
		off += got;
	}
	return 0;
}

int st_from_fd(int fd, uint8_t **body, struct st_rd *r, char *err,
	       size_t errlen)
{
	uint8_t h[HEADER_LEN];
	uint64_t len, version;
	struct stat st;
	uint8_t *p;

	*body = NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size < HEADER_LEN || read_at(fd, h, sizeof(h), 0) < 0 ||
	    memcmp(h, STATE_MAGIC, 8)) {
		snprintf(err, errlen, "fd %d holds no server state", fd);
		return -EPROTO;
	}
	version = from_le(h + 8, 4);
	if (version != STATE_VERSION) {
		snprintf(err, errlen, "the state is of version %llu, this "
			 "program reads version %d only",
			 (unsigned long long)version, STATE_VERSION);
		return -EPROTO;
	}
	len = from_le(h + 16, 8);
	if (len > STATE_MAX_LEN || (uint64_t)st.st_size != HEADER_LEN + len) {
		snprintf(err, errlen, "the state's length (%llu bytes) does "
			 "not match its file (%lld bytes)",
			 (unsigned long long)len, (long long)st.st_size);
		return -EPROTO;
	}
	p = malloc(len ? len : 1);
	if (!p) {
		snprintf(err, errlen, "out of memory for the state");
		return -ENOMEM;
	}
	if (read_at(fd, p, len, HEADER_LEN) < 0 ||
	    fnv1a(p, len) != from_le(h + 24, 8)) {
		free(p);
		snprintf(err, errlen, "the state is damaged (checksum)");
		return -EPROTO;
	}
	*body = p;
	*r = (struct st_rd){ .p = p, .len = len };
	return 0;
}
