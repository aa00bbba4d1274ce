/* SPDX-License-Identifier: MIT */
#include "ctl.h"
#include "wire.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CTL_IN_MAX  256
#define CTL_OUT_MAX 4096
/* Room one more line needs before it is formatted into the buffer. */
#define CTL_LINE    256
/*
 * Kernel memory per control client, too (the kernel doubles it): a
 * client that does not read holds this much of the server's memory.
 */
#define CTL_SNDBUF  8192

enum ctl_state { CTL_READING, CTL_LISTING, CTL_FLUSHING, CTL_RESTART };

struct ctl_client {
	int fd;
	enum ctl_state state;
	int next_id;                 /* peer listing: resume here */
	int pass_fd;                 /* sent with the answer's first byte */
	int64_t deadline;            /* ms, CLOCK_MONOTONIC */
	size_t inlen, outoff, outlen;
	char in[CTL_IN_MAX];
	char out[CTL_OUT_MAX];
	struct ctl_client *prev, *next;
};

struct ctl {
	int epfd, listen_fd;
	struct server *srv;
	const struct log_sink *log;
	struct ctl_info info;
	int64_t started;             /* CLOCK_REALTIME seconds */
	int64_t started_mono;        /* ms */
	unsigned nclients;
	unsigned long timeouts, served;
	int restart_fd;              /* asked for a restart (-1: nobody) */
	struct ctl_client *clients;
	char listen_tag;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Since the first start: across restarts too (CLOCK_REALTIME then). */
static int64_t uptime_ms(const struct ctl *c)
{
	struct timespec ts;

	if (!c->info.started)
		return now_ms() - c->started_mono;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec > c->started ? (ts.tv_sec - c->started) * 1000 : 0;
}

__attribute__((format(printf, 2, 3)))
static void out_line(struct ctl_client *cl, const char *fmt, ...)
{
	size_t room = sizeof(cl->out) - cl->outlen;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(cl->out + cl->outlen, room, fmt, ap);
	va_end(ap);
	/* Lines are short and room >= CTL_LINE is checked before: whole. */
	if (n > 0 && (size_t)n < room)
		cl->outlen += (size_t)n;
}

/*
 * Unread input at close() makes the kernel reset the connection, and the
 * client would lose the answer (e.g. to a too long request): drop what is
 * there, a bounded amount.
 */
static void discard_input(int fd)
{
	char junk[1024];

	for (int i = 0; i < 64; i++)
		if (recv(fd, junk, sizeof(junk), MSG_DONTWAIT) <= 0)
			break;
}

static void unlink_client(struct ctl *c, struct ctl_client *cl)
{
	if (cl->prev)
		cl->prev->next = cl->next;
	else
		c->clients = cl->next;
	if (cl->next)
		cl->next->prev = cl->prev;
	c->nclients--;
	free(cl);
}

static void drop(struct ctl *c, struct ctl_client *cl)
{
	discard_input(cl->fd);
	close(cl->fd);   /* takes it out of the epoll set */
	if (cl->pass_fd >= 0)
		close(cl->pass_fd);
	unlink_client(c, cl);
}

static void answer_status(struct ctl *c, struct ctl_client *cl)
{
	struct server_stats st;

	server_get_stats(c->srv, &st);
	out_line(cl, "ok\n");
	out_line(cl, "version %s\n", c->info.version);
	out_line(cl, "socket %s\n", c->info.socket_path);
	out_line(cl, "activated %d\n", c->info.activated);
	out_line(cl, "pid %d\n", (int)getpid());
	out_line(cl, "started %lld\n", (long long)c->started);
	out_line(cl, "uptime_s %lld\n", (long long)(uptime_ms(c) / 1000));
	out_line(cl, "restarts %llu\n",
		 (unsigned long long)c->info.restarts);
	out_line(cl, "region %s\n", c->info.region);
	out_line(cl, "region_size %llu\n",
		 (unsigned long long)c->info.region_size);
	out_line(cl, "vectors %u\n", c->info.vectors);
	out_line(cl, "peers %u\n", st.peers);
	out_line(cl, "in_setup %u\n", st.in_setup);
	out_line(cl, "not_reading %u\n", st.blocked);
	out_line(cl, "joins %lu\n", st.joins);
	out_line(cl, "leaves %lu\n", st.left);
	out_line(cl, "refused %lu\n", st.refused);
	out_line(cl, "gone_before_served %lu\n", st.dropped);
	out_line(cl, "disconnected_sent_data %lu\n",
		 st.disc[SERVER_DISC_SENT_DATA]);
	out_line(cl, "disconnected_stalled %lu\n",
		 st.disc[SERVER_DISC_STALLED]);
	out_line(cl, "disconnected_error %lu\n", st.disc[SERVER_DISC_ERROR]);
	out_line(cl, "ctl_requests %lu\n", c->served);
	out_line(cl, "ctl_timeouts %lu\n", c->timeouts);
	out_line(cl, ".\n");
	cl->state = CTL_FLUSHING;
}

/*
 * The region for a read-only look (ivshmem-ctl mailbox), never a peer's:
 * a new open file description that is read-only, so the client cannot
 * map it writable whatever it asks mmap() for.
 */
static void answer_region(struct ctl *c, struct ctl_client *cl)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", c->info.region_fd);
	cl->pass_fd = c->info.region_fd < 0 ? -1 :
		      open(path, O_RDONLY | O_CLOEXEC);
	if (cl->pass_fd < 0)
		out_line(cl, "error cannot open the region read-only: %s\n",
			 c->info.region_fd < 0 ? "no region" : strerror(errno));
	else
		out_line(cl, "ok\nregion_size %llu\n",
			 (unsigned long long)c->info.region_size);
	out_line(cl, ".\n");
	cl->state = CTL_FLUSHING;
}

