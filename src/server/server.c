/* SPDX-License-Identifier: MIT */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sendq.h"
#include "wire.h"

struct peer {
	int sock;
	int id;
	unsigned nvec;
	int polling_out;       /* EPOLLOUT registered */
	int doomed;            /* leaving at the end of this loop turn */
	struct fdref *vec[IVPROTO_MAX_VECTORS];
	struct sendq q;
	struct peer *prev, *next;  /* live peers in join order */
	struct peer *doom_next;
};

struct server {
	const struct server_config *cfg;
	const struct log_sink *log;
	int epfd, listen_fd, stop_fd;
	int reserve_fd;            /* spent to refuse a peer when out of fds */
	struct fdref *shm;
	struct peer *head, *tail;
	unsigned npeers;
	unsigned next_id;
	struct peer *doomed;
	struct peer *by_id[IVPROTO_NUM_IDS];
	char listen_tag, stop_tag; /* epoll cookies */
	int listen_paused;         /* out of fds: not accepting for now */
};

static void pause_listening(struct server *s, int pause)
{
	struct epoll_event ev = {
		.events = pause ? 0 : EPOLLIN,
		.data.ptr = &s->listen_tag,
	};

	if (s->listen_paused == pause)
		return;
	if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->listen_fd, &ev) == 0)
		s->listen_paused = pause;
	if (pause)
		log_warn(s->log, "out of file descriptors: not accepting new "
			 "peers until one leaves");
}

static void doom(struct server *s, struct peer *p, const char *why, int err)
{
	if (p->doomed)
		return;
	p->doomed = 1;
	p->doom_next = s->doomed;
	s->doomed = p;
	if (err)
		log_warn(s->log, "peer %d disconnected: %s: %s", p->id, why,
			 strerror(err));
	else
		log_info(s->log, "peer %d %s", p->id, why);
}

static void update_poll(struct server *s, struct peer *p, int want_out)
{
	struct epoll_event ev = {
		.events = EPOLLIN | EPOLLRDHUP | (want_out ? EPOLLOUT : 0),
		.data.ptr = p,
	};

	if (p->polling_out == want_out)
		return;
	if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, p->sock, &ev) < 0) {
		doom(s, p, "epoll_ctl", errno);
		return;
	}
	p->polling_out = want_out;
}

static void flush(struct server *s, struct peer *p)
{
	int rc;

	if (p->doomed)
		return;
	rc = sendq_flush(&p->q, p->sock);
	if (rc == 0 || rc == -EAGAIN)
		update_poll(s, p, rc == -EAGAIN);
	else if (rc == -EPIPE || rc == -ECONNRESET)
		doom(s, p, "left", 0);
	else
		doom(s, p, "send", -rc);
}

/* How many unread messages a peer may have: a full setup plus the slack. */
static size_t queue_limit(const struct server *s)
{
	return 3 + (size_t)(s->npeers + 1) * s->cfg->vectors +
	       s->cfg->queue_slack;
}

static void push(struct server *s, struct peer *p, int64_t value,
		 struct fdref *fd)
{
	if (p->doomed)
		return;
	if (sendq_len(&p->q) >= queue_limit(s)) {
		log_warn(s->log, "peer %d disconnected: %zu messages unread, "
			 "it stopped reading (see --max-backlog)", p->id,
			 sendq_len(&p->q));
		doom(s, p, "stalled", 0);
		return;
	}
	if (sendq_push(&p->q, value, fd) < 0)
		doom(s, p, "queueing a message", ENOMEM);
}

static int alloc_id(struct server *s)
{
	/* Round-robin: a freed id comes back only after wrap-around. */
	for (unsigned i = 0; i < IVPROTO_NUM_IDS; i++) {
		unsigned id = (s->next_id + i) % IVPROTO_NUM_IDS;

		if (!s->by_id[id]) {
			s->next_id = (id + 1) % IVPROTO_NUM_IDS;
			return (int)id;
		}
	}
	return -1;
}

