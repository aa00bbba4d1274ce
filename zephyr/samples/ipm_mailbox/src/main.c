/* SPDX-License-Identifier: MIT */
/*
 * The ivshmem-ipm mailbox sample: the shell of Zephyr's "IPM over
 * IVSHMEM" sample (its `ivshmem` and `ivshmem_ipm_send PEER` commands and
 * its "Received IPM notification over IVSHMEM" line) over this module's
 * driver, plus `send PEER TEXT` with the lines tools/ipm-shell prints in
 * mailbox mode, the driver's MBOX face (`mbox_send`, `mbox_listen`) and
 * ipm_set_enabled (`ipm_enable`).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ivshmem_ipm/ipm_mailbox.h>
#include <zephyr/device.h>
#include <zephyr/drivers/ipm.h>
#include <zephyr/drivers/mbox.h>
#include <zephyr/kernel.h>
#include <zephyr/shell/shell.h>

#define TEXT_MAX 1024

static const struct device *const ipm =
	DEVICE_DT_GET(DT_NODELABEL(ipm_mailbox0));
static const struct device *const mbox =
	DEVICE_DT_GET(DT_NODELABEL(mbox_mailbox0));

static uint64_t fnv1a(const volatile uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	while (n--)
		h = (h ^ *p++) * 0x100000001b3ull;
	return h;
}

/* A message as ipm-shell prints it: its text, or its size and hash. */
static void print_message(uint32_t peer, const struct mbox_msg *msg)
{
	static char text[TEXT_MAX + 1];	/* the receive thread's only */
	const volatile uint8_t *p = msg->data;
	bool printable = msg->size <= TEXT_MAX;

	/* Copy out first: the sender could still change the bytes. */
	for (size_t i = 0; printable && i < msg->size; i++) {
		text[i] = (char)p[i];
		if ((text[i] < 0x20 && text[i] != '\t' && text[i] != '\n') ||
		    text[i] == 0x7f)
			printable = false;
	}
	if (printable) {
		text[msg->size] = '\0';
		printf("Received %zu bytes from peer %u: %s\n", msg->size,
		       peer, text);
	} else {
		printf("Received %zu bytes from peer %u (fnv1a64 %016llx)\n",
		       msg->size, peer,
		       (unsigned long long)fnv1a(p, msg->size));
	}
}

static void ipm_received(const struct device *dev, void *user_data,
			 uint32_t id, volatile void *data)
{
	const struct mbox_msg *msg = ipm_ivshmem_mailbox_msg(data);

	ARG_UNUSED(dev);
	ARG_UNUSED(user_data);
	/* A bare doorbell, or an empty message: the seed's line. */
	if (!msg || msg->size == 0)
		printf("Received IPM notification over IVSHMEM\n");
	else
		print_message(id, msg);
}

static void mbox_received(const struct device *dev, uint32_t channel,
			  void *user_data, struct mbox_msg *msg)
{
	ARG_UNUSED(dev);
	ARG_UNUSED(user_data);
	/* A bare doorbell, or an empty message (a mailbox peer's). */
	if (!msg || msg->size == 0)
		printf("MBOX channel %u: doorbell\n", channel);
	else
		printf("MBOX channel %u: %zu bytes\n", channel, msg->size);
	/* The IPM face prints the message itself (both faces hear it). */
}

static int parse_peer(const char *s, uint32_t *peer)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > IPM_IVSHMEM_MAILBOX_MAX_PEER)
		return -EINVAL;
	*peer = (uint32_t)v;
	return 0;
}

/* ipm-shell's lines: a failure always, a success when bytes went. */
static int report_send(const struct shell *sh, uint32_t peer, size_t size,
		       int rc)
{
	if (rc < 0)
		shell_print(sh, "send to peer %u failed: %s", peer,
			    strerror(-rc));
	else if (size)
		shell_print(sh, "sent %zu bytes to peer %u: completed by the "
			    "receiver", size, peer);
	return rc < 0 ? rc : 0;
}

static int cmd_ipm_send(const struct shell *sh, size_t argc, char **argv)
{
	uint32_t peer;

	ARG_UNUSED(argc);
	if (parse_peer(argv[1], &peer) < 0) {
		shell_print(sh, "usage: ivshmem_ipm_send PEER");
		return -EINVAL;
	}
	return report_send(sh, peer, 0, ipm_send(ipm, 0, peer, NULL, 0));
}

