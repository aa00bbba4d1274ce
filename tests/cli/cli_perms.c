/* SPDX-License-Identifier: MIT */
/* --socket-mode/-owner/-group and --shm-mode/-owner/-group, by stat. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_util.h"

#define NEEDLES(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void stat_shm(const char *name, struct stat *st)
{
	int fd = shm_open(name, O_RDONLY | O_CLOEXEC, 0);

	CHECK(fd >= 0, "shm_open %s: %s", name, strerror(errno));
	CHECK(fstat(fd, st) == 0, "fstat: %s", strerror(errno));
	close(fd);
}

static void expect(const char *what, const struct stat *st, mode_t mode,
		   uid_t uid, gid_t gid)
{
	CHECK((st->st_mode & 07777) == mode, "%s: mode %o, want %o", what,
	      (unsigned)(st->st_mode & 07777), (unsigned)mode);
	CHECK(st->st_uid == uid, "%s: uid %u, want %u", what,
	      (unsigned)st->st_uid, (unsigned)uid);
	CHECK(st->st_gid == gid, "%s: gid %u, want %u", what,
	      (unsigned)st->st_gid, (unsigned)gid);
}

static void run(const char *tag, const char *const *args, mode_t sock_mode,
		uid_t sock_uid, gid_t sock_gid, mode_t shm_mode, uid_t shm_uid,
		gid_t shm_gid)
{
	struct tu_server s;
	struct cli_peer p;
	struct stat st;

	cli_names(&s, tag);
	cli_start(&s, args);
	CHECK(lstat(s.socket_path, &st) == 0 && S_ISSOCK(st.st_mode),
	      "%s: no socket", tag);
	expect("socket", &st, sock_mode, sock_uid, sock_gid);
	stat_shm(s.shm_name, &st);
	expect("shm", &st, shm_mode, shm_uid, shm_gid);
	/* The fd handed out is that very object. */
	cli_peer_join(&p, s.socket_path);
	CHECK(fstat(p.shm_fd, &st) == 0, "fstat: %s", strerror(errno));
	expect("peer's shm fd", &st, shm_mode, shm_uid, shm_gid);
	cli_peer_leave(&p);
	CHECK(cli_stop(&s, SIGTERM) == 0, "%s: exit status", tag);
	CHECK(!cli_path_exists(s.socket_path) && !cli_shm_exists(s.shm_name),
	      "%s: socket or shm left behind", tag);
	printf("%s: ok\n", tag);
}

int main(void)
{
	struct group *gr = getgrnam("daemon");
	struct passwd *pw = getpwnam("nobody");
	gid_t gid = gr ? gr->gr_gid : 1;
	uid_t uid = pw ? pw->pw_uid : 65534;
	char gid_text[16], uid_text[16];
	struct tu_server s;

	snprintf(gid_text, sizeof(gid_text), "%u", (unsigned)gid);
	snprintf(uid_text, sizeof(uid_text), "%u", (unsigned)uid);

	/* Defaults: the socket as the umask gives, the shm 0600. */
	umask(022);
	run("defaults", NULL, 0755, geteuid(), getegid(), 0600, geteuid(),
	    getegid());
	umask(077);
	run("defaults-umask", NULL, 0700, geteuid(), getegid(), 0600,
	    geteuid(), getegid());
	umask(022);
	/* Modes alone, which need no privilege; the umask does not apply. */
	run("modes", CLI_ARGS("--socket-mode", "0666", "--shm-mode=0644"),
	    0666, geteuid(), getegid(), 0644, geteuid(), getegid());

	if (geteuid() == 0) {
		run("names",
		    CLI_ARGS("--socket-mode", "0660", "--socket-group",
			     gr ? "daemon" : gid_text, "--shm-mode", "0640",
			     "--shm-owner", pw ? "nobody" : uid_text,
			     "--shm-group", gr ? "daemon" : gid_text),
		    0660, 0, gid, 0640, uid, gid);
		run("numbers",
		    CLI_ARGS("--socket-mode=660", "--socket-owner", uid_text,
			     "--socket-group", gid_text, "--shm-mode", "0604",
			     "--shm-owner", uid_text, "--shm-group",
			     gid_text),
		    0660, uid, gid, 0604, uid, gid);
		/* Group only: the owner stays as it was. */
		run("group-only",
		    CLI_ARGS("--shm-group", gid_text, "--socket-group",
			     gid_text),
		    0755, 0, gid, 0600, 0, gid);
	} else {
		printf("not root: ownership options not checked\n");
	}

	cli_names(&s, "bad-perms");
#define FAIL(needles, ...) \
	cli_expect_fail(CLI_ARGS("-F", "-S", s.socket_path, "-M", s.shm_name, \
				 __VA_ARGS__), needles, s.socket_path, \
			s.shm_name)
	FAIL(NEEDLES("socket-mode", "'0999'"), "--socket-mode", "0999");
	FAIL(NEEDLES("socket-mode", "'10000'"), "--socket-mode", "10000");
	FAIL(NEEDLES("shm-mode", "'rw'"), "--shm-mode", "rw");
	FAIL(NEEDLES("socket-group", "no such group"), "--socket-group",
	     "no-such-group-ivcli");
	FAIL(NEEDLES("shm-group", "no such group"), "--shm-group",
	     "no-such-group-ivcli");
	FAIL(NEEDLES("socket-owner", "no such user"), "--socket-owner",
	     "no-such-user-ivcli");
	FAIL(NEEDLES("shm-owner", "no such user"), "--shm-owner",
	     "no-such-user-ivcli");
	printf("cli_perms: ok\n");
	return 0;
}
