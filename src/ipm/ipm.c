/* SPDX-License-Identifier: MIT */
/*
 * The IPM front: argument checks, presence news, waiting, timeouts and
 * delivery to the callback, over the mode's backend's pure ops
 * (backend.h). Only this file knows struct ipm.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "clock.h"
#include "backend.h"

#define API __attribute__((visibility("default")))

#define DEFAULT_SEND_TIMEOUT_MS 5000
#define IPM_POLL_MS 1
/* Internal to ipm_wait_fds: its periodic tick (never returned). */
#define IPM_READY_TICK     8
/*
 * The tick's period: a wait of at least this long ends at the next tick
 * instead of by a timer of its own, so every sleep of ipm_poll lasts at
 * most this long (a peer clearing our flags costs latency, never a hang).
 */
#define IPM_TICK_MS        100

struct ipm {
	const struct ipm_backend_ops *ops;
	void *priv; /* the backend's state: ops->priv_size bytes after us */
	struct ivshm_transport *t;
	struct ipm_config cfg;
	struct ipm_env env;
	ipm_callback_t cb;
	void *user_data;
	int enabled;
	int held; /* a message delivered, not completed */
	/* Presence news may be waiting (the transport's fd was readable):
	 * draining costs a system call, so only then. */
	int presence_due;
	int presence_gone; /* no more news will come: stop polling for it */
	int max_size; /* ops->max_data_size, fixed once open */
	uint64_t delivered; /* arrivals handed to the callback */
	/*
	 * ipm_wait_fds' epoll set, made on first use (-1: none yet, or it
	 * could not be made: poll() then): vector 0 edge-triggered, so a
	 * wake-up needs no read of the counter; the presence fd (ep_presence,
	 * -1 once dropped) level-triggered.
	 */
	int epfd, ep_presence;
	int tickfd; /* a periodic timer in that set: ep_tick_start() */
};

/* Where the backend's state starts, aligned for anything. */
#define PRIV_OFFSET \
	((sizeof(struct ipm) + _Alignof(max_align_t) - 1) & \
	 ~(_Alignof(max_align_t) - 1))

static int ipm_wait_fds(struct ipm *ipm, int timeout_ms);

/* Drain the transport's presence news; each leave goes to the backend. */
static int drain_presence_news(struct ipm *ipm)
{
	struct ivshm_transport *t = ipm->t;
	int peer, what, rc, n = 0;

	ipm->presence_due = 0;
	while ((rc = t->ops->next_presence(t, &peer, &what)) == 1) {
		if (what == IVSHM_PEER_LEFT && ipm->ops->peer_left)
			ipm->ops->peer_left(ipm->priv, peer);
		if (what == IVSHM_TRANSPORT_GONE)
			ipm->presence_gone = 1;
		n++;
	}
	if (rc == -ENOTCONN || rc == -ENOTSUP)
		ipm->presence_gone = 1;
	return rc < 0 && rc != -ENOTSUP ? rc : n;
}

/*
 * The same if any news may be waiting (see presence_due): before every
 * send and every look for messages, so the common case stays inline.
 */
static inline int drain_presence(struct ipm *ipm)
{
	if (!ipm->presence_due || ipm->presence_gone)
		return 0;
	return drain_presence_news(ipm);
}

/* ipm_env.news: a backend's blocking call wants the news now. */
static void env_news(void *ctx)
{
	struct ipm *ipm = ctx;

	ipm->presence_due = 1;
	drain_presence(ipm);
}

/* ipm_env.wait: a backend's blocking call sleeps, then reads the news. */
static int env_wait(void *ctx, int timeout_ms)
{
	struct ipm *ipm = ctx;
	int rc = ipm_wait_fds(ipm, timeout_ms);

	drain_presence(ipm);
	return rc;
}

