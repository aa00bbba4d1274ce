/* SPDX-License-Identifier: MIT */
#include "listener.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/*
 * Short, as QEMU's (10): a client that connects while it is full waits in
 * connect(), so a flood of connections queues behind the flooder's own
 * next connect() instead of ahead of every honest peer.
 */
#define LISTEN_BACKLOG 64

static int fill_addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (!path[0] || strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memcpy(sa->sun_path, path, strlen(path));
	return 0;
}

/*
 * 0 when nobody listens at path (refused, or gone), 1 when a server
 * does, -errno when we cannot tell (e.g. no permission to connect).
 */
static int is_live(const char *path)
{
	struct sockaddr_un sa;
	int fd, rc = 1;

	if (fill_addr(&sa, path) < 0)
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A full backlog (EAGAIN) still means somebody listens. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 &&
	    errno != EAGAIN && errno != EINPROGRESS)
		rc = errno == ECONNREFUSED || errno == ENOENT ? 0 : -errno;
	close(fd);
	return rc;
}

int listener_check(const struct server_config *cfg, int *stale, char *err,
		   size_t errlen)
{
	const char *path = cfg->socket_path;
	char dirbuf[4096];
	struct sockaddr_un sa;
	struct stat st;
	const char *dir;
	int live;

	*stale = 0;
	if (fill_addr(&sa, path) < 0) {
		snprintf(err, errlen, "socket path '%s' is empty or longer than "
			 "%zu bytes", path, sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	snprintf(dirbuf, sizeof(dirbuf), "%s", path);
	dir = dirname(dirbuf);
	if (stat(dir, &st) < 0) {
		int rc = -errno;

		snprintf(err, errlen, "socket directory %s %s", dir,
			 errno == ENOENT ? "does not exist" : strerror(errno));
		return rc;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "socket directory %s is not a directory",
			 dir);
		return -ENOTDIR;
	}
	if (access(dir, W_OK | X_OK) < 0) {
		snprintf(err, errlen, "socket directory %s is not writable",
			 dir);
		return -EACCES;
	}
	if (lstat(path, &st) < 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket; not "
			 "touching it", path);
		return -EEXIST;
	}
	live = is_live(path);
	if (live < 0) {
		snprintf(err, errlen, "cannot tell whether a server listens on "
			 "%s (%s); not touching it", path, strerror(-live));
		return live;
	}
	if (live) {
		snprintf(err, errlen, "a server is already listening on %s; "
			 "stop it or choose another path with -S", path);
		return -EADDRINUSE;
	}
	*stale = 1;
	return 0;
}

int listener_open(struct listener *l, const struct server_config *cfg,
		  char *err, size_t errlen)
{
	struct sockaddr_un sa;
	struct stat st;
	mode_t old_umask;
	int stale, rc;

	l->fd = -1;
	l->path[0] = '\0';
	rc = listener_check(cfg, &stale, err, errlen);
	if (rc < 0)
		return rc;
	fill_addr(&sa, cfg->socket_path);
	l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return rc;
	}
	if (stale)
		unlink(cfg->socket_path);
	/* Nobody may connect before the permissions asked for are set. */
	old_umask = umask(0177);
	if (cfg->socket_mode == (mode_t)-1)
		umask(old_umask);
	rc = bind(l->fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old_umask);
	if (rc < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot bind %s: %s", cfg->socket_path,
			 strerror(errno));
		goto fail_fd;
	}
	if (cfg->socket_mode != (mode_t)-1 &&
	    chmod(cfg->socket_path, cfg->socket_mode) < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot set mode %o on %s: %s",
			 (unsigned)cfg->socket_mode, cfg->socket_path,
			 strerror(errno));
		goto fail_path;
	}
	if ((cfg->socket_uid != (uid_t)-1 || cfg->socket_gid != (gid_t)-1) &&
	    lchown(cfg->socket_path, cfg->socket_uid, cfg->socket_gid) < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot set owner/group of %s: %s",
			 cfg->socket_path, strerror(errno));
		goto fail_path;
	}
	if (lstat(cfg->socket_path, &st) < 0 ||
	    listen(l->fd, LISTEN_BACKLOG) < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot listen on %s: %s",
			 cfg->socket_path, strerror(errno));
		goto fail_path;
	}
	snprintf(l->path, sizeof(l->path), "%s", cfg->socket_path);
	snprintf(l->name, sizeof(l->name), "%s", cfg->socket_path);
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	return 0;
fail_path:
	unlink(cfg->socket_path);
fail_fd:
	close(l->fd);
	l->fd = -1;
	return rc;
}

int listener_adopt(struct listener *l, int fd, const struct server_config *cfg,
		   int *differs, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	socklen_t len = sizeof(int), salen = sizeof(sa);
	int domain = -1, type = -1, acc = 0, flags;

	l->fd = -1;
	l->path[0] = '\0';
	*differs = 0;
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) < 0 ||
	    domain != AF_UNIX || type != SOCK_STREAM || !acc) {
		snprintf(err, errlen, "the socket passed by the service "
			 "manager (fd %d) is not a listening AF_UNIX stream "
			 "socket (ListenStream= with a path is needed)", fd);
		return -ENOTSOCK;
	}
	memset(&sa, 0, sizeof(sa));
	if (getsockname(fd, (struct sockaddr *)&sa, &salen) == 0 &&
	    salen > offsetof(struct sockaddr_un, sun_path) && sa.sun_path[0]) {
		snprintf(l->name, sizeof(l->name), "%.*s",
			 (int)(salen - offsetof(struct sockaddr_un, sun_path)),
			 sa.sun_path);
		*differs = strcmp(l->name, cfg->socket_path) != 0;
	} else {
		/* Abstract or unnamed: -S is all we have to go by. */
		snprintf(l->name, sizeof(l->name), "%s", cfg->socket_path);
	}
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		int rc = -errno;

		snprintf(err, errlen, "fcntl on the passed socket: %s",
			 strerror(errno));
		return rc;
	}
	l->fd = fd;
	return 0;
}

void listener_close(struct listener *l)
{
	struct stat st;

	if (l->path[0] && lstat(l->path, &st) == 0 && st.st_dev == l->dev &&
	    st.st_ino == l->ino)
		unlink(l->path);
	l->path[0] = '\0';
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}
