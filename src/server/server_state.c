/* SPDX-License-Identifier: MIT */
/*
 * The peer table across exec: server_save() writes it with the numbers of
 * the fds it holds, server_restore() takes it back in the new program,
 * where exec kept those fds. Everything is checked before anything is
 * adopted: each fd must be open, of its kind (a connected AF_UNIX stream
 * socket per peer, an eventfd per vector) and claimed once; ids, join
 * order and cursors must be consistent. A state that fails any check is
 * refused whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server_int.h"
#include "state.h"

/* What a message being sent may be, at most: a greeting or one peer. */
#define STAGE_MAX(nvec) ((nvec) > 3 ? (nvec) : 3)
/* Peer flags. */
#define PF_GREETED  1
#define PF_READS    2
#define PF_WINDOWED 4

static int fd_of(const struct fdref *r)
{
	return r ? r->fd : -1;
}

void server_save(const struct server *s, struct st_buf *b)
{
	const unsigned nvec = s->cfg->vectors;

	st_u32(b, nvec);
	st_i32(b, fd_of(s->shm));
	st_u32(b, s->next_id);
	st_u64(b, s->next_seq);
	st_u64(b, s->joins);
	st_u64(b, s->leaves);
	st_u64(b, s->refused);
	st_u64(b, s->dropped);
	for (int i = 0; i < SERVER_DISC_MAX; i++)
		st_u64(b, s->disc[i]);
	st_u32(b, s->npeers);
	for (const struct peer *p = s->head; p; p = p->next) {
		st_i32(b, p->id);
		st_i32(b, p->sock);
		st_i32(b, p->pid);
		st_u32(b, p->uid);
		st_u32(b, p->gid);
		st_i64(b, p->joined);
		st_u64(b, p->seq);
		st_u64(b, p->cur_seq);
		st_u32(b, (p->greeted ? PF_GREETED : 0) |
			  (p->reads ? PF_READS : 0) |
			  (p->windowed ? PF_WINDOWED : 0));
		st_u32(b, p->staged);
		for (unsigned v = 0; v < nvec; v++)
			st_i32(b, fd_of(p->vec[v]));
	}
	/* Then what each is being sent: it may name any peer's fds. */
	for (const struct peer *p = s->head; p; p = p->next) {
		const struct sendq *q = &p->stage;

		st_u32(b, (uint32_t)q->len);
		st_u32(b, (uint32_t)q->off);
		for (size_t i = 0; i < q->len; i++) {
			const struct sendq_msg *m =
				&q->ring[(q->head + i) % q->cap];

			st_i64(b, m->value);
			st_i32(b, fd_of(m->fd));
		}
		st_u32(b, (uint32_t)p->leaves.len);
		for (size_t i = 0; i < p->leaves.len; i++)
			st_i32(b, p->leaves.ids[(p->leaves.head + i) %
						p->leaves.cap]);
	}
}

void server_save_adopted(struct st_buf *b, unsigned nvec, int shm_fd,
			 const struct server_peer_fds *peers, size_t n)
{
	uint64_t last = n ? peers[n - 1].seq : 0;
	int next_id = 0;

	for (size_t i = 0; i < n; i++)
		if (peers[i].id + 1 > next_id)
			next_id = peers[i].id + 1;
	st_u32(b, nvec);
	st_i32(b, shm_fd);
	st_u32(b, (uint32_t)(next_id % IVPROTO_NUM_IDS));
	st_u64(b, last);
	for (int i = 0; i < 4 + SERVER_DISC_MAX; i++)
		st_u64(b, 0);           /* counters start again */
	st_u32(b, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		struct ucred uc = { .pid = -1, .uid = (uid_t)-1,
				    .gid = (gid_t)-1 };
		socklen_t len = sizeof(uc);

		getsockopt(peers[i].sock, SOL_SOCKET, SO_PEERCRED, &uc, &len);
		st_i32(b, peers[i].id);
		st_i32(b, peers[i].sock);
		st_i32(b, uc.pid);
		st_u32(b, uc.uid);
		st_u32(b, uc.gid);
		st_i64(b, peers[i].joined);
		st_u64(b, peers[i].seq);
		st_u64(b, last);
		st_u32(b, PF_GREETED | PF_READS);
		st_u32(b, 0);
		for (unsigned v = 0; v < nvec; v++)
			st_i32(b, peers[i].vec[v]);
	}
	for (size_t i = 0; i < n; i++) {
		st_u32(b, 0);           /* nothing being sent */
		st_u32(b, 0);
		st_u32(b, 0);           /* no leave notices */
	}
}

