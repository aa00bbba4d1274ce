/* SPDX-License-Identifier: MIT */
/* sd_listen_fds_get and sd_notify_state against the real protocols. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sd.h"
#include "testutil.h"

static int bind_dgram(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	CHECK(fd >= 0, "socket: %s", strerror(errno));
	if (path[0] == '@') {
		memcpy(sa.sun_path + 1, path + 1, strlen(path) - 1);
		CHECK(bind(fd, (struct sockaddr *)&sa,
			   (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
				       strlen(path))) == 0,
		      "bind %s: %s", path, strerror(errno));
	} else {
		strcpy(sa.sun_path, path);
		CHECK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0,
		      "bind %s: %s", path, strerror(errno));
	}
	return fd;
}

static void expect_msg(int fd, const char *want, int *got_fd)
{
	char buf[256] = "";
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr a;
	} ctl;
	struct iovec iov = { buf, sizeof(buf) - 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = ctl.b,
			      .msg_controllen = sizeof(ctl.b) };
	ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	struct cmsghdr *c;

	CHECK(n >= 0, "recvmsg: %s", strerror(errno));
	buf[n] = 0;
	CHECK(!strcmp(buf, want), "got '%s', want '%s'", buf, want);
	c = CMSG_FIRSTHDR(&msg);
	if (got_fd) {
		CHECK(c && c->cmsg_type == SCM_RIGHTS, "no fd came");
		memcpy(got_fd, CMSG_DATA(c), sizeof(int));
	} else {
		CHECK(!c, "an fd came unasked");
	}
}

int main(void)
{
	char path[256], pid[32];
	int fd, pfd[2], got;

	/* No NOTIFY_SOCKET: nothing to do, no error. */
	unsetenv("NOTIFY_SOCKET");
	CHECK(sd_notify_state("READY=1") == 0, "no socket");

	snprintf(path, sizeof(path), "%s/notify", tu_tmpdir());
	fd = bind_dgram(path);
	setenv("NOTIFY_SOCKET", path, 1);
	CHECK(sd_notify_state("READY=1\nSTATUS=serving") == 0, "send");
	expect_msg(fd, "READY=1\nSTATUS=serving", NULL);
	CHECK(pipe(pfd) == 0, "pipe");
	CHECK(sd_notify_fds("FDSTORE=1", &pfd[0], 1) == 0, "fds");
	expect_msg(fd, "FDSTORE=1", &got);
	CHECK(write(pfd[1], "x", 1) == 1, "write");
	CHECK(read(got, path, 1) == 1 && path[0] == 'x', "passed fd works");
	close(got);
	close(fd);

	/* The abstract namespace. */
	snprintf(path, sizeof(path), "@ivshmem-sd-test-%d", (int)getpid());
	fd = bind_dgram(path);
	setenv("NOTIFY_SOCKET", path, 1);
	CHECK(sd_notify_state("READY=1") == 0, "abstract");
	expect_msg(fd, "READY=1", NULL);
	close(fd);
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	CHECK(sd_notify_state("READY=1") == -EINVAL, "relative path refused");
	unsetenv("NOTIFY_SOCKET");

	/* Socket activation: none, someone else's, ours, malformed. */
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	CHECK(sd_listen_fds_get(1) == 0, "none");
	setenv("LISTEN_PID", "1", 1);
	setenv("LISTEN_FDS", "1", 1);
	CHECK(sd_listen_fds_get(1) == 0, "not for us");
	CHECK(!getenv("LISTEN_PID") && !getenv("LISTEN_FDS"), "unset");
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "1x", 1);
	CHECK(sd_listen_fds_get(1) == -EINVAL, "malformed");
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(dup2(fd, SD_LISTEN_FDS_START) == SD_LISTEN_FDS_START, "dup2");
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "1", 1);
	CHECK(sd_listen_fds_get(0) == 1, "ours");
	CHECK(getenv("LISTEN_FDS"), "kept when asked to");
	CHECK(fcntl(SD_LISTEN_FDS_START, F_GETFD) & FD_CLOEXEC, "cloexec");
	CHECK(sd_listen_fds_get(1) == 1 && !getenv("LISTEN_PID"), "unset");
	return 0;
}
