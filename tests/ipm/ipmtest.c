/* SPDX-License-Identifier: MIT */
#include "ipmtest.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define IT_MAGIC 0x544d5049u /* "IPMT" */

static pid_t main_pid;

void it_init(void)
{
	main_pid = getpid();
	setvbuf(stderr, NULL, _IOLBF, 0);
}

void it_exit(int code)
{
	fflush(stdout);
	fflush(stderr);
	if (getpid() == main_pid)
		exit(code);
	_exit(code);
}

void it_log(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "[%d] %s\n", (int)getpid(), line);
}

void it_server(struct tu_server *s, const char *size, unsigned vectors)
{
	char n[16];

	snprintf(n, sizeof(n), "%u", vectors);
	if (size)
		tu_server_start(s, (const char *[]){ "-n", n, "-l", size,
						     NULL });
	else
		tu_server_start(s, (const char *[]){ "-n", n, NULL });
}

int it_try_open(struct ipm **out, const char *sock, const struct ipm_config *c)
{
	struct ivshm_transport *t;
	int rc;

	*out = NULL;
	rc = ivshm_transport_host_open(&t, sock, 1, 5000);
	if (rc < 0)
		return rc;
	rc = ipm_open(out, t, c);
	if (rc < 0)
		ivshm_transport_close(t);
	return rc;
}

struct ipm *it_open(const char *sock, const struct ipm_config *cfg)
{
	struct ipm *ipm;
	int rc = it_try_open(&ipm, sock, cfg);

	IT_CHECK(rc == 0, "opening an IPM device on %s: %s", sock,
		 strerror(-rc));
	return ipm;
}

int it_id(const struct ipm *ipm)
{
	return ipm_transport(ipm)->id;
}

pid_t it_fork(int (*fn)(void *arg), void *arg)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	IT_CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		/* Die with the test rather than linger as an orphan. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		it_exit(fn(arg));
	}
	return pid;
}

int it_wait(pid_t pid, int timeout_ms)
{
	long long deadline = tu_now_ns() + timeout_ms * 1000000LL;
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		IT_CHECK(r >= 0, "waitpid %d: %s", (int)pid, strerror(errno));
		if (r == pid)
			break;
		if (tu_now_ns() > deadline) {
			it_log("child %d still running after %d ms: killed",
			       (int)pid, timeout_ms);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		usleep(2000);
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

void it_put(int fd, const void *buf, size_t len)
{
	ssize_t n;

	do {
		n = write(fd, buf, len);
	} while (n < 0 && errno == EINTR);
	IT_CHECK(n == (ssize_t)len, "write to fd %d: %s", fd,
		 n < 0 ? strerror(errno) : "short");
}

int it_get(int fd, void *buf, size_t len, int timeout_ms)
{
	long long deadline = tu_now_ns() + timeout_ms * 1000000LL;
	size_t got = 0;

	while (got < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long left = (deadline - tu_now_ns()) / 1000000;
		ssize_t n;

		int rc;

		if (left < 0)
			left = 0;
		rc = poll(&p, 1, timeout_ms < 0 ? -1 : (int)left);
		if (rc == 0 && left == 0)
			return 0; /* a partial record is lost: tests fail then */
		if (rc <= 0)
			continue;
		n = read(fd, (char *)buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 1;
}

void it_put_int(int fd, int v)
{
	it_put(fd, &v, sizeof(v));
}

int it_get_int(int fd, int timeout_ms)
{
	int v, rc = it_get(fd, &v, sizeof(v), timeout_ms);

	IT_CHECK(rc == 1, "reading fd %d: %s", fd,
		 rc == 0 ? "timed out" : "EOF (the other side died?)");
	return v;
}