static int set_cloexec(int fd, int on)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl < 0)
		return -errno;
	fl = on ? fl | FD_CLOEXEC : fl & ~FD_CLOEXEC;
	return fcntl(fd, F_SETFD, fl) < 0 ? -errno : 0;
}

int server_set_inherit(struct server *s, int inherit)
{
	int rc = set_cloexec(s->shm->fd, !inherit);

	for (struct peer *p = s->head; p && !rc; p = p->next) {
		const struct sendq *q = &p->stage;

		rc = set_cloexec(p->sock, !inherit);
		for (unsigned v = 0; v < s->cfg->vectors && !rc; v++)
			rc = set_cloexec(p->vec[v]->fd, !inherit);
		for (size_t i = 0; i < q->len && !rc; i++) {
			const struct sendq_msg *m =
				&q->ring[(q->head + i) % q->cap];

			if (m->fd)
				rc = set_cloexec(m->fd->fd, !inherit);
		}
	}
	return rc;
}

/* Checking the fds a state names, and the fdrefs made for them. */
struct fdmap {
	int max;                /* fds 0..max-1 may be named */
	unsigned char *claimed; /* owned by one role already */
	struct fdref **ref;
	int shm_fd;             /* the region's, as saved */
};

enum fd_kind { FD_SOCKET, FD_EVENTFD };

/* Is fd open and of the kind? Without /proc, open is all we can tell. */
static int fd_is(int fd, enum fd_kind kind)
{
	char path[64], link[64];
	int type = 0, acc = 1, domain = 0;
	socklen_t len = sizeof(int);
	ssize_t n;

	if (fcntl(fd, F_GETFD) < 0)
		return 0;
	if (kind == FD_SOCKET)
		return getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 &&
		       getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
		       getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) == 0 &&
		       domain == AF_UNIX && type == SOCK_STREAM && !acc;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return errno == ENOENT && access("/proc/self/fd", F_OK) < 0;
	link[n] = '\0';
	return !strcmp(link, "anon_inode:[eventfd]");
}

static int claim(struct fdmap *m, int fd, enum fd_kind kind)
{
	/* Never stdio: stderr may well be a socket (the journal's). */
	if (fd <= STDERR_FILENO || fd >= m->max || m->claimed[fd] ||
	    !fd_is(fd, kind))
		return -EBADF;
	m->claimed[fd] = 1;
	return 0;
}

/* The fdref for a staged message's fd: shm, a peer's, or a departed one's. */
static struct fdref *staged_ref(struct fdmap *m, int fd)
{
	if (fd <= STDERR_FILENO || fd >= m->max)
		return NULL;
	if (m->ref[fd])
		return m->ref[fd];
	if (m->claimed[fd] || !fd_is(fd, FD_EVENTFD))
		return NULL;
	m->claimed[fd] = 1;
	m->ref[fd] = fdref_new(fd);
	return m->ref[fd];
}

static void fdmap_free(struct fdmap *m)
{
	for (int fd = 0; m->ref && fd < m->max; fd++)
		fdref_put(m->ref[fd]);
	free(m->claimed);
	free(m->ref);
}

/* Drop a peer restored but not served: its fds stay where they are. */
static void forget_peer(const struct server *s, struct peer *p)
{
	/* The map holds a reference to each: none drops to 0 (no close). */
	for (unsigned v = 0; v < s->cfg->vectors; v++)
		if (p->vec[v])
			p->vec[v]->refs--;
	sendq_clear(&p->stage);
	idq_clear(&p->leaves);
	free(p);
}

/*
 * A peer's cursor: the last peer of the list it was told of, i.e. the
 * last with seq <= cur_seq (NULL: none yet). order[] is in join order.
 */
static struct peer *last_upto(struct peer **order, size_t n, uint64_t seq)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (order[mid]->seq <= seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? order[lo - 1] : NULL;
}

#define FAIL(...) do {                                                   \
	snprintf(err, errlen, __VA_ARGS__);                              \
	rc = -EPROTO;                                                    \
	goto out;                                                        \
} while (0)