API int ipm_open(struct ipm **out, struct ivshm_transport *t,
		 const struct ipm_config *cfg)
{
	const struct ipm_backend_ops *ops;
	struct ipm *ipm;
	int rc;

	*out = NULL;
	if (!t || !cfg)
		return -EINVAL;
	if (cfg->mode != IPM_MODE_DOORBELL && cfg->mode != IPM_MODE_MAILBOX)
		return -EINVAL;
	ops = cfg->mode == IPM_MODE_MAILBOX ? &ipm_mailbox_ops :
					      &ipm_doorbell_ops;
	/* One allocation: the backend's state after ours, aligned. */
	ipm = calloc(1, PRIV_OFFSET + ops->priv_size);
	if (!ipm)
		return -ENOMEM;
	ipm->ops = ops;
	ipm->priv = (char *)ipm + PRIV_OFFSET;
	ipm->t = t;
	ipm->cfg = *cfg;
	if (!ipm->cfg.send_timeout_ms)
		ipm->cfg.send_timeout_ms = DEFAULT_SEND_TIMEOUT_MS;
	ipm->env = (struct ipm_env){ .t = t, .cfg = &ipm->cfg, .ctx = ipm,
				     .wait = env_wait, .news = env_news };
	ipm->enabled = 1;
	ipm->presence_due = 1;
	ipm->epfd = -1;
	ipm->ep_presence = -1;
	ipm->tickfd = -1;
	/* Presence news during the join reach the backend (peer_left). */
	rc = ops->open(ipm->priv, &ipm->env);
	if (rc < 0) {
		if (ipm->epfd >= 0)
			close(ipm->epfd);
		if (ipm->tickfd >= 0)
			close(ipm->tickfd);
		free(ipm);
		return rc;
	}
	ipm->max_size = ops->max_data_size(ipm->priv);
	*out = ipm;
	return 0;
}

API void ipm_close(struct ipm *ipm)
{
	if (!ipm)
		return;
	ipm->ops->close(ipm->priv);
	if (ipm->epfd >= 0)
		close(ipm->epfd);
	if (ipm->tickfd >= 0)
		close(ipm->tickfd);
	ivshm_transport_close(ipm->t);
	free(ipm);
}

API int ipm_send(struct ipm *ipm, int wait, uint32_t id, const void *data,
		 size_t size)
{
	if (id > ipm_max_id_val_get(ipm) || (size && !data))
		return -EINVAL;
	if (size > (size_t)ipm->max_size)
		return -EMSGSIZE;
	if (ipm->ops->news_per_send)
		ipm->presence_due = 1;
	drain_presence(ipm);
	return ipm->ops->send(ipm->priv, wait, id, data, size);
}

API int ipm_loan(struct ipm *ipm, int wait, uint32_t id, size_t size,
		 void **data)
{
	if (!ipm->ops->loan)
		return -ENOTSUP;
	if (id > ipm_max_id_val_get(ipm) || !data)
		return -EINVAL;
	if (size > (size_t)ipm->max_size)
		return -EMSGSIZE;
	drain_presence(ipm);
	return ipm->ops->loan(ipm->priv, wait, id, size, data);
}

API int ipm_loan_commit(struct ipm *ipm)
{
	return ipm->ops->loan_commit ? ipm->ops->loan_commit(ipm->priv) :
				       -EINVAL;
}

API void ipm_loan_abandon(struct ipm *ipm)
{
	if (ipm->ops->loan_abandon)
		ipm->ops->loan_abandon(ipm->priv);
}

API void ipm_register_callback(struct ipm *ipm, ipm_callback_t cb,
			       void *user_data)
{
	ipm->cb = cb;
	ipm->user_data = user_data;
}

API int ipm_max_data_size_get(const struct ipm *ipm)
{
	return ipm->max_size;
}

API uint32_t ipm_max_id_val_get(const struct ipm *ipm)
{
	(void)ipm;
	return 65535; /* ids are peer ids: the Doorbell register's 16 bits */
}

API int ipm_set_enabled(struct ipm *ipm, int enable)
{
	ipm->enabled = !!enable;
	return 0;
}

API void ipm_complete(struct ipm *ipm)
{
	ipm->held = 0;
	ipm->ops->complete(ipm->priv);
}

API int ipm_fds(const struct ipm *ipm, struct pollfd *fds, int max)
{
	struct ivshm_transport *t = ipm->t;
	int n = 0, fd;

	fd = t->ops->vector_fd(t, 0);
	if (fd >= 0 && n < max)
		fds[n++] = (struct pollfd){ .fd = fd, .events = POLLIN };
	fd = ipm->presence_gone ? -1 : t->ops->presence_fd(t);
	if (fd >= 0 && n < max)
		fds[n++] = (struct pollfd){ .fd = fd, .events = POLLIN };
	return n;
}

static int deliverable(const struct ipm *ipm)
{
	return ipm->enabled && !ipm->held;
}