static void free_peer(struct peer *p)
{
	for (unsigned v = 0; v < p->nvec; v++)
		fdref_put(p->vec[v]);
	sendq_clear(&p->q);
	if (p->sock >= 0)
		close(p->sock);
	free(p);
}

static void join(struct server *s, int sock)
{
	const unsigned nvec = s->cfg->vectors;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
	struct peer *p;
	int id;

	if (s->npeers >= s->cfg->max_peers) {
		log_warn(s->log, "refused a peer: %u peers already, the "
			 "--max-peers limit", s->npeers);
		close(sock);
		return;
	}
	id = alloc_id(s);
	if (id < 0) {
		log_warn(s->log, "refused a peer: all peer ids are in use");
		close(sock);
		return;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		log_err(s->log, "refused a peer: out of memory");
		close(sock);
		return;
	}
	p->sock = sock;
	p->id = id;
	for (; p->nvec < nvec; p->nvec++) {
		int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

		p->vec[p->nvec] = efd >= 0 ? fdref_new(efd) : NULL;
		if (!p->vec[p->nvec]) {
			log_warn(s->log, "refused peer %d: cannot create its "
				 "eventfds: %s", id,
				 efd < 0 ? strerror(errno) : "out of memory");
			if (efd >= 0)
				close(efd);
			free_peer(p);
			return;
		}
	}
	ev.data.ptr = p;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, sock, &ev) < 0) {
		log_err(s->log, "refused peer %d: epoll_ctl: %s", id,
			strerror(errno));
		free_peer(p);
		return;
	}

	/* Its setup, in the order of the spec. */
	push(s, p, IVPROTO_VERSION, NULL);
	push(s, p, id, NULL);
	push(s, p, IVPROTO_SHM_ID, s->shm);
	for (struct peer *o = s->head; o; o = o->next)
		for (unsigned v = 0; v < o->nvec; v++)
			push(s, p, o->id, o->vec[v]);
	for (unsigned v = 0; v < nvec; v++)
		push(s, p, id, p->vec[v]);
	/* The newcomer first: its setup is what it waits for. */
	flush(s, p);

	/* Then everyone else learns of it. */
	for (struct peer *o = s->head; o; o = o->next) {
		for (unsigned v = 0; v < nvec; v++)
			push(s, o, id, p->vec[v]);
		flush(s, o);
	}

	p->prev = s->tail;
	if (s->tail)
		s->tail->next = p;
	else
		s->head = p;
	s->tail = p;
	s->by_id[id] = p;
	s->npeers++;
	log_info(s->log, "peer %d joined (%u vectors, %u peers)", id, nvec,
		 s->npeers);
}

/* Remove the doomed peers, telling the others; that may doom more. */
static void reap(struct server *s)
{
	while (s->doomed) {
		struct peer *p = s->doomed;

		s->doomed = p->doom_next;
		if (p->prev)
			p->prev->next = p->next;
		else if (s->head == p)
			s->head = p->next;
		if (p->next)
			p->next->prev = p->prev;
		else if (s->tail == p)
			s->tail = p->prev;
		s->by_id[p->id] = NULL;
		s->npeers--;
		epoll_ctl(s->epfd, EPOLL_CTL_DEL, p->sock, NULL);
		for (struct peer *o = s->head; o; o = o->next) {
			push(s, o, p->id, NULL);
			flush(s, o);
		}
		log_debug(s->log, "peer %d removed (%u peers left)", p->id,
			  s->npeers);
		free_peer(p);
		/* Its fds are free again: a reserve first, then peers. */
		if (s->reserve_fd < 0)
			s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (s->reserve_fd >= 0)
			pause_listening(s, 0);
	}
}

/*
 * Out of fds: take the connection off the backlog with the reserve fd.
 * accept() fails with EMFILE even when nobody is waiting, so this says
 * whether there was one to refuse (1) or not (0).
 */
