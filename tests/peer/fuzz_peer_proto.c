/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the peer side of the protocol against a scripted malicious
 * server built from the input. The "server" is the other end of a
 * socketpair in this very process: it writes what the input says (int64
 * values, fds of every kind, several fds on one message, split messages,
 * EOF anywhere) and the library reads it when the input calls it, so a run
 * is deterministic, threadless and never sleeps (all timeouts are 0).
 *
 * Input: byte 0 picks the vector count asked for; then ops. Ops before the
 * first OP_CONNECT are written, then the setup runs over them; the rest
 * interleave more server messages with ivshmem_process, next_event, ring,
 * ack, peers, wait and hostile acts on shared eventfds.
 *
 * Checked beyond memory safety (ASan) and signals (SIGPIPE would kill us):
 * every peer is reported JOINED once and LEFT at most once after it, with
 * the same count; once the event queue is drained, ivshmem_peers() lists
 * exactly the peers reported and not left, each with its count and
 * ringable; our vector count is within the limit; acks never fail; no fd
 * or memory outlives the input.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "internal.h"
#include "testutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum op {
	OP_MSG,        /* value selector, fd kind */
	OP_MSG_RAW,    /* 8 bytes of value, fd kind */
	OP_MSG_FDS,    /* value selector, fd count 2..3, kinds */
	OP_SPLIT,      /* value selector, fd kind, bytes 1..7 of it only */
	OP_EOF,        /* the server shuts its end */
	OP_CONNECT,
	OP_PROCESS,
	OP_EVENTS,
	OP_RING,       /* peer selector, vector */
	OP_ACK,        /* vector */
	OP_WAIT,
	OP_HOSTILE,    /* kept eventfd index, action */
	OP_COUNT,
};

#define MAX_MSGS 160   /* fds in flight stay well under RLIMIT_NOFILE */
#define MAX_KEPT 8

struct run {
	const uint8_t *p, *end;
	int srv;             /* the server's end */
	int eof;
	int msgs;
	int kept[MAX_KEPT];  /* our copies of eventfds we sent */
	int nkept;
	struct ivshmem *iv;
	unsigned limit;
	uint8_t *joined;     /* per id: vector count + 1 while joined */
	int nlive;           /* ids joined and not left */
	int gone;
};

static unsigned byte(struct run *r)
{
	return r->p < r->end ? *r->p++ : 0;
}

static int64_t value(struct run *r)
{
	static const int64_t table[] = {
		INT64_MIN, INT64_MAX, 65535, 65536, -65536, 1 << 20,
		(int64_t)0xffffffff, -3,
	};
	unsigned b = byte(r);

	if (b < 24)
		return (int64_t)b - 2;  /* -2..21: versions, ids, -1 */
	return table[b % (sizeof(table) / sizeof(table[0]))];
}

static int memfd_of(off_t len)
{
	int fd = memfd_create("fuzz-shm", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd >= 0 && ftruncate(fd, len) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* An fd of the kind the input picks (the caller closes it), or -1. */
static int make_fd(struct run *r, unsigned kind)
{
	static const off_t sizes[] = { 0, 1, 4095, 4096, 5000, 8192, 65536 };
	int p[2], fd;

	switch (kind % 12) {
	case 0:
		return -1;
	case 1:
	case 2:
		return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	case 3:
		return eventfd(0, EFD_CLOEXEC);  /* blocking */
	case 4:  /* an eventfd we keep a copy of, for hostile acts */
		fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (fd >= 0 && r->nkept < MAX_KEPT)
			r->kept[r->nkept++] = dup(fd);
		return fd;
	case 5:  /* a pipe's read end */
		if (pipe2(p, O_CLOEXEC) < 0)
			return -1;
		close(p[1]);
		return p[0];
	case 6:  /* a pipe's write end, nobody reading */
		if (pipe2(p, O_CLOEXEC) < 0)
			return -1;
		close(p[0]);
		return p[1];
	case 7:  /* a socket, its other end closed */
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) < 0)
			return -1;
		close(p[1]);
		return p[0];
	case 8:
	case 9:
		return memfd_of(sizes[byte(r) % 7]);
	case 10:  /* a sealed memfd */
		fd = memfd_of(65536);
		if (fd >= 0)
			fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW);
		return fd;
	default:
		return open("/dev/null", O_RDWR | O_CLOEXEC);
	}
}