long long it_cpu_us(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000LL +
	       ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

uint64_t it_rand(uint64_t *s)
{
	uint64_t x = *s ? *s : UINT64_C(0x9e3779b97f4a7c15);

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * UINT64_C(0x2545f4914f6cdd1d);
}

struct it_hdr {
	uint32_t magic;
	uint32_t size;
	uint32_t stream;
	uint32_t pad;
	uint64_t seq;
	uint64_t sum;
};

_Static_assert(sizeof(struct it_hdr) == IT_MSG_HDR, "message header");

static uint64_t seed_of(uint32_t stream, uint64_t seq, size_t size)
{
	return ((uint64_t)stream << 32 ^ seq * UINT64_C(0x9e3779b97f4a7c15) ^
		(uint64_t)size) | 1;
}

static void fill(uint8_t *p, size_t n, uint64_t seed)
{
	uint64_t s = seed;

	while (n >= 8) {
		uint64_t v = it_rand(&s);

		memcpy(p, &v, 8);
		p += 8;
		n -= 8;
	}
	if (n) {
		uint64_t v = it_rand(&s);

		memcpy(p, &v, n);
	}
}

static uint64_t checksum(const uint8_t *p, size_t n)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	while (n >= 8) {
		uint64_t v;

		memcpy(&v, p, 8);
		h = (h ^ v) * UINT64_C(0x100000001b3);
		h ^= h >> 29;
		p += 8;
		n -= 8;
	}
	while (n--)
		h = (h ^ *p++) * UINT64_C(0x100000001b3);
	return h;
}

void it_msg_make(uint8_t *buf, size_t size, uint32_t stream, uint64_t seq)
{
	struct it_hdr h = {
		.magic = IT_MAGIC, .size = (uint32_t)size, .stream = stream,
		.seq = seq,
	};

	if (size < IT_MSG_HDR) {
		fill(buf, size, seed_of(stream, seq, size));
		return;
	}
	fill(buf + IT_MSG_HDR, size - IT_MSG_HDR, seed_of(stream, seq, size));
	memcpy(buf, &h, sizeof(h));
	h.sum = checksum(buf, size);
	memcpy(buf, &h, sizeof(h));
}

enum it_verdict it_msg_check(uint8_t *buf, size_t size, uint32_t stream,
			     uint64_t *seq)
{
	struct it_hdr h;
	uint64_t sum;

	if (size < IT_MSG_HDR) {
		uint8_t want[IT_MSG_HDR];

		fill(want, size, seed_of(stream, *seq, size));
		return memcmp(want, buf, size) ? IT_MSG_BAD_SHORT : IT_MSG_OK;
	}
	memcpy(&h, buf, sizeof(h));
	if (h.magic != IT_MAGIC || h.size != size || h.stream != stream ||
	    h.pad)
		return IT_MSG_BAD_HDR;
	*seq = h.seq;
	/* The checksum was taken with the sum field zero. */
	memset(buf + offsetof(struct it_hdr, sum), 0, sizeof(h.sum));
	sum = checksum(buf, size);
	memcpy(buf + offsetof(struct it_hdr, sum), &h.sum, sizeof(h.sum));
	return sum == h.sum ? IT_MSG_OK : IT_MSG_BAD_SUM;
}

size_t it_rand_size(uint64_t *rng, size_t max)
{
	unsigned r = (unsigned)(it_rand(rng) % 1000);
	size_t lim;

	if (r < 4) {
		if (r == 0)
			return max;
		if (r == 1 && max >= (1u << 20))
			return 1u << 20;
		return max / 2 + it_rand(rng) % (max - max / 2 + 1);
	}
	if (r < 50)
		lim = 65536;
	else if (r < 150)
		lim = 32;
	else
		lim = 1024;
	if (lim > max)
		lim = max;
	return it_rand(rng) % (lim + 1);
}

void it_recv_init(struct it_recv *r, int my_id, size_t max, int strict)
{
	memset(r, 0, sizeof(*r));
	r->my_id = my_id;
	r->strict = strict;
	r->buf = malloc(max ? max : 1);
	IT_CHECK(r->buf, "malloc %zu", max);
}

void it_recv_free(struct it_recv *r)
{
	free(r->buf);
	r->buf = NULL;
}

static int src_index(struct it_recv *r, int src)
{
	for (unsigned i = 0; i < r->nsrc; i++)
		if (r->src[i] == src)
			return (int)i;
	IT_CHECK(r->nsrc < IT_MAX_SRC, "more than %d senders", IT_MAX_SRC);
	r->src[r->nsrc] = src;
	return (int)r->nsrc++;
}

uint64_t it_recv_got(const struct it_recv *r, int src)
{
	for (unsigned i = 0; i < r->nsrc; i++)
		if (r->src[i] == src)
			return r->got[i];
	return 0;
}