static int read_peer(struct server *s, struct st_rd *r, struct fdmap *m,
		     struct peer *p, uint64_t prev_seq, char *err,
		     size_t errlen)
{
	unsigned flags;
	int rc = 0;

	p->id = st_get_i32(r);
	p->sock = st_get_i32(r);
	p->pid = st_get_i32(r);
	p->uid = st_get_u32(r);
	p->gid = st_get_u32(r);
	p->joined = st_get_i64(r);
	p->seq = st_get_u64(r);
	p->cur_seq = st_get_u64(r);
	flags = st_get_u32(r);
	p->staged = st_get_u32(r);
	p->greeted = !!(flags & PF_GREETED);
	p->reads = !!(flags & PF_READS);
	p->windowed = !!(flags & PF_WINDOWED);
	if (r->err)
		FAIL("the state ends inside a peer");
	if (p->id < 0 || p->id >= IVPROTO_NUM_IDS || s->by_id[p->id])
		FAIL("peer id %d is out of range or given twice", p->id);
	if (p->seq <= prev_seq || p->seq > s->next_seq ||
	    p->cur_seq > s->next_seq)
		FAIL("peer %d: join order out of sequence", p->id);
	if (claim(m, p->sock, FD_SOCKET) < 0) {
		int fd = p->sock;

		p->sock = -1;
		FAIL("peer %d: fd %d is not a connected AF_UNIX stream "
		     "socket of ours", p->id, fd);
	}
	for (unsigned v = 0; v < s->cfg->vectors; v++) {
		int fd = st_get_i32(r);

		if (r->err)
			FAIL("the state ends inside peer %d", p->id);
		if (claim(m, fd, FD_EVENTFD) < 0)
			FAIL("peer %d: fd %d (vector %u) is not an eventfd "
			     "of ours", p->id, fd, v);
		m->ref[fd] = fdref_new(fd);
		p->vec[v] = fdref_get(m->ref[fd]);
		if (!p->vec[v])
			FAIL("out of memory");
	}
out:
	return rc;
}

static int read_queues(struct server *s, struct st_rd *r, struct fdmap *m,
		       struct peer *p, char *err, size_t errlen)
{
	const unsigned nvec = s->cfg->vectors;
	uint32_t n, off, nleaves;
	int rc = 0;

	n = st_get_count(r, STAGE_MAX(nvec), 12);
	off = st_get_u32(r);
	if (r->err || off >= IVPROTO_MSG_SIZE || (off && !n) ||
	    (!p->greeted && (n || p->cur_seq)))
		FAIL("peer %d: its message being sent is malformed", p->id);
	for (uint32_t i = 0; i < n; i++) {
		int64_t value = st_get_i64(r);
		int fd = st_get_i32(r);
		struct fdref *ref = NULL;

		if (r->err)
			FAIL("the state ends inside peer %d's messages",
			     p->id);
		if (fd >= 0 && !(ref = staged_ref(m, fd)))
			FAIL("peer %d: a message's fd %d is none of the "
			     "region's or the peers' eventfds", p->id, fd);
		/* What the protocol has: the region (-1), else an id. */
		if ((ref && ref == m->ref[m->shm_fd]) !=
		    (value == IVPROTO_SHM_ID) ||
		    (value != IVPROTO_SHM_ID &&
		     (value < 0 || value > IVPROTO_MAX_PEER_ID)))
			FAIL("peer %d: a message %lld%s is not the protocol's",
			     p->id, (long long)value, ref ? " with an fd" : "");
		if (sendq_push(&p->stage, value, ref) < 0)
			FAIL("out of memory");
	}
	p->stage.off = off;
	nleaves = st_get_count(r, IVPROTO_NUM_IDS, 4);
	if (r->err)
		FAIL("peer %d: its leave notices are malformed", p->id);
	for (uint32_t i = 0; i < nleaves; i++) {
		int32_t id = st_get_i32(r);

		if (id < 0 || id >= IVPROTO_NUM_IDS)
			FAIL("peer %d: leave notice for id %d", p->id, id);
		if (idq_push(&p->leaves, id) < 0)
			FAIL("out of memory");
	}
out:
	return rc;
}