/* argv[2] is the rest of the line, raw (SHELL_OPT_ARG_RAW). */
static int cmd_send(const struct shell *sh, size_t argc, char **argv)
{
	uint32_t peer;
	size_t len;

	if (argc < 3 || parse_peer(argv[1], &peer) < 0 || !*argv[2]) {
		shell_print(sh, "usage: send PEER TEXT...");
		return -EINVAL;
	}
	len = strlen(argv[2]);
	/* wait = 1: the line says the receiver completed it. */
	return report_send(sh, peer, len,
			   ipm_send(ipm, 1, peer, argv[2], (int)len));
}

/* Signalling, or with TEXT (the rest of the line) a message (no ack). */
static int cmd_mbox_send(const struct shell *sh, size_t argc, char **argv)
{
	struct mbox_channel ch;
	struct mbox_msg msg = { 0 };
	uint32_t peer;
	int rc;

	if (parse_peer(argv[1], &peer) < 0) {
		shell_print(sh, "usage: mbox_send PEER [TEXT...]");
		return -EINVAL;
	}
	mbox_init_channel(&ch, mbox, peer);
	if (argc < 3 || !*argv[2])
		return report_send(sh, peer, 0, mbox_send(&ch, NULL));
	msg.data = argv[2];
	msg.size = strlen(argv[2]);
	rc = mbox_send(&ch, &msg);
	if (rc < 0)
		return report_send(sh, peer, msg.size, rc);
	shell_print(sh, "sent %zu bytes to MBOX channel %u", msg.size, peer);
	return 0;
}

static int cmd_mbox_listen(const struct shell *sh, size_t argc, char **argv)
{
	struct mbox_channel ch;
	uint32_t peer;
	bool on;
	int rc;

	ARG_UNUSED(argc);
	on = !strcmp(argv[2], "on");
	if (parse_peer(argv[1], &peer) < 0 || (!on && strcmp(argv[2], "off"))) {
		shell_print(sh, "usage: mbox_listen PEER on|off");
		return -EINVAL;
	}
	mbox_init_channel(&ch, mbox, peer);
	rc = mbox_register_callback(&ch, on ? mbox_received : NULL, NULL);
	if (rc == 0)
		rc = mbox_set_enabled(&ch, on);
	if (rc < 0)
		shell_print(sh, "mbox_listen %u: %s", peer, strerror(-rc));
	else
		shell_print(sh, "MBOX channel %u: %s (mtu %d, %u channels)",
			    peer, on ? "listening" : "off", mbox_mtu_get(mbox),
			    mbox_max_channels_get(mbox));
	return rc;
}

static int cmd_ipm_enable(const struct shell *sh, size_t argc, char **argv)
{
	bool on = !strcmp(argv[1], "on");
	int rc;

	ARG_UNUSED(argc);
	if (!on && strcmp(argv[1], "off")) {
		shell_print(sh, "usage: ipm_enable on|off");
		return -EINVAL;
	}
	rc = ipm_set_enabled(ipm, on);
	shell_print(sh, "IPM callbacks: %s", rc < 0 ? strerror(-rc) :
		    on ? "on" : "off");
	return rc;
}

SHELL_CMD_ARG_REGISTER(ipm_enable, NULL,
		       "ipm_enable on|off: the IPM callback (ipm_set_enabled)",
		       cmd_ipm_enable, 2, 0);
SHELL_CMD_ARG_REGISTER(ivshmem_ipm_send, NULL,
		       "Ring vector 0 of peer PEER (a doorbell)",
		       cmd_ipm_send, 2, 0);
SHELL_CMD_ARG_REGISTER(send, NULL,
		       "send PEER TEXT: a mailbox message, acknowledged",
		       cmd_send, 2, SHELL_OPT_ARG_RAW);
SHELL_CMD_ARG_REGISTER(mbox_send, NULL,
		       "mbox_send PEER [TEXT]: a doorbell, or TEXT, through "
		       "the MBOX API", cmd_mbox_send, 2, SHELL_OPT_ARG_RAW);
SHELL_CMD_ARG_REGISTER(mbox_listen, NULL,
		       "mbox_listen PEER on|off: MBOX channel PEER's arrivals",
		       cmd_mbox_listen, 3, 0);

int main(void)
{
	if (!device_is_ready(ipm) || !device_is_ready(mbox)) {
		printf("ipm_mailbox: the driver did not start (see the log)\n");
		return -ENODEV;
	}
	ipm_register_callback(ipm, ipm_received, NULL);
	return 0;
}
