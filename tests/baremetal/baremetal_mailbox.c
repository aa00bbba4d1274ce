/* SPDX-License-Identifier: MIT */
/*
 * The bare-metal guest's mailbox (the freestanding core, src/core, built
 * into it) with a host peer, ipm-shell -m mailbox, on our server under
 * qemu-system-aarch64 -accel tcg: payloads both ways in both notification
 * modes with exact lines on both sides, every send blocking and
 * acknowledged ("completed by the receiver"), a 200-byte text, the
 * sample's doorbell line both ways, then garbage over the mailbox's state
 * written by the host and by the guest, after which traffic flows again;
 * nothing but what was sent is ever delivered. The counters the guest
 * prints are the ones ivshmem-ctl mailbox shows for its slot.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bmguest.h"
#include "bmmail.h"
#include "console.h"
#include "testutil.h"

#define ROUNDS 4
#define GARBAGE_WORDS 3000

/* A notification both ways, as the seed's sample prints it. */
static void doorbells(struct bm_mail_end *g, struct bm_mail_end *h)
{
	con_send(h->con, "ivshmem_ipm_send %u", g->id);
	con_must(g->con, BM_LINE_IPM, BM_WAIT_MS);
	con_send(g->con, "ivshmem_ipm_send %u", h->id);
	con_must(h->con, BM_LINE_IPM, BM_WAIT_MS);
}

/* Texts both ways; the first one may wait for the peers to meet. */
static void traffic(struct bm_mail *m, struct bm_mail_end *g,
		    struct bm_mail_end *h, const char *phase, int tries)
{
	char text[64];
	int t;

	for (int i = 0; i < ROUNDS; i++) {
		snprintf(text, sizeof(text), "%s: bare metal to host #%d",
			 phase, i);
		t = bm_mail_send(m, g, h, text, i ? 1 : tries, 1);
		if (t > 1)
			fprintf(stderr, "%s: guest -> host after %d tries\n",
				phase, t);
		snprintf(text, sizeof(text), "%s: host to bare metal #%d",
			 phase, i);
		t = bm_mail_send(m, h, g, text, i ? 1 : tries, 1);
		if (t > 1)
			fprintf(stderr, "%s: host -> guest after %d tries\n",
				phase, t);
	}
}

/* The guest's last "mailbox stats: ..." line (NULL: none). */
static const char *last_stats(const char *buf)
{
	const char *last = NULL;

	for (const char *p = buf; (p = strstr(p, "mailbox stats: ")); p++)
		last = p;
	return last;
}

/*
 * What the guest's core published in its slot line, as ivshmem-ctl reads
 * it from the host: the counters the guest printed (its heartbeat
 * publishes them within 250 ms), their check computed on the other CPU.
 */
static void published(const struct tu_server *srv, unsigned id,
		      const char *printed)
{
	static char out[65536];
	const char *argv[] = { tu_bin("tools/ivshmem-ctl"), "-S",
			       srv->socket_path, "--json", "mailbox", NULL };
	unsigned want[3], got[3] = { 0 };
	char slot[32];

	CHECK(printed && sscanf(printed, "mailbox stats: delivered %u lost %u "
				"corrupt %u", &want[0], &want[1],
				&want[2]) == 3, "the guest's stats line");
	snprintf(slot, sizeof(slot), "\"peer\":%u,", id);
	for (int i = 0; i < 50; i++) {
		const char *c;

		tu_run(argv, out, sizeof(out), 30);
		c = strstr(out, slot) ? strstr(strstr(out, slot),
					       "\"counters\":") : NULL;
		CHECK(c, "no counters for the guest's slot: %s", out);
		if (sscanf(c, "\"counters\":{\"state\":\"published\","
			   "\"delivered\":%u,\"lost\":%u,\"corrupt\":%u",
			   &got[0], &got[1], &got[2]) == 3 &&
		    !memcmp(got, want, sizeof(got)))
			break;
		usleep(100000);
	}
	CHECK(!memcmp(got, want, sizeof(got)), "the guest published %u "
	      "delivered, %u lost, %u corrupt; it printed %u, %u, %u: %s",
	      got[0], got[1], got[2], want[0], want[1], want[2], out);
	fprintf(stderr, "ivshmem-ctl mailbox shows the guest's counters as "
		"published: %u delivered, %u lost, %u corrupt\n", got[0],
		got[1], got[2]);
}