static int refuse_for_fds(struct server *s, int err)
{
	int fd = -1;

	if (s->reserve_fd >= 0) {
		close(s->reserve_fd);
		fd = accept(s->listen_fd, NULL, NULL);
		if (fd >= 0)
			close(fd);
	}
	s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	/* Without a reserve a pending peer would make epoll spin. */
	if (s->reserve_fd < 0)
		pause_listening(s, 1);
	if (fd < 0)
		return 0;
	log_warn(s->log, "refused a peer: %s", strerror(err));
	return !s->listen_paused;
}

static void accept_all(struct server *s)
{
	for (;;) {
		int fd = accept4(s->listen_fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			join(s, fd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EMFILE || errno == ENFILE) {
			if (refuse_for_fds(s, errno))
				continue;
			return;
		}
		if (errno != EAGAIN)
			log_err(s->log, "accept: %s", strerror(errno));
		return;
	}
}

/* Peers never send: any byte or EOF ends the peer, as in QEMU's server. */
static void peer_readable(struct server *s, struct peer *p)
{
	char buf[64];
	ssize_t n = recv(p->sock, buf, sizeof(buf), MSG_DONTWAIT);

	if (n > 0)
		doom(s, p, "sent data, which the protocol does not allow: "
		     "disconnected", 0);
	else if (n == 0 || errno == ECONNRESET)
		doom(s, p, "left", 0);
	else if (errno != EAGAIN && errno != EINTR)
		doom(s, p, "recv", errno);
}

int server_create(struct server **out, const struct server_config *cfg,
		  const struct log_sink *log, int listen_fd, int shm_fd,
		  int stop_fd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct server *s = calloc(1, sizeof(*s));
	int dup_fd, rc;

	if (!s)
		return -ENOMEM;
	s->cfg = cfg;
	s->log = log;
	s->listen_fd = listen_fd;
	s->stop_fd = stop_fd;
	s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	dup_fd = fcntl(shm_fd, F_DUPFD_CLOEXEC, 0);
	if (s->epfd < 0 || dup_fd < 0 || s->reserve_fd < 0) {
		rc = -errno;
		goto fail;
	}
	s->shm = fdref_new(dup_fd);
	if (!s->shm) {
		close(dup_fd);
		rc = -ENOMEM;
		goto fail;
	}
	ev.data.ptr = &s->listen_tag;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, listen_fd, &ev) < 0) {
		rc = -errno;
		goto fail;
	}
	ev.data.ptr = &s->stop_tag;
	if (stop_fd >= 0 && epoll_ctl(s->epfd, EPOLL_CTL_ADD, stop_fd, &ev) < 0) {
		rc = -errno;
		goto fail;
	}
	*out = s;
	return 0;
fail:
	server_destroy(s);
	return rc;
}

int server_run(struct server *s)
{
	struct epoll_event evs[256];

	for (;;) {
		int n = epoll_wait(s->epfd, evs, 256, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_err(s->log, "epoll_wait: %s", strerror(errno));
			return -errno;
		}
		for (int i = 0; i < n; i++) {
			void *tag = evs[i].data.ptr;
			struct peer *p = tag;

			if (tag == &s->stop_tag)
				return 0;
			if (tag == &s->listen_tag) {
				accept_all(s);
				continue;
			}
			if (p->doomed)
				continue;
			if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP |
					     EPOLLERR))
				peer_readable(s, p);
			if (!p->doomed && (evs[i].events & EPOLLHUP))
				doom(s, p, "left", 0);
			if (evs[i].events & EPOLLOUT)
				flush(s, p);
		}
		reap(s);
	}
}

void server_destroy(struct server *s)
{
	if (!s)
		return;
	while (s->head) {
		struct peer *p = s->head;

		s->head = p->next;
		free_peer(p);
	}
	fdref_put(s->shm);
	if (s->reserve_fd >= 0)
		close(s->reserve_fd);
	if (s->epfd >= 0)
		close(s->epfd);
	free(s);
}