/* The pending output, with the fd to pass on its first byte. */
static ssize_t client_send(struct ctl_client *cl)
{
	ssize_t n = ivproto_send_bytes(cl->fd, cl->out + cl->outoff,
				       cl->outlen - cl->outoff, cl->pass_fd,
				       MSG_DONTWAIT);

	if (n > 0 && cl->pass_fd >= 0) {
		close(cl->pass_fd);
		cl->pass_fd = -1;
	}
	return n;
}

/* Format peers into the buffer while it has room for a line. */
static void fill_listing(struct ctl_client *cl, const struct server *srv)
{
	struct server_peer_info pi;

	while (cl->state == CTL_LISTING &&
	       sizeof(cl->out) - cl->outlen >= CTL_LINE) {
		int id = server_peer_info(srv, cl->next_id, &pi);

		if (id < 0) {
			out_line(cl, ".\n");
			cl->state = CTL_FLUSHING;
			break;
		}
		out_line(cl, "peer id=%d vectors=%u pid=%d uid=%ld gid=%ld "
			 "joined=%lld queued=%zu setup=%s\n", pi.id,
			 pi.vectors, (int)pi.pid,
			 pi.uid == (uid_t)-1 ? -1L : (long)pi.uid,
			 pi.gid == (gid_t)-1 ? -1L : (long)pi.gid,
			 (long long)pi.joined, pi.queued,
			 pi.in_setup ? "sending" : "done");
		cl->next_id = id + 1;
	}
}

static void answer(struct ctl *c, struct ctl_client *cl, char *req)
{
	size_t n = strlen(req);

	if (n && req[n - 1] == '\r')
		req[--n] = '\0';
	c->served++;
	log_debug(c->log, "control: request '%.64s'", req);
	if (!strcmp(req, "peers")) {
		out_line(cl, "ok\n");
		cl->state = CTL_LISTING;
		cl->next_id = 0;
	} else if (!strcmp(req, "status")) {
		answer_status(c, cl);
	} else if (!strcmp(req, "mailbox")) {
		answer_region(c, cl);
	} else if (!strcmp(req, "restart") && c->restart_fd < 0) {
		/* Answered by whoever runs after the exec, or on failure. */
		cl->state = CTL_RESTART;
		log_info(c->log, "control socket: restart requested");
	} else if (!strcmp(req, "restart")) {
		out_line(cl, "error a restart is already under way\n.\n");
		cl->state = CTL_FLUSHING;
	} else {
		out_line(cl, "error unknown request '%.64s' (known: peers, "
			 "status, mailbox, restart)\n.\n", req);
		cl->state = CTL_FLUSHING;
	}
}

/* Read the request line; once it is there, answer it. */
static int client_read(struct ctl *c, struct ctl_client *cl)
{
	char *nl;
	ssize_t n;

	if (cl->state != CTL_READING)
		return 0;  /* anything sent after the request is ignored */
	n = recv(cl->fd, cl->in + cl->inlen, sizeof(cl->in) - 1 - cl->inlen,
		 MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (n == 0)
		return -ECONNRESET;   /* hung up before a whole request */
	cl->inlen += (size_t)n;
	cl->in[cl->inlen] = '\0';
	nl = memchr(cl->in, '\n', cl->inlen);
	if (nl) {
		*nl = '\0';
		answer(c, cl, cl->in);
	} else if (cl->inlen == sizeof(cl->in) - 1) {
		out_line(cl, "error request longer than %d bytes\n.\n",
			 CTL_IN_MAX - 2);
		cl->state = CTL_FLUSHING;
	}
	return 0;
}

/* Send what is buffered, refilling a listing; 1 when all was sent. */
static int client_write(struct ctl *c, struct ctl_client *cl)
{
	for (;;) {
		ssize_t n;

		if (cl->state == CTL_LISTING)
			fill_listing(cl, c->srv);
		if (cl->outoff == cl->outlen)
			return cl->state == CTL_FLUSHING;
		n = client_send(cl);
		if (n < 0)
			return n == -EAGAIN ? 0 : (int)n;
		cl->outoff += (size_t)n;
		cl->deadline = now_ms() + CTL_TIMEOUT_MS;
		if (cl->outoff == cl->outlen)
			cl->outoff = cl->outlen = 0;
	}
}

static void accept_clients(struct ctl *c)
{
	for (;;) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT |
						    EPOLLRDHUP | EPOLLET };
		struct ctl_client *cl;
		int fd = accept4(c->listen_fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN)
				log_warn(c->log, "control socket: accept: %s",
					 strerror(errno));
			return;
		}
		cl = c->nclients < CTL_MAX_CLIENTS ? calloc(1, sizeof(*cl))
						   : NULL;
		if (!cl) {
			log_warn(c->log, "control socket: refused a client "
				 "(%u already)", c->nclients);
			close(fd);
			continue;
		}
		cl->fd = fd;
		cl->pass_fd = -1;
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &(int){ CTL_SNDBUF },
			   sizeof(int));
		cl->deadline = now_ms() + CTL_TIMEOUT_MS;
		ev.data.ptr = cl;
		if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			free(cl);
			continue;
		}
		cl->next = c->clients;
		if (c->clients)
			c->clients->prev = cl;
		c->clients = cl;
		c->nclients++;
	}
}

