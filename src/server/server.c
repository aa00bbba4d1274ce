/* SPDX-License-Identifier: MIT */
/*
 * The event loop. What a peer is still to be sent is never copied into a
 * queue of its own: it is read from the peer table when its socket has
 * room. Peers are kept in join order; each has a cursor, the last peer of
 * that list it was told of. Its setup is the list up to itself, then each
 * peer that joined later is announced as the cursor moves on. Only leaves
 * are queued, and only of peers it was told of, so a peer that joins and
 * leaves before a slow reader got that far costs the reader nothing, and
 * a peer that never reads costs O(1) whatever the others do.
 */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "server_int.h"

/* Connections taken off the backlog per loop turn, after the hang-ups. */
#define ACCEPT_BATCH 64
#define MAX_EVENTS   256
/*
 * Bytes (as the kernel counts them, about 770 a message) a peer may have
 * unread in its socket until it has shown that it reads: fds sitting in
 * the sockets of peers that never read make every sendmsg() of ours wait
 * for the kernel's collector of in-flight fds. Once a peer has read, it
 * gets the whole socket buffer: no round trip per window for honest peers.
 */
#define PEER_WINDOW  (64 * 1024)
/* Messages staged before the window is looked at: small setups never. */
#define WINDOW_AFTER 32

static void pause_listening(struct server *s, int pause)
{
	struct epoll_event ev = {
		.events = pause ? 0 : EPOLLIN,
		.data.ptr = &s->listen_tag,
	};

	if (s->listen_paused == pause || s->listen_fd < 0)
		return;
	if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->listen_fd, &ev) == 0)
		s->listen_paused = pause;
	if (pause)
		log_warn(s->log, "out of file descriptors: not accepting new "
			 "peers until one leaves");
}

static void doom(struct server *s, struct peer *p, enum server_disc reason,
		 const char *why, int err)
{
	if (p->doomed)
		return;
	p->doomed = 1;
	if (reason == SERVER_DISC_MAX)
		s->leaves++;
	else
		s->disc[reason]++;
	p->doom_next = s->doomed;
	s->doomed = p;
	if (err)
		log_warn(s->log, "peer %d disconnected: %s: %s", p->id, why,
			 strerror(err));
	else
		log_info(s->log, "peer %d %s", p->id, why);
}

static int in_setup(const struct peer *p)
{
	return p->cur_seq < p->seq;
}

static int stage(struct server *s, struct peer *p, int64_t value,
		 struct fdref *fd)
{
	if (s->trace)
		log_debug(s->log, "to peer %d: %lld%s", p->id,
			  (long long)value, fd ? " + fd" : "");
	if (p->staged < WINDOW_AFTER)
		p->staged++;
	return sendq_push(&p->stage, value, fd);
}

/*
 * Stage what p is to be sent next: its greeting, a leave (never inside
 * its setup, which ends with its own vectors), or the vectors of the next
 * peer of the list. 1 when something was staged, 0 when p knows it all,
 * -ENOMEM.
 */
static int refill(struct server *s, struct peer *p)
{
	struct peer *next;
	int rc = 0;

	if (!p->greeted) {
		p->greeted = 1;
		if (stage(s, p, IVPROTO_VERSION, NULL) < 0 ||
		    stage(s, p, p->id, NULL) < 0 ||
		    stage(s, p, IVPROTO_SHM_ID, s->shm) < 0)
			return -ENOMEM;
		return 1;
	}
	if (!in_setup(p) && p->leaves.len)
		return stage(s, p, idq_pop(&p->leaves), NULL) < 0 ? -ENOMEM : 1;
	next = p->cur ? p->cur->next : s->head;
	if (!next)
		return 0;
	for (unsigned v = 0; v < s->cfg->vectors && !rc; v++)
		rc = stage(s, p, next->id, next->vec[v]);
	if (rc < 0)
		return rc;
	p->cur = next;
	p->cur_seq = next->seq;
	if (next == p)
		log_debug(s->log, "peer %d has its setup", p->id);
	return 1;
}

