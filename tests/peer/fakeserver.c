/* SPDX-License-Identifier: MIT */
#include "fakeserver.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "wire.h"

static int memfd(off_t size)
{
	int fd = memfd_create("fake-ivshmem", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0 || ftruncate(fd, size) < 0)
		_exit(90);
	return fd;
}

static int reopen(int fd, int flags)
{
	char path[64];
	int nfd;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	nfd = open(path, flags | O_CLOEXEC);
	if (nfd < 0)
		_exit(91);
	close(fd);
	return nfd;
}

static int make_fd(enum fake_fd kind)
{
	int p[2], fd;

	switch (kind) {
	case FD_NONE:
	case FD_TWO:
		return -1;
	case FD_EVENTFD:
		return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	case FD_SHM:
		return memfd(FAKE_SHM_SIZE);
	case FD_SHM_SEALED:
	case FD_SHM_GROW:
		fd = memfd(FAKE_SHM_SIZE);
		if (fcntl(fd, F_ADD_SEALS, kind == FD_SHM_GROW ? F_SEAL_GROW :
			  F_SEAL_SHRINK | F_SEAL_GROW) < 0)
			_exit(95);
		return fd;
	case FD_SHM_EMPTY:
		return memfd(0);
	case FD_SHM_ODD:
		return memfd(5000);
	case FD_SHM_RDONLY:
		return reopen(memfd(FAKE_SHM_SIZE), O_RDONLY);
	case FD_SHM_OPATH:
		return reopen(memfd(FAKE_SHM_SIZE), O_PATH);
	case FD_PIPE:
		if (pipe2(p, O_CLOEXEC) < 0)
			_exit(92);
		close(p[1]);
		return p[0];
	case FD_PIPE_W:
		if (pipe2(p, O_CLOEXEC) < 0)
			_exit(92);
		close(p[0]);
		return p[1];
	case FD_SOCK:
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) < 0)
			_exit(92);
		close(p[1]);
		return p[0];
	}
	return -1;
}

/* What no correct server sends, so ivproto_send cannot do it. */
static int send_two_fds(int sock, int64_t value)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(2 * sizeof(int))];
	} control;
	int fds[2] = {
		eventfd(0, EFD_CLOEXEC), eventfd(0, EFD_CLOEXEC),
	};
	uint8_t buf[IVPROTO_MSG_SIZE];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf),
	};
	struct cmsghdr *c;
	ssize_t n;

	memset(&control, 0, sizeof(control));
	ivproto_encode(value, buf);
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(c), fds, sizeof(fds));
	n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	close(fds[0]);
	close(fds[1]);
	return n == (ssize_t)sizeof(buf) ? 0 : -1;
}

/* The child: play the script, never return. */
static void play(int lfd, const struct fake_step *st)
{
	int sock = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	uint8_t buf[IVPROTO_MSG_SIZE];

	if (sock < 0)
		_exit(93);
	close(lfd);
	for (;; st++) {
		struct pollfd pfd = { .fd = sock, .events = POLLIN };
		int fd, rc;

		switch (st->op) {
		case FAKE_END:
			_exit(0);
		case FAKE_MSG:
			if (st->fd == FD_TWO) {
				rc = send_two_fds(sock, st->value);
			} else {
				fd = make_fd(st->fd);
				if (st->fd != FD_NONE && fd < 0)
					_exit(94);
				rc = ivproto_send(sock, st->value, fd);
				if (fd >= 0)
					close(fd);
			}
			if (rc < 0)  /* the peer gave up on us: fine */
				_exit(0);
			break;
		case FAKE_HALF:
			ivproto_encode(st->value, buf);
			if (write(sock, buf, IVPROTO_MSG_SIZE / 2) < 0)
				_exit(0);
			_exit(0);
		case FAKE_HANG:
			/* Until the peer closes, or 20 s as a safety net. */
			while (poll(&pfd, 1, 20000) > 0 &&
			       read(sock, buf, sizeof(buf)) > 0)
				;
			_exit(0);
		}
	}
}

void fake_start(struct fake_server *f, const struct fake_step *script)
{
	static int seq;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CHECK(lfd >= 0, "socket: %s", strerror(errno));
	snprintf(f->path, sizeof(f->path), "%s/fake%d", tu_tmpdir(), seq++);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
	CHECK(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "bind: %s",
	      strerror(errno));
	CHECK(listen(lfd, 1) == 0, "listen: %s", strerror(errno));
	f->pid = fork();
	CHECK(f->pid >= 0, "fork: %s", strerror(errno));
	if (f->pid == 0)
		play(lfd, script);  /* _exit: no atexit handlers of ours */
	close(lfd);
}

void fake_stop(struct fake_server *f)
{
	int status;

	CHECK(waitpid(f->pid, &status, 0) == f->pid, "waitpid");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "fake server failed: status %d", status);
	unlink(f->path);
}
