/* SPDX-License-Identifier: MIT */
/* Socket activation and service notification, per sd_listen_fds(3) and
 * sd_notify(3); see sd.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sd.h"

/* A whole decimal number, or -1. */
static long parse_num(const char *s)
{
	char *end;
	long v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (*end || errno || v < 0)
		return -1;
	return v;
}

int sd_listen_fds_names(int unset_env, char *names, size_t len)
{
	const char *v = getenv("LISTEN_FDNAMES");

	names[0] = '\0';
	if (v && strlen(v) >= len) {
		if (unset_env)
			sd_listen_fds_get(1);
		return -ENAMETOOLONG;
	}
	if (v)
		memcpy(names, v, strlen(v) + 1);
	return sd_listen_fds_get(unset_env);
}

int sd_listen_fds_get(int unset_env)
{
	const char *pid_s = getenv("LISTEN_PID");
	const char *fds_s = getenv("LISTEN_FDS");
	long pid, n;
	int rc = 0;

	if (!pid_s || !fds_s)
		goto out;
	pid = parse_num(pid_s);
	n = parse_num(fds_s);
	if (pid <= 0 || n < 0 || n > 4096) {
		rc = -EINVAL;
		goto out;
	}
	if (pid != (long)getpid())
		goto out;
	for (long fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + n;
	     fd++) {
		int fl = fcntl((int)fd, F_GETFD);

		if (fl < 0 || fcntl((int)fd, F_SETFD, fl | FD_CLOEXEC) < 0) {
			rc = -errno;
			goto out;
		}
	}
	rc = (int)n;
out:
	if (unset_env) {
		unsetenv("LISTEN_PID");
		unsetenv("LISTEN_FDS");
		unsetenv("LISTEN_FDNAMES");
	}
	return rc;
}

int sd_notify_fds(const char *state, const int *fds, size_t nfds)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct iovec iov = { .iov_base = (void *)state,
			     .iov_len = strlen(state) };
	struct msghdr msg = { .msg_name = &sa, .msg_iov = &iov,
			      .msg_iovlen = 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int) * 253)];
		struct cmsghdr align;
	} ctl;
	size_t len;
	ssize_t n;
	int fd, rc = 0;

	if (!path || !*path)
		return 0;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof(sa.sun_path))
		return -EINVAL;
	if (nfds > 253)
		return -EINVAL;
	memcpy(sa.sun_path, path, len);
	if (path[0] == '@')
		sa.sun_path[0] = 0;  /* abstract namespace */
	msg.msg_namelen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
				      len + (path[0] == '/'));
	if (nfds) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	do {
		n = sendmsg(fd, &msg, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		rc = -errno;
	close(fd);
	return rc;
}

int sd_notify_state(const char *state)
{
	return sd_notify_fds(state, NULL, 0);
}
