/* Join an ivshmem server, ring every peer's vector 0, wait for a doorbell. */
#include <stdio.h>
#include <string.h>
#include <ivshmem/ivshmem.h>

int main(int argc, char **argv)
{
	struct ivshmem *iv;
	struct ivshmem_event ev;
	int ids[64], n, rc;
	unsigned vec;

	rc = ivshmem_connect(&iv, argc > 1 ? argv[1] : "/tmp/ivshmem_socket",
			     1, 5000);
	if (rc < 0) {
		fprintf(stderr, "connect: %s\n", strerror(-rc));
		return 1;
	}
	n = ivshmem_peers(iv, ids, 64);
	printf("id %d, %zu bytes, %d peers\n", ivshmem_id(iv),
	       ivshmem_size(iv), n);
	for (int i = 0; i < n && i < 64; i++) {
		rc = ivshmem_ring(iv, ids[i], 0);
		printf("ring peer %d: %s\n", ids[i], rc ? strerror(-rc) : "ok");
	}
	/* Joins and leaves come as events: skip them, wait on. */
	while ((rc = ivshmem_wait(iv, 1000, &vec)) == 2)
		ivshmem_next_event(iv, &ev);
	if (rc == 1)
		printf("doorbell on vector %u\n", vec);
	else if (rc < 0)
		fprintf(stderr, "wait: %s\n", strerror(-rc));
	ivshmem_close(iv);
	return rc < 0;
}
