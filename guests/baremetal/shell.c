/* SPDX-License-Identifier: MIT */
#include "io.h"
#include "mailbox.h"
#include "notify.h"
#include "print.h"
#include "shell.h"
#include "string.h"
#include "timer.h"
#include "uart.h"

#define PROMPT "baremetal:~$ "
/* Room for a 256-byte `send` with its command and peer. */
#define LINE_MAX 320
#define ARGS_MAX 4

struct shell {
	struct platform_ops *ops;
	struct notify *n;
	struct bm_mailbox *mb;
	char line[LINE_MAX];
	unsigned len;
	/* pong: every vector 0 ring is answered to pong_peer, silently. */
	int pong;
	uint16_t pong_peer;
};

static int have_device(struct shell *sh)
{
	if (sh->ops->mem)
		return 1;
	printf("no ivshmem-doorbell device\n");
	return 0;
}

static int parse_peer(const char *s, uint16_t *peer)
{
	uint64_t v;

	if (parse_u64(s, &v) || v > 0xffff) {
		printf("invalid peer id '%s' (0 to 65535)\n", s);
		return -EINVAL;
	}
	*peer = (uint16_t)v;
	return 0;
}

/* A 32-bit word's offset in the region: aligned and inside it. */
static int parse_offset(struct shell *sh, const char *s, uint64_t *off)
{
	if (parse_u64(s, off) || *off % 4 || *off > sh->ops->size - 4) {
		printf("invalid offset '%s': a multiple of 4 below %zu\n", s,
		       sh->ops->size);
		return -EINVAL;
	}
	return 0;
}

static void cmd_ivshmem(struct shell *sh)
{
	/* Zephyr's lines, as ipm-shell prints them. */
	printf("IVshmem up and running: \n"
	       "\tShared memory: %p of size %zu bytes\n"
	       "\tPeer id: %u\n"
	       "\tNotification vectors: %u\n", (void *)sh->ops->mem,
	       sh->ops->size, sh->ops->id, sh->ops->vectors);
}

static void cmd_ring(struct shell *sh, const char *peer_s, const char *vec_s)
{
	uint16_t peer;
	uint64_t vector = 0;

	if (parse_peer(peer_s, &peer))
		return;
	if (vec_s && (parse_u64(vec_s, &vector) || vector >= 65536)) {
		printf("invalid vector '%s'\n", vec_s);
		return;
	}
	sh->ops->ring(sh->ops->ctx, peer, (uint16_t)vector);
}

static void cmd_peek_poke(struct shell *sh, const char *off_s,
			  const char *val_s)
{
	volatile uint32_t *word;
	uint64_t off, val;

	if (parse_offset(sh, off_s, &off))
		return;
	word = (volatile uint32_t *)((uintptr_t)sh->ops->mem + off);
	if (val_s) {
		if (parse_u64(val_s, &val) || val > 0xffffffffu) {
			printf("invalid value '%s': 32 bits\n", val_s);
			return;
		}
		*word = (uint32_t)val;
		mb();
	}
	printf("shm[0x%lx] = 0x%08x\n", off, *word);
}

static void cmd_notify(struct shell *sh, const char *mode)
{
	int rc = 0;

	if (mode && !strcmp(mode, "poll"))
		rc = notify_use(sh->n, NOTIFY_POLL);
	else if (mode && !strcmp(mode, "its"))
		rc = notify_use(sh->n, NOTIFY_ITS);
	else if (mode)
		rc = -EINVAL;
	if (rc)
		printf("notify %s: error %d\n", mode, rc);
	printf("notifications: %s\n", notify_mode_name(sh->n->mode));
}

/*
 * What notify.h relies on: QEMU marks a doorbell for a masked vector
 * pending in the PBA, and unmasking sends its message. Ring ourselves
 * with the vector masked, show its PBA bit, unmask: the notification then
 * arrives the usual way.
 */
