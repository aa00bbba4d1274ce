/* SPDX-License-Identifier: MIT */
/*
 * Sizes and vector counts at and beyond the usual ones: the server starts
 * and a peer gets shared memory of exactly the size asked for.
 */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_util.h"

static void serve(const char *tag, const char *size_arg, uint64_t size,
		  const char *vectors)
{
	struct tu_server s;
	struct cli_peer a, b;
	struct stat st;
	int fd;

	cli_names(&s, tag);
	cli_start(&s, CLI_ARGS("-l", size_arg, "-n", vectors));
	cli_peer_join(&a, s.socket_path);
	cli_peer_join(&b, s.socket_path);
	CHECK(a.size == size, "%s: peer got %llu bytes", size_arg,
	      (unsigned long long)a.size);
	CHECK(a.id != b.id, "two peers with id %lld", (long long)a.id);

	/* The server's object, as seen from outside, is the same size. */
	fd = shm_open(s.shm_name, O_RDONLY, 0);
	CHECK(fd >= 0 && fstat(fd, &st) == 0 && (uint64_t)st.st_size == size,
	      "%s: /dev/shm%s is not %llu bytes", size_arg, s.shm_name,
	      (unsigned long long)size);
	close(fd);

	/* Both ends of the region are shared (only two pages get used). */
	CHECK(a.mem[0] == 0 && a.mem[size - 1] == 0, "not zeroed");
	a.mem[0] = 0x5a;
	a.mem[size - 1] = 0xa5;
	CHECK(b.mem[0] == 0x5a && b.mem[size - 1] == 0xa5,
	      "%s: peers do not share the memory", size_arg);

	cli_peer_leave(&a);
	cli_peer_leave(&b);
	CHECK(cli_stop(&s, SIGTERM) == 0, "%s: exit status != 0", size_arg);
	CHECK(!cli_path_exists(s.socket_path) && !cli_shm_exists(s.shm_name),
	      "%s: socket or shm left behind", size_arg);
	printf("%s x %s vectors: ok\n", size_arg, vectors);
}

int main(void)
{
	serve("min", "4K", 4096, "1");
	serve("4k-lower", "4k", 4096, "64");
	serve("default", "4MiB", 4u << 20, "2");
	serve("2g", "2G", UINT64_C(2) << 30, "1");
	serve("4g", "4G", UINT64_C(4) << 30, "8");
	printf("cli_sizes: ok\n");
	return 0;
}