/* Send p what it is owed, as far as its socket takes it. */
static void flush(struct server *s, struct peer *p)
{
	while (!p->doomed && !p->blocked) {
		int rc = 1, unread;

		if (!sendq_len(&p->stage) && !p->reads &&
		    p->staged >= WINDOW_AFTER &&
		    ioctl(p->sock, SIOCOUTQ, &unread) == 0) {
			if (unread > PEER_WINDOW) {
				p->blocked = p->windowed = 1;
				return;
			}
			/* Below the window again, or all read: it reads. */
			p->reads = p->windowed || unread == 0;
		}
		if (!sendq_len(&p->stage))
			rc = refill(s, p);
		if (rc == 0)
			return;
		if (rc < 0) {
			doom(s, p, SERVER_DISC_ERROR, "queueing a message", ENOMEM);
			return;
		}
		rc = sendq_flush(&p->stage, p->sock);
		if (rc == -EAGAIN) {
			p->blocked = 1;
			if (s->trace)
				log_debug(s->log, "peer %d: socket full", p->id);
		}
		else if (rc == -EPIPE || rc == -ECONNRESET)
			doom(s, p, SERVER_DISC_MAX, "left", 0);
		else if (rc < 0)
			doom(s, p, SERVER_DISC_ERROR, "send", -rc);
	}
}

/* Tell every peer that is not waiting for its socket what it is owed. */
static void pass(struct server *s)
{
	s->need_pass = 0;
	for (struct peer *p = s->head; p; p = p->next)
		if (!p->blocked && !p->doomed)
			flush(s, p);
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

/* The hook for p, if any (which: joined or left). */
static void tell_hook(const struct server *s, const struct peer *p, int left)
{
	int vec[IVPROTO_MAX_VECTORS];
	struct server_peer_fds pf = {
		.id = p->id, .seq = p->seq, .joined = p->joined,
		.sock = p->sock, .nvec = s->cfg->vectors, .vec = vec,
	};

	if (!s->hooks || !(left ? s->hooks->left : s->hooks->joined))
		return;
	for (unsigned v = 0; v < pf.nvec && v < IVPROTO_MAX_VECTORS; v++)
		vec[v] = p->vec[v]->fd;
	if (left)
		s->hooks->left(s->hooks->ctx, &pf);
	else
		s->hooks->joined(s->hooks->ctx, &pf);
}

void server_set_hooks(struct server *s, const struct server_hooks *h)
{
	s->hooks = h;
}

static void free_peer(const struct server *s, struct peer *p)
{
	for (unsigned v = 0; v < s->cfg->vectors; v++)
		fdref_put(p->vec[v]);
	sendq_clear(&p->stage);
	idq_clear(&p->leaves);
	if (p->sock >= 0) {
		/*
		 * Out of epoll first: a copy of this socket elsewhere (the
		 * fd store's, a re-exec's) keeps its file open after our
		 * close, and epoll would go on reporting it with p freed.
		 */
		epoll_ctl(s->epfd, EPOLL_CTL_DEL, p->sock, NULL);
		close(p->sock);
	}
	free(p);
}

/* Who connected, as the kernel saw it at connect() (SO_PEERCRED). */
static void peer_creds(struct peer *p)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);
	struct timespec now;

	if (getsockopt(p->sock, SOL_SOCKET, SO_PEERCRED, &uc, &len) == 0 &&
	    len == sizeof(uc)) {
		p->pid = uc.pid;
		p->uid = uc.uid;
		p->gid = uc.gid;
	} else {
		/* Not a UNIX socket (the fuzzer's pairs are): unknown. */
		p->pid = -1;
		p->uid = (uid_t)-1;
		p->gid = (gid_t)-1;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	p->joined = now.tv_sec;
}

