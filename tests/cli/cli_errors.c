/* SPDX-License-Identifier: MIT */
/*
 * Settings the server cannot serve: a clear error, exit status != 0, and
 * no socket file or shm object created.
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

static struct tu_server s;

#define FAIL(needles, ...) \
	cli_expect_fail(CLI_ARGS("-F", "-S", s.socket_path, "-M", s.shm_name, \
				 __VA_ARGS__), needles, s.socket_path, \
			s.shm_name)
#define NEEDLES(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void bad_sizes(void)
{
	FAIL(NEEDLES("'5000'", "power of two", "4K and 8K"), "-l", "5000");
	FAIL(NEEDLES("'3M'", "power of two", "2M and 4M"), "-l", "3M");
	FAIL(NEEDLES("'1536K'", "1M and 2M"), "--size", "1536K");
	FAIL(NEEDLES("'3G'", "2G and 4G"), "--size=3G");
	FAIL(NEEDLES("'2048'", "at least 4K", "nearest valid size is 4K"),
	     "-l", "2048");
	FAIL(NEEDLES("'1000'", "nearest valid size is 4K"), "-l", "1000");
	FAIL(NEEDLES("'0'", "nearest valid size is 4K"), "-l", "0");
	FAIL(NEEDLES("'1'", "nearest valid size is 4K"), "-l", "1");
	/* Above the largest power of two there is only one neighbour. */
	FAIL(NEEDLES("nearest valid size is 8E"), "-l",
	     "9223372036854775809");
	FAIL(NEEDLES("invalid size '4X'", "K, M, G or T"), "-l", "4X");
	FAIL(NEEDLES("invalid size 'abc'"), "-l", "abc");
	FAIL(NEEDLES("invalid size '-4096'"), "-l", "-4096");
	FAIL(NEEDLES("invalid size '1.5G'"), "-l", "1.5G");
	FAIL(NEEDLES("invalid size '16E'", "too large"), "-l", "16E");
	FAIL(NEEDLES("too large"), "-l", "99999999999999999999");
}

static void too_big(void)
{
	char out[4096];
	const char *argv[] = { cli_server_bin(), "-F", "-S", s.socket_path,
			       "-M", s.shm_name, "-l", "1P", NULL };
	const char *have, *end;
	int rc;

	FAIL(NEEDLES("cannot provide 1P", "/dev/shm", "free"), "-l", "1P");
	FAIL(NEEDLES("cannot provide 8E"), "-l", "8E");

	/* Refused before anything is done: a stale object stays as it is. */
	{
		ino_t ino;
		char c = 0;
		int fd = shm_open(s.shm_name, O_RDWR | O_CREAT | O_EXCL, 0600);

		CHECK(fd >= 0 && pwrite(fd, "x", 1, 0) == 1, "stale shm: %s",
		      strerror(errno));
		close(fd);
		ino = cli_shm_ino(s.shm_name);
		cli_expect_fail(CLI_ARGS("-F", "-S", s.socket_path, "-M",
					 s.shm_name, "-l", "1P"),
				NEEDLES("cannot provide 1P"), s.socket_path,
				NULL);
		CHECK(cli_shm_ino(s.shm_name) == ino, "stale object replaced");
		fd = shm_open(s.shm_name, O_RDONLY, 0);
		CHECK(fd >= 0 && pread(fd, &c, 1, 0) == 1 && c == 'x',
		      "stale object changed");
		close(fd);
		CHECK(shm_unlink(s.shm_name) == 0, "shm_unlink: %s",
		      strerror(errno));
	}

	/* The free space is given for people: "23.5G", not "24684084K". */
	rc = tu_run(argv, out, sizeof(out), 10);
	CHECK(rc == 1, "exit %d", rc);
	have = strstr(out, "only ");
	CHECK(have, "no free space in: %s", out);
	have += strlen("only ");
	end = strstr(have, " free");
	CHECK(end && end - have >= 1 && end - have <= 6,
	      "free space not human-readable: %s", out);
	CHECK(strchr("KMGTPE", end[-1]) || (end[-1] >= '0' && end[-1] <= '9'),
	      "free space not human-readable: %s", out);
}

static void bad_vectors_and_limits(void)
{
	FAIL(NEEDLES("vectors", "1 to 64", "'0'"), "-n", "0");
	FAIL(NEEDLES("vectors", "1 to 64", "'65'"), "-n", "65");
	FAIL(NEEDLES("vectors", "'-1'"), "-n", "-1");
	FAIL(NEEDLES("vectors", "'x'"), "--vectors=x");
	FAIL(NEEDLES("vectors", "''"), "-n", "");
	FAIL(NEEDLES("max-peers", "'0'"), "--max-peers", "0");
	FAIL(NEEDLES("max-peers", "'65537'"), "--max-peers", "65537");
	FAIL(NEEDLES("max-backlog", "'0'"), "--max-backlog", "0");
}