static void cmd_pending(struct shell *sh, const char *vec_s)
{
	const struct ivshmem *iv = sh->n->iv;
	uint64_t v, deadline = timer_now_ms() + 1000;
	int pending;

	if (parse_u64(vec_s, &v) || v >= iv->vectors) {
		printf("invalid vector '%s': we have %u\n", vec_s, iv->vectors);
		return;
	}
	ivshmem_msix_mask(iv, (unsigned)v, 1);
	ivshmem_ring(iv, iv->id, (uint16_t)v);
	/* QEMU's main loop delivers it: wait a little. */
	while (!(pending = ivshmem_msix_pending(iv, (unsigned)v)) &&
	       timer_now_ms() < deadline)
		;
	printf("vector %lu masked, rung: PBA bit %d\n", v, pending);
	ivshmem_msix_mask(iv, (unsigned)v, 0);
	printf("vector %lu unmasked: PBA bit %d\n", v,
	       ivshmem_msix_pending(iv, (unsigned)v));
}

/* The ops' blocking wait, as a blocking send or receive would use it. */
static void cmd_wait(struct shell *sh, const char *ms_s)
{
	uint64_t ms, t0 = sh->ops->now_ms(sh->ops->ctx);
	int v;

	if (parse_u64(ms_s, &ms) || ms > 0xffffffffu) {
		printf("invalid timeout '%s' (milliseconds)\n", ms_s);
		return;
	}
	v = sh->ops->wait(sh->ops->ctx, (uint32_t)ms);
	if (v < 0)
		printf("wait: nothing within %lu ms\n", ms);
	else
		printf("wait: vector %d after %lu ms\n", v,
		       sh->ops->now_ms(sh->ops->ctx) - t0);
}

/* ipm-shell's `pong` in doorbell mode: a peer's `ping` times us. */
static void cmd_pong(struct shell *sh, const char *peer_s)
{
	sh->pong = strcmp(peer_s, "off") && !parse_peer(peer_s, &sh->pong_peer);
	if (sh->pong)
		printf("answering vector 0 rings to peer %u\n", sh->pong_peer);
	else
		printf("not answering\n");
}

/* `mailbox [SLOTS|off]`: join the region's mailbox, or leave it. */
static void cmd_mailbox(struct shell *sh, const char *arg)
{
	uint64_t slots = 0;

	if (arg && !strcmp(arg, "off")) {
		bm_mailbox_close(sh->mb);
		printf("mailbox: closed\n");
		return;
	}
	if (arg && (parse_u64(arg, &slots) || slots < 2 || slots > 64)) {
		printf("invalid slot count '%s' (2 to 64)\n", arg);
		return;
	}
	bm_mailbox_open(sh->mb, (unsigned)slots);
}

/* Printable text as ipm-shell prints it, else its length and FNV-1a. */
static void received(uint16_t peer, const void *data, uint32_t len)
{
	const uint8_t *p = data;
	uint64_t h = 0xcbf29ce484222325ull;
	int printable = 1;

	if (!len) {
		/* ipm-shell's ivshmem_ipm_send to a mailbox peer. */
		printf("Received IPM notification over IVSHMEM\n");
		return;
	}
	for (uint32_t i = 0; i < len; i++) {
		if ((p[i] < 0x20 && p[i] != '\t' && p[i] != '\n') ||
		    p[i] >= 0x7f)
			printable = 0;
		h = (h ^ p[i]) * 0x100000001b3ull;
	}
	if (printable) {
		printf("Received %u bytes from peer %u: ", len, peer);
		for (uint32_t i = 0; i < len; i++)
			uart_putc((char)p[i]);
		uart_putc('\n');
	} else {
		printf("Received %u bytes from peer %u (fnv1a64 %016lx)\n",
		       len, peer, h);
	}
}

/* `send PEER TEXT...`: text is the rest of the line, as typed. */
static void cmd_send(struct shell *sh, char *rest)
{
	char *peer_s, *text;
	uint16_t peer;
	int rc;

	while (*rest == ' ' || *rest == '\t')
		rest++;
	peer_s = rest;
	while (*rest && *rest != ' ' && *rest != '\t')
		rest++;
	text = rest;
	if (*text)
		*text++ = '\0';
	while (*text == ' ' || *text == '\t')
		text++;
	if (!*peer_s || !*text) {
		printf("usage: send PEER TEXT...\n");
		return;
	}
	if (parse_peer(peer_s, &peer))
		return;
	if (!bm_mailbox_is_open(sh->mb)) {
		printf("send to peer %u failed: no mailbox (try mailbox)\n",
		       peer);
		return;
	}
	rc = bm_mailbox_send(sh->mb, peer, text, (uint32_t)strlen(text));
	if (rc)
		printf("send to peer %u failed: error %d\n", peer, rc);
	else
		printf("sent %u bytes to peer %u: completed by the receiver\n",
		       (unsigned)strlen(text), peer);
}