void server_add_peer(struct server *s, int sock)
{
	const unsigned nvec = s->cfg->vectors;
	struct epoll_event ev = {
		/* Edge-triggered: EPOLLOUT stays registered, no epoll_ctl. */
		.events = EPOLLIN | EPOLLRDHUP | EPOLLOUT | EPOLLET,
	};
	struct peer *p;
	int id, rc;

	if (s->npeers >= s->cfg->max_peers) {
		log_warn(s->log, "refused a peer: %u %s already, the "
			 "--max-peers limit", s->npeers,
			 s->npeers == 1 ? "peer" : "peers");
		s->refused++;
		close(sock);
		return;
	}
	id = alloc_id(s);
	if (id < 0) {
		log_warn(s->log, "refused a peer: all peer ids are in use");
		s->refused++;
		close(sock);
		return;
	}
	p = calloc(1, sizeof(*p) + nvec * sizeof(p->vec[0]));
	if (!p) {
		log_err(s->log, "refused a peer: out of memory");
		s->refused++;
		close(sock);
		return;
	}
	p->sock = sock;
	p->id = id;
	for (unsigned v = 0; v < nvec; v++) {
		int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

		p->vec[v] = efd >= 0 ? fdref_new(efd) : NULL;
		if (!p->vec[v]) {
			log_warn(s->log, "refused peer %d: cannot create its "
				 "eventfds: %s", id,
				 efd < 0 ? strerror(errno) : "out of memory");
			if (efd >= 0)
				close(efd);
			s->refused++;
			free_peer(s, p);
			return;
		}
	}
	/*
	 * Its greeting before anything else: one that hung up while in the
	 * backlog goes unseen, without news to anyone (a refused peer, as
	 * above, gets nothing at all).
	 */
	rc = refill(s, p) < 0 ? -ENOMEM : sendq_flush(&p->stage, sock);
	if (rc < 0 && rc != -EAGAIN) {
		s->dropped++;
		free_peer(s, p);
		return;
	}
	p->seq = ++s->next_seq;
	p->prev = s->tail;
	if (s->tail)
		s->tail->next = p;
	else
		s->head = p;
	s->tail = p;
	s->by_id[id] = p;
	s->npeers++;
	s->joins++;
	/*
	 * The newcomer's setup first: it is what it waits for (epoll, the
	 * credentials and the log line can wait until it is on its way).
	 * The others hear of it at the end of the turn, once this turn's
	 * hang-ups are handled: a peer that came and went by then is news
	 * to nobody.
	 */
	flush(s, p);
	s->need_pass = 1;
	/*
	 * Registered after the first send: EPOLLOUT is edge-triggered, and
	 * adding reports a socket that is writable by then, so a setup left
	 * unsent above is not stranded.
	 */
	ev.data.ptr = p;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, sock, &ev) < 0) {
		doom(s, p, SERVER_DISC_ERROR, "epoll_ctl", errno);
		return;
	}
	peer_creds(p);
	tell_hook(s, p, 0);
	log_info(s->log, "peer %d joined (pid %d, uid %u, gid %u; %u %s, "
		 "%u %s)", id, (int)p->pid, (unsigned)p->uid,
		 (unsigned)p->gid, nvec, nvec == 1 ? "vector" : "vectors",
		 s->npeers, s->npeers == 1 ? "peer" : "peers");
}

/* Take p out of the table; tell those that knew of it. */
static void remove_peer(struct server *s, struct peer *p)
{
	struct peer *prev = p->prev;

	if (prev)
		prev->next = p->next;
	else
		s->head = p->next;
	if (p->next)
		p->next->prev = prev;
	else
		s->tail = prev;
	s->by_id[p->id] = NULL;
	s->npeers--;
	tell_hook(s, p, 1);
	for (struct peer *o = s->head; o; o = o->next) {
		if (o->cur == p)
			o->cur = prev;   /* cur_seq stays: p is behind it */
		if (o->doomed || o->cur_seq < p->seq)
			continue;        /* never told of p: nothing to undo */
		/* Only a full socket means it does not read. */
		if (o->blocked && o->leaves.len >= s->cfg->queue_slack) {
			log_warn(s->log, "peer %d disconnected: %zu leave "
				 "notices unread, it stopped reading (see "
				 "--max-backlog)", o->id, o->leaves.len + 1);
			doom(s, o, SERVER_DISC_STALLED, "stalled", 0);
		} else if (idq_push(&o->leaves, p->id) < 0) {
			doom(s, o, SERVER_DISC_ERROR, "queueing a message", ENOMEM);
		}
	}
	s->need_pass = 1;
	log_debug(s->log, "peer %d removed (%u %s left)", p->id, s->npeers,
		  s->npeers == 1 ? "peer" : "peers");
	/* Closing its socket takes it out of epoll. */
	free_peer(s, p);
	/* Its fds are free again: a reserve first, then peers. */
	if (s->reserve_fd < 0)
		s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (s->reserve_fd >= 0)
		pause_listening(s, 0);
}

/* Remove the doomed peers and send the news; that may doom more. */
static void settle(struct server *s)
{
	do {
		while (s->doomed) {
			struct peer *p = s->doomed;

			s->doomed = p->doom_next;
			remove_peer(s, p);
		}
		if (s->need_pass)
			pass(s);
	} while (s->doomed);
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
	s->refused++;
	log_warn(s->log, "refused a peer: %s", strerror(err));
	return !s->listen_paused;
}