/*
 * One look: the presence news, then every arrival that may be delivered
 * now (a held message stops it: no other comes before its complete).
 * How many went to the callback, or -errno.
 */
static int process_pass(struct ipm *ipm)
{
	struct ipm_arrival a;
	int rc = drain_presence(ipm), n = 0;

	if (rc < 0 && rc != -ENOTCONN)
		return rc;
	if (!deliverable(ipm)) {
		if (ipm->ops->hold)
			ipm->ops->hold(ipm->priv);
		return 0;
	}
	while ((rc = ipm->ops->next(ipm->priv, &a)) == 1) {
		n++;
		ipm->delivered++;
		ipm->held = a.data != NULL; /* a doorbell needs no complete */
		if (ipm->cb)
			ipm->cb(ipm, ipm->user_data, a.id, a.data, a.size);
		if (ipm->held && !ipm->cfg.manual_complete)
			ipm_complete(ipm);
		if (ipm->held)
			break;
	}
	return rc < 0 && !n ? rc : n;
}

API int ipm_process(struct ipm *ipm)
{
	/* An event loop saw one of our fds readable: it may be either. */
	ipm->presence_due = 1;
	int n, more;

	if (ipm->ops->ack)
		ipm->ops->ack(ipm->priv);
	n = process_pass(ipm);
	/* Bounded: a flood is left for the next turn of the caller's loop,
	 * whose fd stays readable because the sender rings us. */
	for (int turns = 0; n >= 0 && ipm->ops->idle && turns < 16; turns++) {
		if (!ipm->ops->idle(ipm->priv, 0, deliverable(ipm)))
			break;
		more = process_pass(ipm);
		if (more < 0)
			return n ? n : more;
		n += more;
	}
	return n;
}

API int ipm_timeout(const struct ipm *ipm)
{
	return ipm->ops->timeout ? ipm->ops->timeout(ipm->priv) : -1;
}

/*
 * ipm_poll's sleep: the backend prepares it (idle: 1 when something came
 * meanwhile), the front waits, at most a tick, and tells it what it saw.
 */
static int sleep_once(struct ipm *ipm, int timeout_ms)
{
	int rc;

	if (ipm->ops->idle && ipm->ops->idle(ipm->priv, 1, deliverable(ipm)))
		return 1;
	if (timeout_ms < 0 || timeout_ms > IPM_TICK_MS)
		timeout_ms = IPM_TICK_MS;
	rc = ipm_wait_fds(ipm, timeout_ms);
	if (ipm->ops->woken)
		ipm->ops->woken(ipm->priv, rc);
	return rc;
}

API int ipm_poll(struct ipm *ipm, int timeout_ms)
{
	long long deadline = timeout_ms < 0 ? -1 : ipm_now_ms() + timeout_ms;

	for (;;) {
		int left = -1, rc;

		rc = process_pass(ipm);
		if (rc != 0)
			return rc;
		if (deadline >= 0) {
			long long l = deadline - ipm_now_ms();

			if (l <= 0)
				return 0;
			left = (int)l;
		}
		rc = sleep_once(ipm, left);
		if (rc < 0)
			return rc;
	}
}

API const struct ivshm_transport *ipm_transport(const struct ipm *ipm)
{
	return ipm->t;
}

API int ipm_peers(struct ipm *ipm, int *ids, int max)
{
	/* Asked for explicitly: look for news even if no fd said so. */
	ipm->presence_due = 1;
	drain_presence(ipm);
	return ipm->ops->peers(ipm->priv, ids, max);
}

API int ipm_stats(const struct ipm *ipm, struct ipm_stats *st)
{
	*st = (struct ipm_stats){ .delivered = ipm->delivered };
	if (ipm->ops->stats)
		ipm->ops->stats(ipm->priv, st);
	return 0;
}

/*
 * The tick: a periodic timer in the epoll set (edge-triggered, read when
 * it fired: a timerfd is re-armed by its read), so that a wait bounded by
 * IPM_TICK_MS needs no timer of its own.
 * Arming one per wait costs a good part of a wake-up in a VM (the timer's
 * programming traps), twice per round trip. Without it (timerfd_create
 * failed), waits carry their timeouts.
 */