/*
 * The sample's doorbell: an empty mailbox message to a mailbox peer (its
 * vector 0 alone could not tell it from a mailbox wake-up), vector 0 to
 * any other.
 */
static void cmd_notify_peer(struct shell *sh, const char *peer_s)
{
	uint16_t peer;

	if (parse_peer(peer_s, &peer))
		return;
	if (bm_mailbox_is_open(sh->mb) && bm_mailbox_has(sh->mb, peer) &&
	    !bm_mailbox_notify(sh->mb, peer))
		return;
	sh->ops->ring(sh->ops->ctx, peer, 0);
}

/* xorshift64: the scribbler's words and places, from a seed. */
static uint64_t next_random(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/*
 * `scribble N SEED`: N random 64-bit words where a mailbox keeps its
 * state (the header and slot table, the queues' control lines and the
 * start of their rings), as a hostile peer would; peers must survive it.
 */
static void cmd_scribble(struct shell *sh, const char *n_s, const char *seed_s)
{
	volatile uint64_t *w = (volatile uint64_t *)sh->ops->mem;
	uint64_t n, x, stride, queues;

	if (parse_u64(n_s, &n) || parse_u64(seed_s, &x) || !x) {
		printf("usage: scribble N SEED (SEED not 0)\n");
		return;
	}
	/* The geometry as the header says (garbage there is fine too). */
	stride = w[5];
	if (stride < 4096 || stride > sh->ops->size)
		stride = 4096;
	queues = (sh->ops->size - 8192) / stride;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t r = next_random(&x), off;

		if (r % 4 == 0)
			off = r >> 8 & (8192 - 8);
		else
			off = 8192 + (r >> 8) % queues * stride +
			      (r >> 40 & (4096 - 8));
		w[off / 8] = next_random(&x);
	}
	mb();
	printf("scribbled %lu words\n", n);
}

static void help(void)
{
	printf("ivshmem                   the region, our peer id and vectors\n"
	       "ivshmem_ipm_send PEER     ring PEER's vector 0\n"
	       "ring PEER VECTOR          ring PEER's VECTOR\n"
	       "peek OFFSET               read the region's 32-bit word\n"
	       "poke OFFSET VALUE         write it\n"
	       "notify [poll|its]         how notifications arrive\n"
	       "pending VECTOR            ring ourselves masked: the PBA bit\n"
	       "wait MS                   wait that long for a notification\n"
	       "pong PEER|off             answer vector 0 rings to PEER\n"
	       "mailbox [SLOTS|off]       join the region's mailbox (or leave)\n"
	       "send PEER TEXT...         a blocking mailbox send to PEER\n"
	       "peers                     the mailbox's live peers\n"
	       "stats                     the mailbox's counters\n"
	       "scribble N SEED           N random words over its state\n"
	       "uptime                    milliseconds since the VM started\n");
}

static void run(struct shell *sh, char **argv, int argc)
{
	const char *cmd = argv[0];

	if (!strcmp(cmd, "help")) {
		help();
	} else if (!strcmp(cmd, "uptime") && argc == 1) {
		printf("uptime: %lu ms\n", timer_now_ms());
	} else if (!strcmp(cmd, "notify") && argc <= 2) {
		if (have_device(sh))
			cmd_notify(sh, argc == 2 ? argv[1] : 0);
	} else if (!have_device(sh)) {
		return;
	} else if (!strcmp(cmd, "ivshmem") && argc == 1) {
		cmd_ivshmem(sh);
	} else if (!strcmp(cmd, "ivshmem_ipm_send") && argc == 2) {
		cmd_notify_peer(sh, argv[1]);
	} else if (!strcmp(cmd, "ring") && argc == 3) {
		cmd_ring(sh, argv[1], argv[2]);
	} else if (!strcmp(cmd, "peek") && argc == 2) {
		cmd_peek_poke(sh, argv[1], 0);
	} else if (!strcmp(cmd, "pong") && argc == 2) {
		cmd_pong(sh, argv[1]);
	} else if (!strcmp(cmd, "wait") && argc == 2) {
		cmd_wait(sh, argv[1]);
	} else if (!strcmp(cmd, "pending") && argc == 2) {
		cmd_pending(sh, argv[1]);
	} else if (!strcmp(cmd, "mailbox") && argc <= 2) {
		cmd_mailbox(sh, argc == 2 ? argv[1] : 0);
	} else if (!strcmp(cmd, "peers") && argc == 1 &&
		   bm_mailbox_is_open(sh->mb)) {
		bm_mailbox_print_peers(sh->mb);
	} else if (!strcmp(cmd, "stats") && argc == 1 &&
		   bm_mailbox_is_open(sh->mb)) {
		bm_mailbox_print_stats(sh->mb);
	} else if (!strcmp(cmd, "scribble") && argc == 3) {
		cmd_scribble(sh, argv[1], argv[2]);
	} else if (!strcmp(cmd, "poke") && argc == 3) {
		cmd_peek_poke(sh, argv[1], argv[2]);
	} else {
		printf("%s: unknown command or wrong arguments (try help)\n",
		       cmd);
	}
}

