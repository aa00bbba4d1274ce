/* SPDX-License-Identifier: MIT */
/*
 * Access control (issue 12), as unprivileged users the test creates:
 *  - a server (root) with --socket-mode 0660 --socket-group G and, for
 *    -M, --shm-mode 0660 --shm-group G: a user outside G can neither
 *    connect to the socket nor open the POSIX shm object; a user in G
 *    can do both, and maps the region it is handed.
 *  - with the default memfd the region has no name at all: whoever can
 *    connect gets it, nobody else can reach it.
 *  - the server runs without root: started as the user in G, it serves a
 *    root peer its memory.
 * Root only (useradd); skipped otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_util.h"

static char user_in[32], user_out[32], group[32];

static void sh(const char *cmd)
{
	CHECK(system(cmd) == 0, "'%s' failed", cmd);
}

static void remove_users(void)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "userdel %s 2>/dev/null; userdel %s "
		 "2>/dev/null; groupdel %s 2>/dev/null", user_in, user_out,
		 group);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup: '%s' failed\n", cmd);
}

/*
 * In a child as 'user' (with its groups): can it connect and read the
 * greeting up to the shm fd and map it (bit 0), open the shm object by
 * name read-write (bit 1)? Returns the bits.
 */
static int try_as(const char *user, const char *sock, const char *shm)
{
	struct passwd *pw = getpwnam(user);
	int status;
	pid_t pid;

	CHECK(pw, "no user %s", user);
	pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		int bits = 0, fd;
		struct cli_peer p;

		if (initgroups(user, pw->pw_gid) < 0 ||
		    setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
			_exit(100);
		fd = tu_connect(sock);
		if (fd >= 0) {
			close(fd);
			cli_peer_join(&p, sock);   /* CHECKs: exits 1 */
			p.mem[0] ^= 1;
			cli_peer_leave(&p);
			bits |= 1;
		} else if (fd != -EACCES) {
			_exit(101);
		}
		if (shm) {
			fd = shm_open(shm, O_RDWR, 0);
			if (fd >= 0)
				bits |= 2;
			else if (errno != EACCES)
				_exit(102);
		}
		_exit(bits);
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status),
	      "child status 0x%x", status);
	CHECK(WEXITSTATUS(status) < 4, "as %s: exit %d", user,
	      WEXITSTATUS(status));
	return WEXITSTATUS(status);
}

int main(void)
{
	struct tu_server s;
	struct cli_peer p;
	struct passwd *pw;
	char dir[80];
	int bits;

	if (geteuid() != 0) {
		printf("not root: cannot create users, skipped\n");
		return 0;
	}
	snprintf(group, sizeof(group), "ivacg%d", (int)getpid());
	snprintf(user_in, sizeof(user_in), "ivaci%d", (int)getpid());
	snprintf(user_out, sizeof(user_out), "ivaco%d", (int)getpid());
	atexit(remove_users);
	{
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "groupadd %s", group);
		sh(cmd);
		snprintf(cmd, sizeof(cmd), "useradd -M -N -s /usr/sbin/nologin "
			 "-G %s %s", group, user_in);
		sh(cmd);
		snprintf(cmd, sizeof(cmd), "useradd -M -N -s /usr/sbin/nologin "
			 "%s", user_out);
		sh(cmd);
	}
	/* Both users must reach the socket's directory. */
	CHECK(chmod(tu_tmpdir(), 0711) == 0, "chmod");

	/* -M: the socket and the object are the group's. */
	cli_names(&s, "grp");
	cli_start(&s, CLI_ARGS("--socket-mode", "0660", "--socket-group",
			       group, "--shm-mode", "0660", "--shm-group",
			       group));
	bits = try_as(user_out, s.socket_path, s.shm_name);
	CHECK(bits == 0, "a user outside the group: %s%s",
	      bits & 1 ? "connected " : "", bits & 2 ? "opened the shm" : "");
	bits = try_as(user_in, s.socket_path, s.shm_name);
	CHECK(bits == 3, "a user in the group: %s%s", bits & 1 ? "" :
	      "could not connect ", bits & 2 ? "" : "could not open the shm");
	CHECK(cli_stop(&s, SIGTERM) == 0, "exit status");
	printf("-M with group access: outsider refused, member served\n");

	/* Default memfd: only the socket guards it. */
	cli_names(&s, "memfd");
	{
		const char *argv[] = { cli_server_bin(), "-F", "-S",
				       s.socket_path, "--socket-mode", "0660",
				       "--socket-group", group, NULL };

		s.pid = fork();
		CHECK(s.pid >= 0, "fork");
		if (s.pid == 0) {
			execv(argv[0], (char *const *)argv);
			_exit(127);
		}
		cli_track_pid(s.pid);
		for (int i = 0; i < 500 && !cli_path_exists(s.socket_path); i++)
			usleep(10000);
	}
	CHECK(try_as(user_out, s.socket_path, NULL) == 0, "outsider served");
	CHECK(try_as(user_in, s.socket_path, NULL) == 1, "member refused");
	CHECK(cli_stop(&s, SIGTERM) == 0, "exit status");
	printf("memfd with group access: outsider refused, member served\n");

	/* The server as an unprivileged user, in a directory of its own. */
	pw = getpwnam(user_in);
	CHECK(pw, "no user %s", user_in);
	CHECK(snprintf(dir, sizeof(dir), "%s/userdir", tu_tmpdir()) <
	      (int)sizeof(dir), "path too long");
	CHECK(mkdir(dir, 0755) == 0 && chown(dir, pw->pw_uid, pw->pw_gid) == 0,
	      "mkdir %s", dir);
	snprintf(s.socket_path, sizeof(s.socket_path), "%s/user.sock", dir);
	snprintf(s.log_path, sizeof(s.log_path), "%s/user.log", tu_tmpdir());
	{
		const char *argv[] = { cli_server_bin_as(pw->pw_uid), "-F", "-S",
				       s.socket_path, "--socket-mode", "0666",
				       NULL };

		s.pid = fork();
		CHECK(s.pid >= 0, "fork");
		if (s.pid == 0) {
			if (setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
				_exit(126);
			execv(argv[0], (char *const *)argv);
			_exit(127);
		}
		cli_track_pid(s.pid);
		for (int i = 0; i < 500 && !cli_path_exists(s.socket_path); i++)
			usleep(10000);
	}
	cli_peer_join(&p, s.socket_path);
	p.mem[p.size - 1] = 7;
	cli_peer_leave(&p);
	CHECK(cli_stop(&s, SIGTERM) == 0, "the unprivileged server's exit "
	      "status");
	CHECK(!cli_path_exists(s.socket_path), "socket left behind");
	printf("the server ran as %s (uid %u) and served root\n", user_in,
	       (unsigned)pw->pw_uid);
	printf("cli_access: ok\n");
	return 0;
}