static void ep_tick_start(struct ipm *ipm)
{
	const struct itimerspec every = {
		.it_interval = { .tv_nsec = IPM_TICK_MS * 1000000L },
		.it_value = { .tv_nsec = IPM_TICK_MS * 1000000L },
	};
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET,
				  .data.u32 = IPM_READY_TICK };
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);

	if (fd < 0)
		return;
	if (timerfd_settime(fd, 0, &every, NULL) < 0 ||
	    epoll_ctl(ipm->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		close(fd);
		return;
	}
	ipm->tickfd = fd;
}

/*
 * The epoll set, made once: 0, or -1 when there is none (no vector fd, or
 * it cannot be made: ipm_wait_fds polls then). The registration is ours
 * alone: peers sharing the eventfd's file can neither remove it nor take
 * its edges, as they can take its counter.
 */
static int ep_ready(struct ipm *ipm)
{
	struct ivshm_transport *t = ipm->t;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET,
				  .data.u32 = IPM_READY_VECTOR };
	int fd;

	if (ipm->epfd >= 0) {
		/* No more news: a hung-up socket would end every wait. */
		if (ipm->ep_presence >= 0 && ipm->presence_gone) {
			epoll_ctl(ipm->epfd, EPOLL_CTL_DEL, ipm->ep_presence,
				  NULL);
			ipm->ep_presence = -1;
		}
		return 0;
	}
	fd = t->ops->vector_fd(t, 0);
	if (fd < 0)
		return -1;
	ipm->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (ipm->epfd < 0)
		return -1;
	if (epoll_ctl(ipm->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		close(ipm->epfd);
		ipm->epfd = -1;
		return -1;
	}
	fd = ipm->presence_gone ? -1 : t->ops->presence_fd(t);
	ev = (struct epoll_event){ .events = EPOLLIN,
				   .data.u32 = IPM_READY_PRESENCE };
	if (fd >= 0 && epoll_ctl(ipm->epfd, EPOLL_CTL_ADD, fd, &ev) == 0)
		ipm->ep_presence = fd;
	ep_tick_start(ipm);
	return 0;
}

static int ep_wait(struct ipm *ipm, int timeout_ms)
{
	struct epoll_event ev[3];
	int n, rc = IPM_READY_EDGE;

	/* At least a tick long (or forever): the tick ends it in time. */
	if (ipm->tickfd >= 0 && (timeout_ms < 0 || timeout_ms >= IPM_TICK_MS))
		timeout_ms = -1;
	do {
		n = epoll_wait(ipm->epfd, ev, 3, timeout_ms);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++)
		rc |= (int)ev[i].data.u32;
	if (rc & IPM_READY_PRESENCE)
		ipm->presence_due = 1;
	if (rc & IPM_READY_TICK) {
		uint64_t ticks;

		/* A periodic timerfd runs on only once it is read (ours
		 * alone: non-blocking, nobody else holds it). */
		(void)!read(ipm->tickfd, &ticks, sizeof(ticks));
	}
	/* A tick alone is a timeout; with anything else, it is nothing. */
	return rc & ~IPM_READY_TICK;
}

static int ipm_wait_fds(struct ipm *ipm, int timeout_ms)
{
	struct pollfd fds[4];
	int n, rc;

	if (ep_ready(ipm) == 0)
		return ep_wait(ipm, timeout_ms);
	n = ipm_fds(ipm, fds, 4);

	if (n == 0) {
		/*
		 * A transport that cannot notify (a guest without VFIO):
		 * the caller re-checks the shared memory every IPM_POLL_MS.
		 */
		if (ipm->t->ops->vector_fd(ipm->t, 0) != -ENOTSUP)
			return -ENOTCONN;
		if (timeout_ms < 0 || timeout_ms > IPM_POLL_MS)
			timeout_ms = IPM_POLL_MS;
		poll(NULL, 0, timeout_ms);
		return 0;
	}
	do {
		rc = poll(fds, (nfds_t)n, timeout_ms);
	} while (rc < 0 && errno == EINTR);
	if (rc <= 0)
		return rc < 0 ? -errno : 0;
	rc = 0;
	for (int i = 0; i < n; i++) {
		if (!fds[i].revents)
			continue;
		if (fds[i].fd == ipm->t->ops->presence_fd(ipm->t)) {
			ipm->presence_due = 1;
			rc |= IPM_READY_PRESENCE;
		} else {
			rc |= IPM_READY_VECTOR;
		}
	}
	return rc;
}