/* Split the line in place at spaces and tabs. */
static void execute(struct shell *sh)
{
	char *argv[ARGS_MAX + 1];
	int argc = 0;
	char *p = sh->line;

	sh->line[sh->len] = '\0';
	while (*p == ' ' || *p == '\t')
		p++;
	/* Its text keeps its spaces and may have many words. */
	if (!strncmp(p, "send", 4) && (p[4] == ' ' || p[4] == '\t')) {
		if (have_device(sh))
			cmd_send(sh, p + 4);
		return;
	}
	while (*p) {
		while (*p == ' ' || *p == '\t')
			*p++ = '\0';
		if (!*p)
			break;
		if (argc == ARGS_MAX + 1) {
			printf("too many arguments\n");
			return;
		}
		argv[argc++] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
	}
	if (argc)
		run(sh, argv, argc);
}

static void input(struct shell *sh, char c)
{
	if (c == '\r' || c == '\n') {
		uart_putc('\n');
		execute(sh);
		sh->len = 0;
		printf(PROMPT);
	} else if (c == '\b' || c == 0x7f) {
		if (sh->len) {
			sh->len--;
			printf("\b \b");
		}
	} else if (c >= 0x20 && c < 0x7f && sh->len < LINE_MAX - 1) {
		sh->line[sh->len++] = c;
		uart_putc(c);
	}
}

/* On a line of its own, then the prompt and the half-typed line again. */
static void notified(struct shell *sh, int vector)
{
	if (sh->pong && vector == 0) {
		sh->ops->ring(sh->ops->ctx, sh->pong_peer, 0);
		return;
	}
	if (vector == 0 && !bm_mailbox_doorbell(sh->mb))
		return;
	uart_putc('\n');
	if (vector == 0)
		printf("Received IPM notification over IVSHMEM\n");
	else
		printf("Received notification on vector %d\n", vector);
	sh->line[sh->len] = '\0';
	printf(PROMPT "%s", sh->line);
}

/* A message on a line of its own, then the prompt and the line again. */
static void print_received(void *arg, uint16_t peer, const void *data,
			   uint32_t len)
{
	struct shell *sh = arg;

	uart_putc('\n');
	received(peer, data, len);
	sh->line[sh->len] = '\0';
	printf(PROMPT "%s", sh->line);
}

void shell_run(struct platform_ops *ops, struct notify *n)
{
	struct shell sh = { .ops = ops, .n = n, .mb = bm_mailbox(ops) };
	int c, vector;

	printf(PROMPT);
	for (;;) {
		int busy = 0;

		while ((c = uart_getc()) >= 0) {
			input(&sh, (char)c);
			busy = 1;
		}
		if (ops->mem && (vector = ops->wait(ops->ctx, 0)) >= 0) {
			/* A ring that brought a message is the mailbox's. */
			if (!bm_mailbox_poll(sh.mb, print_received, &sh))
				notified(&sh, vector);
			busy = 1;
		}
		if (bm_mailbox_poll(sh.mb, print_received, &sh))
			busy = 1;
		while ((vector = bm_mailbox_take_other(sh.mb)) >= 0)
			notified(&sh, vector);
		if (!busy) {
			if (ops->mem)
				ops->relax(ops->ctx);
			else
				__asm__ volatile("yield");
		}
	}
}
