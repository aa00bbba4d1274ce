/* SPDX-License-Identifier: MIT */
/* The IPM front: argument checks and dispatch to the mode's backend. */
#include <errno.h>
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

API int ipm_open(struct ipm **out, struct ivshm_transport *t,
		 const struct ipm_config *cfg)
{
	struct ipm *ipm;
	int rc;

	*out = NULL;
	if (!t || !cfg)
		return -EINVAL;
	if (cfg->mode != IPM_MODE_DOORBELL && cfg->mode != IPM_MODE_MAILBOX)
		return -EINVAL;
	ipm = calloc(1, sizeof(*ipm));
	if (!ipm)
		return -ENOMEM;
	ipm->t = t;
	ipm->cfg = *cfg;
	if (!ipm->cfg.send_timeout_ms)
		ipm->cfg.send_timeout_ms = DEFAULT_SEND_TIMEOUT_MS;
	ipm->enabled = 1;
	ipm->presence_due = 1;
	ipm->epfd = -1;
	ipm->ep_presence = -1;
	ipm->tickfd = -1;
	ipm->ops = cfg->mode == IPM_MODE_MAILBOX ? &ipm_mailbox_ops :
						   &ipm_doorbell_ops;
	rc = ipm->ops->open(ipm);
	if (rc < 0) {
		free(ipm);
		return rc;
	}
	ipm->max_size = ipm->ops->max_data_size(ipm);
	*out = ipm;
	return 0;
}

API void ipm_close(struct ipm *ipm)
{
	if (!ipm)
		return;
	ipm->ops->close(ipm);
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
	return ipm->ops->send(ipm, wait, id, data, size);
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
	return ipm->ops->loan(ipm, wait, id, size, data);
}

API int ipm_loan_commit(struct ipm *ipm)
{
	return ipm->ops->loan_commit ? ipm->ops->loan_commit(ipm) : -EINVAL;
}

API void ipm_loan_abandon(struct ipm *ipm)
{
	if (ipm->ops->loan_abandon)
		ipm->ops->loan_abandon(ipm);
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
	ipm->ops->complete(ipm);
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

API int ipm_process(struct ipm *ipm)
{
	/* An event loop saw one of our fds readable: it may be either. */
	ipm->presence_due = 1;
	int n, more;

	if (ipm->ops->ack)
		ipm->ops->ack(ipm);
	n = ipm->ops->process(ipm);
	/* Bounded: a flood is left for the next turn of the caller's loop,
	 * whose fd stays readable because the sender rings us. */
	for (int turns = 0; n >= 0 && ipm->ops->idle && turns < 16; turns++) {
		if (!ipm->ops->idle(ipm))
			break;
		more = ipm->ops->process(ipm);
		if (more < 0)
			return n ? n : more;
		n += more;
	}
	return n;
}

API int ipm_timeout(const struct ipm *ipm)
{
	return ipm->ops->timeout ? ipm->ops->timeout(ipm) : -1;
}

API int ipm_poll(struct ipm *ipm, int timeout_ms)
{
	long long deadline = timeout_ms < 0 ? -1 : ipm_now_ms() + timeout_ms;

	for (;;) {
		int left = -1, rc;

		rc = ipm->ops->process(ipm);
		if (rc != 0)
			return rc;
		if (deadline >= 0) {
			long long l = deadline - ipm_now_ms();

			if (l <= 0)
				return 0;
			left = (int)l;
		}
		rc = ipm->ops->wait(ipm, left);
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
	return ipm->ops->peers(ipm, ids, max);
}

API int ipm_stats(const struct ipm *ipm, struct ipm_stats *st)
{
	*st = (struct ipm_stats){ .delivered = ipm->delivered };
	if (ipm->ops->stats)
		ipm->ops->stats(ipm, st);
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

int ipm_wait_fds(struct ipm *ipm, int timeout_ms)
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

int ipm_drain_presence_news(struct ipm *ipm,
			    void (*left)(struct ipm *, int))
{
	struct ivshm_transport *t = ipm->t;
	int peer, what, rc, n = 0;

	ipm->presence_due = 0;
	while ((rc = t->ops->next_presence(t, &peer, &what)) == 1) {
		if (what == IVSHM_PEER_LEFT && left)
			left(ipm, peer);
		if (what == IVSHM_TRANSPORT_GONE)
			ipm->presence_gone = 1;
		n++;
	}
	if (rc == -ENOTCONN || rc == -ENOTSUP)
		ipm->presence_gone = 1;
	return rc < 0 && rc != -ENOTSUP ? rc : n;
}