void ctl_handle(struct ctl *c)
{
	struct epoll_event evs[CTL_MAX_CLIENTS + 1];
	int64_t now;
	int n;

	n = epoll_wait(c->epfd, evs, CTL_MAX_CLIENTS + 1, 0);
	for (int i = 0; i < n; i++) {
		struct ctl_client *cl = evs[i].data.ptr;
		int rc = 0;

		if (evs[i].data.ptr == &c->listen_tag) {
			accept_clients(c);
			continue;
		}
		if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP |
				     EPOLLERR))
			rc = client_read(c, cl);
		if (rc == 0 && cl->state == CTL_RESTART) {
			epoll_ctl(c->epfd, EPOLL_CTL_DEL, cl->fd, NULL);
			discard_input(cl->fd);
			c->restart_fd = cl->fd;
			unlink_client(c, cl);
			continue;
		}
		if (rc == 0)
			rc = client_write(c, cl);
		if (rc != 0)
			drop(c, cl);
	}
	now = now_ms();
	for (struct ctl_client *cl = c->clients, *next; cl; cl = next) {
		next = cl->next;
		if (cl->deadline <= now) {
			c->timeouts++;
			log_info(c->log, "control socket: dropped a client "
				 "that %s for %d ms", cl->state == CTL_READING ?
				 "sent no request" : "did not read",
				 CTL_TIMEOUT_MS);
			drop(c, cl);
		}
	}
}

int ctl_timeout_ms(const struct ctl *c)
{
	int64_t first = INT64_MAX, now = now_ms();

	for (const struct ctl_client *cl = c->clients; cl; cl = cl->next)
		if (cl->deadline < first)
			first = cl->deadline;
	if (first == INT64_MAX)
		return -1;
	return first <= now ? 0 : (int)(first - now);
}

int ctl_create(struct ctl **out, int listen_fd, struct server *srv,
	       const struct ctl_info *info, const struct log_sink *log)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct ctl *c = calloc(1, sizeof(*c));
	struct timespec ts;
	int rc;

	if (!c)
		return -ENOMEM;
	c->listen_fd = listen_fd;
	c->srv = srv;
	c->log = log;
	c->info = *info;
	c->restart_fd = -1;
	clock_gettime(CLOCK_REALTIME, &ts);
	c->started = info->started ? info->started : ts.tv_sec;
	c->started_mono = now_ms();
	ev.data.ptr = &c->listen_tag;
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (c->epfd < 0 ||
	    epoll_ctl(c->epfd, EPOLL_CTL_ADD, listen_fd, &ev) < 0)
		rc = -errno;
	else
		rc = server_watch(srv, c->epfd);
	if (rc < 0) {
		ctl_destroy(c);
		return rc;
	}
	*out = c;
	return 0;
}

int ctl_take_restart(struct ctl *c)
{
	int fd = c->restart_fd;

	c->restart_fd = -1;
	return fd;
}

/* A few short lines into an empty socket buffer: they fit, or are lost. */
static void answer_and_close(int fd, const char *text)
{
	send(fd, text, strlen(text), MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
}

void ctl_restart_failed(int fd, const char *why)
{
	char buf[CTL_OUT_MAX];

	snprintf(buf, sizeof(buf), "error %s\n.\n", why);
	answer_and_close(fd, buf);
}

void ctl_restart_done(int fd, const char *version, uint64_t restarts)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "ok\nversion %s\npid %d\nrestarts %llu\n.\n",
		 version, (int)getpid(), (unsigned long long)restarts);
	answer_and_close(fd, buf);
}

void ctl_destroy(struct ctl *c)
{
	if (!c)
		return;
	if (c->restart_fd >= 0)
		close(c->restart_fd);
	while (c->clients)
		drop(c, c->clients);
	if (c->epfd >= 0)
		close(c->epfd);
	free(c);
}