void it_recv_cb(struct ipm *ipm, void *user, uint32_t id,
		const volatile void *data, size_t size)
{
	struct it_recv *r = user;
	int i = src_index(r, (int)id);
	uint64_t seq = r->next[i];
	enum it_verdict v;

	(void)ipm;
	if (!data) {
		/* A doorbell-only peer's ring (ipm.h): counted apart. */
		IT_CHECK(id == 0 && size == 0, "a doorbell with id %u, %zu "
			 "bytes", id, size);
		r->doorbells++;
		return;
	}
	if (size)
		memcpy(r->buf, (const void *)data, size);
	v = it_msg_check(r->buf, size, it_stream((int)id, r->my_id), &seq);
	r->total++;
	r->bytes += size;
	if (v != IT_MSG_OK) {
		r->bad++;
		IT_CHECK(!r->strict, "peer %u -> %d: message #%llu (%zu "
			 "bytes) is bad (verdict %d)", id, r->my_id,
			 (unsigned long long)r->next[i], size, v);
		return;
	}
	if (seq != r->next[i]) {
		r->gaps++;
		IT_CHECK(!r->strict, "peer %u -> %d: got #%llu, expected "
			 "#%llu (%s)", id, r->my_id, (unsigned long long)seq,
			 (unsigned long long)r->next[i],
			 seq < r->next[i] ? "duplicate/reordered" : "lost");
	}
	r->next[i] = seq + 1;
	r->got[i]++;
}

void it_flow_run(struct ipm *ipm, struct it_recv *r, struct it_flow *f)
{
	long long deadline = tu_now_ns() + f->deadline_ms * 1000000LL;
	size_t max = f->max_size ? f->max_size :
				   (size_t)ipm_max_data_size_get(ipm);
	uint64_t rng = f->seed | 1, left = 0;
	int me = it_id(ipm);
	uint8_t *buf = malloc(max ? max : 1);

	/* f->msgs may have grown since an earlier call: the rest of it */
	for (int i = 0; i < f->ndst; i++)
		left += f->msgs - f->seq[i];
	rng ^= left * UINT64_C(0x9e3779b97f4a7c15);

	IT_CHECK(buf, "malloc %zu", max);
	for (int i = 0; left > 0; i = (i + 1) % f->ndst) {
		size_t size;
		int rc;

		if (f->seq[i] == f->msgs)
			continue;
		size = it_rand_size(&rng, max);
		if (size < f->min_size)
			size = f->min_size;
		it_msg_make(buf, size, it_stream(me, f->dst[i]), f->seq[i]);
		while ((rc = ipm_send(ipm, f->wait[i], (uint32_t)f->dst[i],
				      buf, size)) == -EBUSY) {
			f->busy++;
			/* Take what others queued for us meanwhile. */
			rc = ipm_poll(ipm, 1);
			IT_CHECK(rc >= 0, "ipm_poll: %s", strerror(-rc));
			IT_CHECK(tu_now_ns() < deadline, "still sending after "
				 "%d ms", f->deadline_ms);
		}
		if (rc < 0) {
			f->errors++;
			IT_CHECK(f->tolerant, "send #%llu (%zu bytes) to %d: %s",
				 (unsigned long long)f->seq[i], size,
				 f->dst[i], strerror(-rc));
		} else {
			f->sent++;
			f->big += size >= 1u << 20;
			f->blocking += f->wait[i] != 0;
		}
		f->seq[i]++;
		left--;
		rc = ipm_process(ipm);
		IT_CHECK(rc >= 0, "ipm_process: %s", strerror(-rc));
		IT_CHECK(tu_now_ns() < deadline, "still sending after %d ms",
			 f->deadline_ms);
	}
	while (r->total < f->expect) {
		int rc = ipm_poll(ipm, 100);

		IT_CHECK(rc >= 0, "ipm_poll: %s", strerror(-rc));
		IT_CHECK(tu_now_ns() < deadline, "received %llu of %llu in "
			 "%d ms", (unsigned long long)r->total,
			 (unsigned long long)f->expect, f->deadline_ms);
	}
	free(buf);
}
