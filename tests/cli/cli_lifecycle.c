/* SPDX-License-Identifier: MIT */
/*
 * Start-up and shutdown: leftovers of a crashed run are replaced, a
 * running server is never disturbed by a second one, and signals clean
 * everything up.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli_util.h"

#define NEEDLES(...) ((const char *const[]){ __VA_ARGS__, NULL })

static int all_zero(const unsigned char *p, uint64_t len)
{
	for (uint64_t i = 0; i < len; i++)
		if (p[i])
			return 0;
	return 1;
}

/* Contents of a "crashed" server's object must not reach new peers. */
static void stale_shm_is_zeroed(void)
{
	const uint64_t old_size = 1u << 20, new_size = 64u << 10;
	struct tu_server s;
	struct cli_peer p;
	unsigned char *old;
	ino_t old_ino;
	int fd;

	cli_names(&s, "stale-shm");
	fd = shm_open(s.shm_name, O_RDWR | O_CREAT | O_EXCL, 0600);
	CHECK(fd >= 0, "shm_open: %s", strerror(errno));
	CHECK(ftruncate(fd, (off_t)old_size) == 0, "ftruncate: %s",
	      strerror(errno));
	old = mmap(NULL, old_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(old != MAP_FAILED, "mmap: %s", strerror(errno));
	memset(old, 0xab, old_size);
	munmap(old, old_size);
	close(fd);
	old_ino = cli_shm_ino(s.shm_name);

	cli_start(&s, CLI_ARGS("-l", "64K"));
	cli_peer_join(&p, s.socket_path);
	CHECK(p.size == new_size, "size %llu", (unsigned long long)p.size);
	CHECK(all_zero(p.mem, p.size), "the stale contents reached a peer");
	CHECK(cli_shm_ino(s.shm_name) != old_ino, "the stale object was kept");
	cli_peer_leave(&p);

	/* Same again with the same size as the stale object. */
	CHECK(cli_stop(&s, SIGTERM) == 0, "exit status");
	fd = shm_open(s.shm_name, O_RDWR | O_CREAT | O_EXCL, 0600);
	CHECK(fd >= 0 && ftruncate(fd, (off_t)new_size) == 0, "shm: %s",
	      strerror(errno));
	CHECK(pwrite(fd, "\xff", 1, (off_t)new_size - 1) == 1, "pwrite: %s",
	      strerror(errno));
	close(fd);
	cli_start(&s, CLI_ARGS("-l", "64K"));
	cli_peer_join(&p, s.socket_path);
	CHECK(all_zero(p.mem, p.size), "the stale contents reached a peer");
	cli_peer_leave(&p);
	CHECK(cli_stop(&s, SIGTERM) == 0, "exit status");
	CHECK(!cli_shm_exists(s.shm_name), "shm left behind");
	printf("stale shm replaced, zeroed: ok\n");
}

/* A socket file nobody listens on any more, as a crash leaves it. */
static void stale_socket_is_replaced(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct tu_server s;
	struct cli_peer p;
	char log[4096] = "";
	int fd;

	cli_names(&s, "stale-sock");
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0, "socket: %s", strerror(errno));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", s.socket_path);
	CHECK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "bind: %s",
	      strerror(errno));
	close(fd);
	CHECK(tu_connect(s.socket_path) == -ECONNREFUSED, "not stale");

	cli_start(&s, NULL);
	cli_peer_join(&p, s.socket_path);
	cli_peer_leave(&p);
	fd = open(s.log_path, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0 && read(fd, log, sizeof(log) - 1) >= 0, "log: %s",
	      strerror(errno));
	close(fd);
	CHECK(strstr(log, "stale"), "replacing was not logged:\n%s", log);
	CHECK(cli_stop(&s, SIGTERM) == 0, "exit status");
	CHECK(!cli_path_exists(s.socket_path), "socket left behind");
	printf("stale socket replaced: ok\n");
}

/* The first server's socket and shm are unchanged and still serve. */
static void check_unharmed(struct tu_server *a, ino_t sock_ino,
			   ino_t shm_ino, struct cli_peer *old)
{
	struct cli_peer p;

	CHECK(cli_path_ino(a->socket_path) == sock_ino,
	      "the first server's socket was replaced");
	CHECK(cli_shm_ino(a->shm_name) == shm_ino,
	      "the first server's shm was replaced");
	CHECK(kill(a->pid, 0) == 0, "the first server died");
	cli_peer_join(&p, a->socket_path);
	CHECK(p.size == old->size, "size changed");
	old->mem[100] = (unsigned char)(old->mem[100] + 1);
	CHECK(p.mem[100] == old->mem[100],
	      "a new peer does not share the old peer's memory");
	p.mem[101] = 0x77;
	CHECK(old->mem[101] == 0x77, "the old peer does not see a new write");
	p.mem[101] = 0;
	cli_peer_leave(&p);
}

