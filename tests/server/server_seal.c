/* SPDX-License-Identifier: MIT */
/*
 * A region no peer can shrink (issue 12, observed case 5): by default the
 * server hands out a memfd sealed against shrinking and growing (and
 * against changing the seals) before any peer has it. A hostile host peer
 * tries ftruncate(shm_fd, 0) and a grow: both fail with EPERM, while a
 * receiver (another process touching every page of its own mapping)
 * carries on and sees the hostile peer's writes. With -M (POSIX shm, as
 * QEMU's default) or -m DIR the region cannot be sealed: that is what
 * those options lose, and the test shows it. -m DIR leaves no file in DIR.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "srvtest.h"

/* A raw peer's shm fd: the setup's third message. */
static int get_shm(struct tpeer *p, const char *path)
{
	int64_t v;
	int fd, rc;

	tp_connect(p, path, 1);
	for (int i = 0; i < 3; i++) {
		rc = ivproto_recv(&p->rx, p->sock, &v, &fd);
		while (rc == -EAGAIN) {
			usleep(1000);
			rc = ivproto_recv(&p->rx, p->sock, &v, &fd);
		}
		CHECK(rc == 0, "setup message %d: %s", i, strerror(-rc));
		if (i < 2 && fd >= 0)
			close(fd);
	}
	CHECK(v == IVPROTO_SHM_ID && fd >= 0, "no shm fd");
	return fd;
}

static void sealed(void)
{
	static const char *const args[] = { "-l", "1M", NULL };
	const size_t size = 1 << 20;
	struct tu_server srv;
	struct tpeer a, b;
	int fa, fb, seals, ready[2], go[2], status;
	unsigned char *m;
	pid_t rx;

	tu_server_start_default(&srv, args);
	fa = get_shm(&a, srv.socket_path);
	seals = fcntl(fa, F_GET_SEALS);
	CHECK(seals >= 0 && (seals & F_SEAL_SHRINK) && (seals & F_SEAL_GROW) &&
	      (seals & F_SEAL_SEAL) && !(seals & F_SEAL_WRITE),
	      "seals 0x%x", seals);

	/* The receiver: maps its own fd and touches every page. */
	fb = get_shm(&b, srv.socket_path);
	CHECK(pipe(ready) == 0 && pipe(go) == 0, "pipe");
	rx = fork();
	CHECK(rx >= 0, "fork");
	if (rx == 0) {
		volatile unsigned char *r = mmap(NULL, size, PROT_READ |
						 PROT_WRITE, MAP_SHARED, fb, 0);
		char c;

		if (r == MAP_FAILED)
			_exit(2);
		if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(3);
		for (int round = 0; round < 100; round++)
			for (size_t off = 0; off < size; off += 4096)
				r[off] = (unsigned char)(r[off] + 1);
		_exit(r[size - 4096] == (unsigned char)(0xA5 + 100) ? 0 : 4);
	}
	{
		char c;

		CHECK(read(ready[0], &c, 1) == 1, "receiver not ready");
	}
	/* The hostile peer. */
	m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fa, 0);
	CHECK(m != MAP_FAILED, "mmap: %s", strerror(errno));
	m[size - 4096] = 0xA5;
	CHECK(ftruncate(fa, 0) < 0 && errno == EPERM, "ftruncate(0): %s",
	      strerror(errno));
	CHECK(ftruncate(fa, (off_t)size / 2) < 0 && errno == EPERM,
	      "ftruncate(size/2): %s", strerror(errno));
	CHECK(ftruncate(fa, (off_t)size * 2) < 0 && errno == EPERM,
	      "ftruncate(grow): %s", strerror(errno));
	CHECK(fcntl(fa, F_ADD_SEALS, F_SEAL_WRITE) < 0 && errno == EPERM,
	      "another peer could add seals");
	CHECK(write(go[1], "g", 1) == 1, "go");
	CHECK(waitpid(rx, &status, 0) == rx, "waitpid");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "the receiver did not survive: status 0x%x", status);
	munmap(m, size);
	close(fa);
	close(fb);
	for (int i = 0; i < 2; i++) {
		close(ready[i]);
		close(go[i]);
	}
	tp_close(&a);
	tp_close(&b);
	status = tu_server_stop(&srv);
	CHECK(status == 0, "server exit status %d", status);
	CHECK(access(srv.socket_path, F_OK) < 0, "socket left behind");
	printf("default memfd: seals 0x%x, ftruncate by a peer: EPERM, the "
	       "receiver survived\n", seals);
}

/* What -M and -m lose: no seals, a peer can resize the region. */
static void unsealed(const char *const *args, const char *what)
{
	struct tu_server srv;
	struct tpeer a;
	struct stat st;
	int fd;

	tu_server_start(&srv, args);
	fd = get_shm(&a, srv.socket_path);
	CHECK(fcntl(fd, F_GET_SEALS) <= 0 || !(fcntl(fd, F_GET_SEALS) &
					       F_SEAL_SHRINK),
	      "%s: sealed", what);
	CHECK(fstat(fd, &st) == 0 && st.st_size == 4 << 20, "%s: size", what);
	CHECK(ftruncate(fd, (off_t)st.st_size) == 0, "%s: ftruncate: %s", what,
	      strerror(errno));
	close(fd);
	tp_close(&a);
	CHECK(tu_server_stop(&srv) == 0, "%s: exit status", what);
	printf("%s: not sealed (any peer may resize it)\n", what);
}

int main(void)
{
	char dir[128], arg[160];
	DIR *d;
	struct dirent *de;
	int files = 0;

	sealed();
	unsealed(NULL, "-M NAME");
	snprintf(dir, sizeof(dir), "%s/plain-dir", tu_tmpdir());
	CHECK(mkdir(dir, 0755) == 0, "mkdir");
	snprintf(arg, sizeof(arg), "%s", dir);
	unsealed((const char *const[]){ "-m", arg, NULL }, "-m DIR");
	d = opendir(dir);
	CHECK(d, "opendir");
	while ((de = readdir(d)))
		files += de->d_name[0] != '.';
	closedir(d);
	CHECK(files == 0, "-m left %d files in %s", files, dir);
	printf("ok\n");
	return 0;
}