/* Send bytes [0, len) of value with nfds fds; never blocks, never fails. */
static void send_msg(struct run *r, int64_t v, const int *fds, int nfds,
		     size_t len)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(3 * sizeof(int))];
	} control;
	uint8_t buf[IVPROTO_MSG_SIZE];
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (r->eof || r->msgs >= MAX_MSGS)
		return;
	r->msgs++;
	ivproto_encode(v, buf);
	if (nfds > 0) {
		struct cmsghdr *c;

		memset(&control, 0, sizeof(control));
		msg.msg_control = control.buf;
		msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	/* A full buffer or a closed peer just loses the message. */
	(void)sendmsg(r->srv, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void server_op(struct run *r, enum op op)
{
	int fds[3] = { -1, -1, -1 }, n = 0;
	int64_t v = op == OP_MSG_RAW ? 0 : value(r);
	size_t len = IVPROTO_MSG_SIZE;

	if (op == OP_MSG_RAW)
		for (int i = 0; i < 8; i++)
			v |= (int64_t)((uint64_t)byte(r) << (8 * i));
	if (op == OP_MSG_FDS) {
		int want = 2 + byte(r) % 2;

		for (int i = 0; i < want; i++) {
			fds[n] = make_fd(r, byte(r));
			n += fds[n] >= 0;
		}
	} else {
		fds[0] = make_fd(r, byte(r));
		n = fds[0] >= 0;
	}
	if (op == OP_SPLIT)
		len = 1 + byte(r) % 7;
	send_msg(r, v, fds, n, len);
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

static void hostile(struct run *r)
{
	const uint64_t full = UINT64_C(0xfffffffffffffffe);
	unsigned i = byte(r), act = byte(r);
	uint64_t v;
	int fd, fl;

	if (!r->nkept)
		return;
	fd = r->kept[i % r->nkept];
	switch (act % 4) {
	case 0:  /* clear the shared O_NONBLOCK */
		fl = fcntl(fd, F_GETFL);
		if (fl >= 0)
			fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
		break;
	case 1:  /* fill the counter: ringing it must not block */
		fl = fcntl(fd, F_GETFL);
		if (fl >= 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0)
			(void)!write(fd, &full, sizeof(full));
		break;
	case 2:  /* drain it: whoever acks finds nothing */
		(void)!preadv2(fd, &(struct iovec){ &v, sizeof(v) }, 1, -1,
			       RWF_NOWAIT);
		break;
	default:
		v = 1;
		fl = fcntl(fd, F_GETFL);
		if (fl >= 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0)
			(void)!write(fd, &v, sizeof(v));
		break;
	}
}

/* Pop every event into the model; then the library must agree with it. */
static void events(struct run *r)
{
	struct ivshmem *iv = r->iv;
	struct ivshmem_event ev;
	int ids[64], n;

	while (ivshmem_next_event(iv, &ev) == 1) {
		switch (ev.type) {
		case IVSHMEM_EV_PEER_JOINED:
			CHECK(ev.peer >= 0 && ev.peer <= IVSHMEM_MAX_PEER_ID &&
			      ev.peer != ivshmem_id(iv), "JOINED %d", ev.peer);
			CHECK(!r->joined[ev.peer], "JOINED %d twice", ev.peer);
			CHECK(ev.vectors >= 1 &&
			      ev.vectors <= ivshmem_vectors(iv),
			      "JOINED %d with %u vectors", ev.peer, ev.vectors);
			r->joined[ev.peer] = (uint8_t)(ev.vectors + 1);
			r->nlive++;
			break;
		case IVSHMEM_EV_PEER_LEFT:
			CHECK(ev.peer >= 0 && ev.peer <= IVSHMEM_MAX_PEER_ID &&
			      r->joined[ev.peer] == ev.vectors + 1,
			      "LEFT %d (%u vectors) not joined", ev.peer,
			      ev.vectors);
			r->joined[ev.peer] = 0;
			r->nlive--;
			break;
		case IVSHMEM_EV_SERVER_GONE:
			CHECK(!r->gone++, "SERVER_GONE twice");
			break;
		default:
			CHECK(0, "event type %d", ev.type);
		}
	}
	n = ivshmem_peers(iv, ids, 64);
	CHECK(n >= 0, "peers %d", n);
	for (int i = 0; i < n && i < 64; i++) {
		CHECK(r->joined[ids[i]], "peer %d listed, never reported",
		      ids[i]);
		CHECK(i == 0 || ids[i] > ids[i - 1], "peers not ascending");
		CHECK(ivshmem_peer_vectors(iv, ids[i]) ==
		      r->joined[ids[i]] - 1, "peer %d: count changed", ids[i]);
	}
	CHECK(r->nlive == n, "%d peers reported, %d listed", r->nlive, n);
}

static void ring(struct run *r)
{
	unsigned sel = byte(r), vec = byte(r) % 66;
	int ids[64], n = ivshmem_peers(r->iv, ids, 64), peer, rc;

	if (sel < 200 && n > 0)
		peer = ids[sel % (n < 64 ? n : 64)];
	else
		peer = sel == 255 ? ivshmem_id(r->iv) : (int)sel - 200;
	rc = ivshmem_ring(r->iv, peer, vec);
	/* events() just ran: the model is the library's view. */
	if (peer >= 0 && peer != ivshmem_id(r->iv) && r->joined[peer])
		CHECK(vec >= r->joined[peer] - 1u ? rc == -EINVAL :
		      rc == 0 || rc == -EAGAIN,
		      "ring %d:%u (it has %d): %d", peer, vec,
		      r->joined[peer] - 1, rc);
	else
		CHECK(rc == 0 || rc == -EAGAIN || rc == -EINVAL ||
		      rc == -ENOENT, "ring %d:%u: %d", peer, vec, rc);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void play(struct run *r)
{
	int sv[2], rc, connected = 0;
	unsigned b = byte(r);

	r->limit = b % 8 == 7 ? IVSHMEM_MAX_VECTORS : b % 5;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return;
	r->srv = sv[0];
	while (r->p < r->end || !connected) {
		enum op op = r->p < r->end ? (enum op)(byte(r) % OP_COUNT) :
					     OP_CONNECT;

		if (op <= OP_SPLIT) {
			server_op(r, op);
			continue;
		}
		if (op == OP_EOF) {
			shutdown(r->srv, SHUT_WR);
			r->eof = 1;
			continue;
		}
		if (!connected) {
			if (op != OP_CONNECT)
				continue;
			connected = 1;
			rc = ivp_connect_fd(&r->iv, sv[1], r->limit, 0);
			if (rc < 0) {
				CHECK(!r->iv, "*out set on failure");
				break;
			}
			CHECK(ivshmem_vectors(r->iv) >= 1 &&
			      ivshmem_vectors(r->iv) <=
			      (r->limit ? r->limit : IVSHMEM_MAX_VECTORS),
			      "%u vectors, limit %u", ivshmem_vectors(r->iv),
			      r->limit);
			CHECK(ivshmem_size(r->iv) > 0, "no memory");
			/* Touch the first and last byte of the memory. */
			((volatile char *)ivshmem_mem(r->iv))[0] = 1;
			((volatile char *)ivshmem_mem(r->iv))
				[ivshmem_size(r->iv) - 1] = 1;
			continue;
		}
		switch (op) {
		case OP_PROCESS:
			rc = ivshmem_process(r->iv);
			CHECK(rc >= 0 || rc == -EPROTO || rc == -ENOTCONN ||
			      rc == -ENOMEM, "process %d", rc);
			break;
		case OP_EVENTS:
			events(r);
			break;
		case OP_RING:
			events(r);
			ring(r);
			break;
		case OP_ACK:
			rc = ivshmem_ack(r->iv, byte(r) % 66);
			CHECK(rc >= 0 || rc == -EINVAL, "ack %d", rc);
			break;
		case OP_WAIT:
			rc = ivshmem_wait(r->iv, 0, NULL);
			CHECK(rc >= 0 || rc == -EPROTO || rc == -ENOTCONN ||
			      rc == -ENOMEM, "wait %d", rc);
			break;
		case OP_HOSTILE:
			hostile(r);
			break;
		default:
			break;
		}
	}
	if (r->iv) {
		events(r);
		ivshmem_close(r->iv);
	} else if (!connected) {
		close(sv[1]);
	}
	close(r->srv);
	for (int i = 0; i < r->nkept; i++)
		close(r->kept[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run r = { .p = data, .end = data + size, .srv = -1 };
	int before = count_fds();

	r.joined = calloc(IVSHMEM_MAX_PEER_ID + 1, 1);
	if (!r.joined)
		return 0;
	play(&r);
	free(r.joined);
	CHECK(count_fds() == before, "%d fds after the input, %d before",
	      count_fds(), before);
	return 0;
}