static void bad_socket_dirs(void)
{
	char path[256], dir[200], file[200];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/no-such-dir/s.sock", tu_tmpdir());
	cli_expect_fail(CLI_ARGS("-F", "-S", path, "-M", s.shm_name),
			NEEDLES("no-such-dir", "does not exist"), path,
			s.shm_name);

	/* A socket directory that is a file. */
	snprintf(file, sizeof(file), "%s/plain-file", tu_tmpdir());
	fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	CHECK(fd >= 0 && write(fd, "keep", 4) == 4, "%s: %s", file,
	      strerror(errno));
	close(fd);
	snprintf(path, sizeof(path), "%s/s.sock", file);
	cli_expect_fail(CLI_ARGS("-F", "-S", path, "-M", s.shm_name),
			NEEDLES("not a directory"), NULL, s.shm_name);

	/* A socket path taken by something that is not a socket. */
	cli_expect_fail(CLI_ARGS("-F", "-S", file, "-M", s.shm_name),
			NEEDLES("not a socket", "not touching"), NULL,
			s.shm_name);
	CHECK(stat(file, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 4,
	      "the server touched %s", file);
	snprintf(dir, sizeof(dir), "%s/a-dir", tu_tmpdir());
	CHECK(mkdir(dir, 0755) == 0, "mkdir: %s", strerror(errno));
	cli_expect_fail(CLI_ARGS("-F", "-S", dir, "-M", s.shm_name),
			NEEDLES("not a socket"), NULL, s.shm_name);
	CHECK(stat(dir, &st) == 0 && S_ISDIR(st.st_mode), "%s gone", dir);

	/* Longer than sun_path. */
	memset(path, 'x', 150);
	path[0] = '/';
	path[150] = '\0';
	cli_expect_fail(CLI_ARGS("-F", "-S", path, "-M", s.shm_name),
			NEEDLES("longer than"), NULL, s.shm_name);
	cli_expect_fail(CLI_ARGS("-F", "-S", "", "-M", s.shm_name),
			NEEDLES("empty"), NULL, s.shm_name);
}

/*
 * A directory we may not write to. Root may write anywhere, so as root
 * the server runs as 'nobody' against a root-owned 0755 directory; the
 * tmpdir above it must let 'nobody' through.
 */
static void unwritable_socket_dir(void)
{
	struct passwd *pw = getpwnam("nobody");
	uid_t uid = pw ? pw->pw_uid : 65534;
	gid_t gid = pw ? pw->pw_gid : 65534;
	char dir[200], path[256];

	snprintf(dir, sizeof(dir), "%s/readonly", tu_tmpdir());
	CHECK(mkdir(dir, 0755) == 0, "mkdir: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/s.sock", dir);
	if (geteuid() == 0) {
		CHECK(chmod(tu_tmpdir(), 0711) == 0, "chmod: %s",
		      strerror(errno));
		cli_expect_fail_as(CLI_ARGS("-F", "-S", path, "-M", s.shm_name),
				   NEEDLES("readonly", "not writable"), path,
				   s.shm_name, uid, gid);
		CHECK(chmod(tu_tmpdir(), 0700) == 0, "chmod: %s",
		      strerror(errno));
	} else {
		CHECK(chmod(dir, 0555) == 0, "chmod: %s", strerror(errno));
		cli_expect_fail(CLI_ARGS("-F", "-S", path, "-M", s.shm_name),
				NEEDLES("readonly", "not writable"), path,
				s.shm_name);
		chmod(dir, 0755);
	}
}

static void bad_dirs(void)
{
	char path[256];
	int fd;

	/* -m replaces -M: nothing of either name may appear. */
	snprintf(path, sizeof(path), "%s/no-such-dir", tu_tmpdir());
	FAIL(NEEDLES("no-such-dir", "cannot use directory"), "-m", path);
	CHECK(!cli_path_exists(path), "%s created", path);
	snprintf(path, sizeof(path), "%s/a-file", tu_tmpdir());
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	CHECK(fd >= 0, "%s: %s", path, strerror(errno));
	close(fd);
	FAIL(NEEDLES("a-file", "not a directory"), "-m", path);
	unlink(path);
}

static void bad_shm_names(void)
{
	const char *bad[] = { "/a/b", "/", "", "a/b" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cli_expect_fail(CLI_ARGS("-F", "-S", s.socket_path, "-M",
					 bad[i]),
				NEEDLES("invalid shared memory name"),
				s.socket_path, NULL);
}

int main(void)
{
	cli_names(&s, "err");
	bad_sizes();
	too_big();
	bad_vectors_and_limits();
	bad_socket_dirs();
	unwritable_socket_dir();
	bad_dirs();
	bad_shm_names();
	/* The same names still work: the failures left nothing in the way. */
	cli_start(&s, NULL);
	CHECK(cli_stop(&s, SIGTERM) == 0, "server did not exit 0");
	CHECK(!cli_path_exists(s.socket_path) && !cli_shm_exists(s.shm_name),
	      "server left its socket or shm");
	printf("cli_errors: ok\n");
	return 0;
}
