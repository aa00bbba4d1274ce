/*
 * The README's IPM example as a program: two mailbox peers say hello.
 *
 *   ipm_hello SOCKET          wait for a message, answer its sender
 *   ipm_hello SOCKET send     wait for another mailbox peer, send "hello",
 *                             wait for the answer
 *
 * Prints what it receives; exits 0 once the exchange is done, 1 on an
 * error or after 10 seconds without one.
 */
#include <stdio.h>
#include <string.h>
#include <ivshmem/ipm.h>

struct hello {
	int got;        /* a message arrived */
	int from;       /* its sender */
	char text[64];  /* its payload, copied out of the shared memory */
};

static void on_message(struct ipm *ipm, void *user, uint32_t id,
		       const volatile void *data, size_t size)
{
	struct hello *h = user;
	size_t n = size < sizeof(h->text) - 1 ? size : sizeof(h->text) - 1;

	/* The payload lives in shared memory: copy it before using it. */
	for (size_t i = 0; i < n; i++)
		h->text[i] = ((const volatile char *)data)[i];
	h->text[n] = '\0';
	h->from = (int)id;
	h->got = 1;
}

int main(int argc, char **argv)
{
	const char *sock = argc > 1 ? argv[1] : "/tmp/ivshmem_socket";
	int sender = argc > 2 && !strcmp(argv[2], "send");
	struct ipm_config cfg = { .mode = IPM_MODE_MAILBOX };
	struct ivshm_transport *t;
	struct hello h = { 0 };
	struct ipm *ipm;
	int peer = -1, rc, i;

	rc = ivshm_transport_host_open(&t, sock, 1, 5000);
	if (rc < 0) {
		fprintf(stderr, "ipm_hello: %s: %s\n", sock, strerror(-rc));
		return 1;
	}
	rc = ipm_open(&ipm, t, &cfg);   /* the device owns t from now on */
	if (rc < 0) {
		fprintf(stderr, "ipm_hello: ipm_open: %s\n", strerror(-rc));
		ivshm_transport_close(t);
		return 1;
	}
	ipm_register_callback(ipm, on_message, &h);
	printf("peer %d, up to %d bytes a message\n",
	       ipm_transport(ipm)->id, ipm_max_data_size_get(ipm));
	fflush(stdout);

	/* The sender waits for a mailbox peer to talk to. */
	for (i = 0; sender && peer < 0 && i < 100; i++) {
		int ids[64], n = ipm_peers(ipm, ids, 64);

		if (n > 0)
			peer = ids[0];
		else
			ipm_poll(ipm, 100);
	}
	if (sender) {
		if (peer < 0) {
			fprintf(stderr, "ipm_hello: no mailbox peer came\n");
			goto fail;
		}
		/* wait=1: returns once the receiver completed it */
		rc = ipm_send(ipm, 1, peer, "hello", 5);
		if (rc < 0) {
			fprintf(stderr, "ipm_hello: send: %s\n", strerror(-rc));
			goto fail;
		}
		printf("sent 'hello' to peer %d\n", peer);
	}
	for (i = 0; !h.got && i < 100; i++)
		ipm_poll(ipm, 100);
	if (!h.got) {
		fprintf(stderr, "ipm_hello: nothing came\n");
		goto fail;
	}
	printf("got '%s' from peer %d\n", h.text, h.from);
	if (!sender) {
		rc = ipm_send(ipm, 1, h.from, "hello back", 10);
		if (rc < 0) {
			fprintf(stderr, "ipm_hello: send: %s\n", strerror(-rc));
			goto fail;
		}
		printf("answered peer %d\n", h.from);
	}
	ipm_close(ipm);
	return 0;
fail:
	ipm_close(ipm);
	return 1;
}