static void second_instance_refused(void)
{
	struct tu_server a, b;
	struct cli_peer first;
	ino_t sock_ino, shm_ino;

	cli_names(&a, "live");
	cli_names(&b, "second");
	cli_start(&a, NULL);
	cli_peer_join(&first, a.socket_path);
	sock_ino = cli_path_ino(a.socket_path);
	shm_ino = cli_shm_ino(a.shm_name);
	CHECK(sock_ino && shm_ino, "no socket or shm");

	/* Same socket, own shm name. */
	cli_expect_fail(CLI_ARGS("-F", "-S", a.socket_path, "-M", b.shm_name),
			NEEDLES("already listening", a.socket_path), NULL,
			b.shm_name);
	check_unharmed(&a, sock_ino, shm_ino, &first);
	/* Same socket and same shm. */
	cli_expect_fail(CLI_ARGS("-F", "-S", a.socket_path, "-M", a.shm_name),
			NEEDLES("already listening"), NULL, NULL);
	check_unharmed(&a, sock_ino, shm_ino, &first);
	/* Own socket, same shm name. */
	cli_expect_fail(CLI_ARGS("-F", "-S", b.socket_path, "-M", a.shm_name),
			NEEDLES("in use", a.shm_name), b.socket_path, NULL);
	check_unharmed(&a, sock_ino, shm_ino, &first);
	/* The same, daemonizing: the error still reaches the caller. */
	cli_expect_fail(CLI_ARGS("-S", b.socket_path, "-M", a.shm_name, "-p",
				 "/nonexistent-dir/x.pid"),
			NEEDLES("in use"), b.socket_path, NULL);
	check_unharmed(&a, sock_ino, shm_ino, &first);

	cli_peer_leave(&first);
	CHECK(cli_stop(&a, SIGTERM) == 0, "exit status");
	CHECK(!cli_path_exists(a.socket_path) && !cli_shm_exists(a.shm_name),
	      "socket or shm left behind");
	printf("second instance refused, first unharmed: ok\n");
}

/*
 * A second instance that may not even connect to the socket cannot tell
 * whether it is live, so it must leave it alone, even in a directory
 * where it could remove it.
 */
static void unprivileged_second_instance(void)
{
	struct passwd *pw = getpwnam("nobody");
	uid_t uid = pw ? pw->pw_uid : 65534;
	gid_t gid = pw ? pw->pw_gid : 65534;
	struct tu_server a, b;
	struct cli_peer first;
	char dir[200];
	ino_t sock_ino, shm_ino;

	if (geteuid() != 0) {
		printf("not root: unprivileged second instance skipped\n");
		return;
	}
	snprintf(dir, sizeof(dir), "%s/shared", tu_tmpdir());
	CHECK(mkdir(dir, 0777) == 0 && chmod(dir, 0777) == 0 &&
	      chmod(tu_tmpdir(), 0711) == 0, "%s: %s", dir, strerror(errno));
	cli_names(&a, "guarded");
	cli_names(&b, "intruder");
	snprintf(a.socket_path, sizeof(a.socket_path),
		 "%s/shared/guarded.sock", tu_tmpdir());
	cli_start(&a, CLI_ARGS("--socket-mode", "0600"));
	cli_peer_join(&first, a.socket_path);
	sock_ino = cli_path_ino(a.socket_path);
	shm_ino = cli_shm_ino(a.shm_name);
	cli_expect_fail_as(CLI_ARGS("-F", "-S", a.socket_path, "-M",
				    b.shm_name),
			   NEEDLES("cannot tell", "not touching"), NULL,
			   b.shm_name, uid, gid);
	check_unharmed(&a, sock_ino, shm_ino, &first);
	cli_peer_leave(&first);
	CHECK(cli_stop(&a, SIGTERM) == 0, "exit status");
	CHECK(chmod(tu_tmpdir(), 0700) == 0, "chmod: %s", strerror(errno));
	printf("unprivileged second instance refused: ok\n");
}

static pid_t read_pidfile(const char *path)
{
	char buf[32] = "";
	int fd = -1;

	/* The foreground server writes it just after it starts listening. */
	for (int i = 0; i < 500 && fd < 0; i++) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			usleep(10000);
	}
	CHECK(fd >= 0, "no pid file %s: %s", path, strerror(errno));
	CHECK(read(fd, buf, sizeof(buf) - 1) > 0, "empty pid file");
	close(fd);
	return (pid_t)atoi(buf);
}

static void stop_signal_cleans_up(int sig, const char *tag)
{
	struct tu_server s;
	struct cli_peer p;
	char pidfile[256];
	int rc;

	cli_names(&s, tag);
	snprintf(pidfile, sizeof(pidfile), "%s/%s.pid", tu_tmpdir(), tag);
	cli_start(&s, CLI_ARGS("-p", pidfile, "-n", "4"));
	CHECK(read_pidfile(pidfile) == s.pid, "pid file does not name %d",
	      (int)s.pid);
	/* A connected peer does not keep the server from stopping. */
	cli_peer_join(&p, s.socket_path);
	rc = cli_stop(&s, sig);
	CHECK(rc == 0, "%s: exit status %d", strsignal(sig), rc);
	CHECK(!cli_path_exists(s.socket_path), "%s: socket left",
	      strsignal(sig));
	CHECK(!cli_path_exists(pidfile), "%s: pid file left", strsignal(sig));
	CHECK(!cli_shm_exists(s.shm_name), "%s: shm left", strsignal(sig));
	/* The peer's mapping outlives the server, as a VM's does. */
	p.mem[0] = 1;
	CHECK(p.mem[0] == 1, "mapping broken");
	cli_peer_leave(&p);
	printf("%s: clean exit: ok\n", strsignal(sig));
}

int main(void)
{
	stale_shm_is_zeroed();
	stale_socket_is_replaced();
	second_instance_refused();
	unprivileged_second_instance();
	stop_signal_cleans_up(SIGINT, "sigint");
	stop_signal_cleans_up(SIGTERM, "sigterm");
	printf("cli_lifecycle: ok\n");
	return 0;
}