int server_restore(struct server *s, struct st_rd *r, char *err,
		   size_t errlen)
{
	const unsigned nvec = s->cfg->vectors;
	struct peer *head = NULL, *tail = NULL, *p, **order = NULL;
	struct fdmap m = { 0 };
	struct rlimit rl;
	struct stat a, b;
	uint32_t vectors, npeers;
	uint64_t prev_seq = 0;
	int shm_fd, rc = 0;

	if (s->head)
		return -EBUSY;
	m.max = getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
		rl.rlim_cur < (1u << 20) ? (int)rl.rlim_cur : 1 << 20;
	m.claimed = calloc((size_t)m.max, 1);
	m.ref = calloc((size_t)m.max, sizeof(*m.ref));
	if (!m.claimed || !m.ref) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	vectors = st_get_u32(r);
	shm_fd = st_get_i32(r);
	s->next_id = st_get_u32(r);
	s->next_seq = st_get_u64(r);
	s->joins = st_get_u64(r);
	s->leaves = st_get_u64(r);
	s->refused = st_get_u64(r);
	s->dropped = st_get_u64(r);
	for (int i = 0; i < SERVER_DISC_MAX; i++)
		s->disc[i] = st_get_u64(r);
	npeers = st_get_count(r, IVPROTO_NUM_IDS, 48 + 4 * nvec);
	if (r->err)
		FAIL("the state's peer table is truncated");
	if (vectors != nvec)
		FAIL("the state has %u vectors per peer, this server %u "
		     "(-n must stay the same)", vectors, nvec);
	if (s->next_id >= IVPROTO_NUM_IDS)
		FAIL("next peer id %u is out of range", s->next_id);
	if (shm_fd <= STDERR_FILENO || shm_fd >= m.max ||
	    fstat(shm_fd, &a) < 0 || fstat(s->shm->fd, &b) < 0 ||
	    a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		FAIL("fd %d is not the region", shm_fd);
	m.claimed[shm_fd] = 1;
	m.shm_fd = shm_fd;
	m.ref[shm_fd] = fdref_get(s->shm);
	for (uint32_t i = 0; i < npeers; i++) {
		p = calloc(1, sizeof(*p) + nvec * sizeof(p->vec[0]));
		if (!p) {
			snprintf(err, errlen, "out of memory");
			rc = -ENOMEM;
			goto out;
		}
		p->prev = tail;
		if (tail)
			tail->next = p;
		else
			head = p;
		tail = p;
		p->sock = -1;
		rc = read_peer(s, r, &m, p, prev_seq, err, errlen);
		if (rc)
			goto out;
		s->by_id[p->id] = p;
		prev_seq = p->seq;
	}
	order = malloc((npeers ? npeers : 1) * sizeof(*order));
	if (!order) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	npeers = 0;
	for (p = head; p; p = p->next)
		order[npeers++] = p;
	for (p = head; p; p = p->next) {
		rc = read_queues(s, r, &m, p, err, errlen);
		if (rc)
			goto out;
	}
	if (r->off != r->len)
		FAIL("%zu bytes after the peer table", r->len - r->off);
	/* All checked: the fds are ours from here on. */
	for (p = head; p; p = p->next) {
		struct epoll_event ev = {
			.events = EPOLLIN | EPOLLRDHUP | EPOLLOUT | EPOLLET,
			.data.ptr = p,
		};

		p->cur = last_upto(order, npeers, p->cur_seq);
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, p->sock, &ev) < 0) {
			rc = -errno;
			snprintf(err, errlen, "epoll_ctl: %s", strerror(errno));
			goto out;
		}
	}
	s->head = head;
	s->tail = tail;
	s->npeers = npeers;
	s->need_pass = 1;
	head = NULL;
	/* The region's inherited fd: the server's own dup serves now. */
	if (shm_fd != s->shm->fd)
		close(shm_fd);
out:
	if (head) {
		/* Refused: nothing adopted, every fd left as it was. */
		memset(s->by_id, 0, sizeof(s->by_id));
		while (head) {
			p = head;
			head = p->next;
			forget_peer(s, p);
		}
		for (int fd = 0; fd < m.max && m.ref; fd++)
			if (m.ref[fd] && m.ref[fd] != s->shm &&
			    --m.ref[fd]->refs == 0) {
				free(m.ref[fd]);
				m.ref[fd] = NULL;
			}
	}
	fdmap_free(&m);
	free(order);
	return rc;
}