int main(void)
{
	static struct bm_guest guest;
	static struct con host;
	static struct bm_mail m;
	struct tu_server srv;
	struct bm_mail_end g, h;
	const char *modes[] = { "its", "poll" };
	char big[201], phase[32];
	volatile void *mem;
	size_t size;

	bm_require();
	tu_server_start(&srv, (const char *[]){ "-n", "2", NULL });
	mem = bm_map_region(&srv, &size);

	/* The host lays the region out; the guest adopts it. */
	con_spawn(&host, "ipm-shell -m mailbox", (const char *const[]){
		tu_bin("tools/ipm-shell"), "-S", srv.socket_path, "-n", "2",
		"-m", "mailbox", NULL });
	con_send(&host, "ivshmem");
	h.con = &host;
	h.id = (unsigned)con_number_after(&host, "\tPeer id: ", BM_WAIT_MS);

	bm_boot(&guest, "bare-metal guest", srv.socket_path, BM_VIRT);
	g.con = &guest.con;
	g.id = guest.id;
	con_send(g.con, "mailbox");
	con_must(g.con, "mailbox: slot ", BM_WAIT_MS);

	for (unsigned k = 0; k < 2; k++) {
		bm_mode(&guest, modes[k]);
		snprintf(phase, sizeof(phase), "%s", modes[k]);
		traffic(&m, &g, &h, phase, 10);
		doorbells(&g, &h);
	}
	memset(big, 'x', 200);
	big[200] = '\0';
	memcpy(big, "200 bytes:", 10);
	bm_mail_send(&m, &g, &h, big, 1, 1);
	bm_mail_send(&m, &h, &g, big, 1, 1);
	fprintf(stderr, "200-byte texts both ways: acknowledged, delivered\n");
	/* Before the garbage (which leaves no header to read): what the
	 * guest counted so far, as it says and as its slot line says. */
	con_send(g.con, "stats");
	con_must(g.con, "send_withdrawn ", BM_WAIT_MS);
	published(&srv, g.id, last_stats(guest.con.buf));

	/* The host scribbles between the guest's sends, then stops. */
	for (int i = 0; i < 5; i++) {
		char text[64];

		bm_mail_scribble(mem, size, GARBAGE_WORDS / 5,
				 0x9e3779b97f4a7c15ull * (i + 1));
		snprintf(text, sizeof(text), "under host garbage #%d", i);
		bm_mail_send(&m, &g, &h, text, 1, 0);
	}
	traffic(&m, &g, &h, "after host garbage", 10);

	/* The guest scribbles (against ipm-shell), then stops. */
	con_send(g.con, "scribble %d 12345", GARBAGE_WORDS);
	con_must(g.con, "scribbled ", BM_WAIT_MS);
	traffic(&m, &g, &h, "after guest garbage", 10);
	doorbells(&g, &h);

	con_send(g.con, "stats");
	con_must(g.con, "send_withdrawn ", BM_WAIT_MS);
	con_must(g.con, "\n", BM_WAIT_MS);
	fprintf(stderr, "guest counters: %.*s\n",
		(int)strcspn(last_stats(guest.con.buf), "\r\n"),
		last_stats(guest.con.buf));
	fprintf(stderr, "delivered and audited: %u on the host, %u on the "
		"guest\n", bm_mail_audit(&m, &host),
		bm_mail_audit(&m, &guest.con));

	/* Still there: both answer. */
	con_send(&host, "ivshmem");
	con_must(&host, "IVshmem up and running", BM_WAIT_MS);
	con_send(g.con, "peers");
	con_must(g.con, "mailbox peers: ", BM_WAIT_MS);

	con_close(g.con);
	con_close(&host);
	munmap((void *)mem, size);
	tu_server_stop(&srv);
	return 0;
}