static void accept_some(struct server *s)
{
	for (int i = 0; i < ACCEPT_BATCH && !s->listen_paused; i++) {
		int fd = accept4(s->listen_fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			server_add_peer(s, fd);
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
		doom(s, p, SERVER_DISC_SENT_DATA, "sent data, which the protocol does not allow: "
		     "disconnected", 0);
	else if (n == 0 || errno == ECONNRESET)
		doom(s, p, SERVER_DISC_MAX, "left", 0);
	else if (errno != EAGAIN && errno != EINTR)
		doom(s, p, SERVER_DISC_ERROR, "recv", errno);
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
	s->trace = cfg->verbosity >= 2;
	s->listen_fd = listen_fd;
	s->stop_fd = stop_fd;
	s->watch_fd = -1;
	s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	dup_fd = fcntl(shm_fd, F_DUPFD_CLOEXEC, 0);
	if (s->epfd < 0 || dup_fd < 0 || s->reserve_fd < 0) {
		rc = -errno;
		if (dup_fd >= 0)
			close(dup_fd);
		goto fail;
	}
	s->shm = fdref_new(dup_fd);
	if (!s->shm) {
		close(dup_fd);
		rc = -ENOMEM;
		goto fail;
	}
	ev.data.ptr = &s->listen_tag;
	if (listen_fd >= 0 &&
	    epoll_ctl(s->epfd, EPOLL_CTL_ADD, listen_fd, &ev) < 0) {
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

int server_step(struct server *s, int timeout_ms)
{
	struct epoll_event evs[MAX_EVENTS];
	int n, want_accept = 0, stop = 0, watch = 0;

	n = epoll_wait(s->epfd, evs, MAX_EVENTS, timeout_ms);
	if (n < 0) {
		if (errno == EINTR)
			return 0;
		log_err(s->log, "epoll_wait: %s", strerror(errno));
		return -errno;
	}
	for (int i = 0; i < n; i++) {
		void *tag = evs[i].data.ptr;
		struct peer *p = tag;

		if (tag == &s->stop_tag) {
			stop = 1;   /* after the rest: edges are not repeated */
			continue;
		}
		if (tag == &s->watch_tag) {
			watch = SERVER_STEP_WATCH;
			continue;
		}
		if (tag == &s->listen_tag) {
			want_accept = 1;
			continue;
		}
		if (p->doomed)
			continue;
		if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP |
				     EPOLLERR))
			peer_readable(s, p);
		if (!p->doomed && (evs[i].events & EPOLLHUP))
			doom(s, p, SERVER_DISC_MAX, "left", 0);
		if (evs[i].events & EPOLLOUT) {
			p->blocked = 0;
			flush(s, p);
		}
	}
	/* Hang-ups first: what left frees its fds for what comes. */
	settle(s);
	if (want_accept) {
		accept_some(s);
		settle(s);
	}
	return stop | watch;
}

int server_watch(struct server *s, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &s->watch_tag };

	if (s->watch_fd >= 0 || epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return s->watch_fd >= 0 ? -EBUSY : -errno;
	s->watch_fd = fd;
	return 0;
}

int server_peer_info(const struct server *s, int from_id,
		     struct server_peer_info *pi)
{
	for (int id = from_id < 0 ? 0 : from_id; id < IVPROTO_NUM_IDS; id++) {
		const struct peer *p = s->by_id[id];

		if (!p)
			continue;
		*pi = (struct server_peer_info){
			.id = p->id,
			.vectors = s->cfg->vectors,
			.pid = p->pid,
			.uid = p->uid,
			.gid = p->gid,
			.joined = p->joined,
			.queued = sendq_len(&p->stage) + p->leaves.len,
			.in_setup = in_setup(p),
		};
		return id;
	}
	return -1;
}

unsigned long server_events(const struct server *s)
{
	unsigned long n = s->joins + s->leaves + s->refused;

	for (int i = 0; i < SERVER_DISC_MAX; i++)
		n += s->disc[i];
	return n;
}

void server_get_stats(const struct server *s, struct server_stats *st)
{
	*st = (struct server_stats){
		.peers = s->npeers,
		.dropped = s->dropped,
		.joins = s->joins,
		.left = s->leaves,
		.refused = s->refused,
	};
	memcpy(st->disc, s->disc, sizeof(st->disc));
	for (const struct peer *p = s->head; p; p = p->next) {
		st->in_setup += in_setup(p);
		st->blocked += p->blocked != 0;
		st->staged += sendq_len(&p->stage);
		st->leaves += p->leaves.len;
	}
}

void server_destroy(struct server *s)
{
	if (!s)
		return;
	while (s->head) {
		struct peer *p = s->head;

		s->head = p->next;
		free_peer(s, p);
	}
	fdref_put(s->shm);
	if (s->reserve_fd >= 0)
		close(s->reserve_fd);
	if (s->epfd >= 0)
		close(s->epfd);
	free(s);
}
