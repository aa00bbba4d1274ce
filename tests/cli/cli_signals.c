/* SPDX-License-Identifier: MIT */
/*
 * Signals (issue 13): HUP, USR1, USR2 and PIPE leave the server serving
 * (USR1 logs a status line, HUP restarts it in place, issue 15, and USR2
 * logs a line saying it changes nothing); INT, TERM and QUIT stop it with exit status 0, and none of
 * them leaves the socket or the shared memory behind.
 */
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_util.h"

static int log_has(const char *path, const char *needle)
{
	char buf[16384];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strstr(buf, needle) != NULL;
}

static void wait_log(const char *path, const char *needle)
{
	for (int i = 0; i < 500 && !log_has(path, needle); i++)
		usleep(10000);
	CHECK(log_has(path, needle), "no '%s' in %s", needle, path);
}

int main(void)
{
	static const int harmless[] = { SIGHUP, SIGUSR1, SIGUSR2, SIGPIPE };
	static const int stopping[] = { SIGINT, SIGTERM, SIGQUIT };
	struct tu_server s;
	struct cli_peer p, q;
	int status;

	cli_names(&s, "harmless");
	cli_start(&s, CLI_ARGS("-n", "2"));
	cli_peer_join(&p, s.socket_path);
	for (size_t i = 0; i < sizeof(harmless) / sizeof(int); i++) {
		CHECK(kill(s.pid, harmless[i]) == 0, "kill");
		/* Still serving: a newcomer gets its setup. */
		cli_peer_join(&q, s.socket_path);
		cli_peer_leave(&q);
		CHECK(waitpid(s.pid, &status, WNOHANG) == 0, "%s killed the "
		      "server", strsignal(harmless[i]));
		printf("%s: still serving\n", strsignal(harmless[i]));
	}
	wait_log(s.log_path, "status: ");
	wait_log(s.log_path, "2 vectors each");
	wait_log(s.log_path, "Hangup: restarting in place");
	wait_log(s.log_path, "restarted in place");
	wait_log(s.log_path, "User defined signal 2: ignored");
	cli_peer_leave(&p);
	CHECK(cli_stop(&s, SIGTERM) == 0, "exit status");

	for (size_t i = 0; i < sizeof(stopping) / sizeof(int); i++) {
		char tag[32];

		snprintf(tag, sizeof(tag), "stop%zu", i);
		cli_names(&s, tag);
		cli_start(&s, NULL);
		cli_peer_join(&p, s.socket_path);
		CHECK(cli_stop(&s, stopping[i]) == 0, "%s: exit status not 0",
		      strsignal(stopping[i]));
		CHECK(!cli_path_exists(s.socket_path), "%s left the socket",
		      strsignal(stopping[i]));
		CHECK(!cli_shm_exists(s.shm_name), "%s left the shm",
		      strsignal(stopping[i]));
		/* The peer keeps its mapping, as a VM does. */
		p.mem[0] = 1;
		cli_peer_leave(&p);
		printf("%s: stopped cleanly\n", strsignal(stopping[i]));
	}
	printf("cli_signals: ok\n");
	return 0;
}
