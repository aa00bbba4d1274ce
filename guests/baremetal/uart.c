/* SPDX-License-Identifier: MIT */
/* PL011 at the address QEMU virt gives it (its DTB: pl011@9000000). */
#include "io.h"
#include "uart.h"

#define UART_BASE 0x09000000UL
#define UART_DR (UART_BASE + 0x00)
#define UART_FR (UART_BASE + 0x18)
#define UART_LCR_H (UART_BASE + 0x2c)
#define UART_CR (UART_BASE + 0x30)
#define UART_IMSC (UART_BASE + 0x38)
#define UART_ICR (UART_BASE + 0x44)

#define FR_RXFE (1u << 4)
#define FR_TXFF (1u << 5)
#define LCR_H_FEN (1u << 4)
#define LCR_H_WLEN8 (3u << 5)
#define CR_UARTEN (1u << 0)
#define CR_TXE (1u << 8)
#define CR_RXE (1u << 9)

void uart_init(void)
{
	/* QEMU ignores the baud rate; FIFOs on, 8N1, no interrupts. */
	writel(UART_CR, 0);
	writel(UART_LCR_H, LCR_H_FEN | LCR_H_WLEN8);
	writel(UART_IMSC, 0);
	writel(UART_ICR, 0x7ff);
	writel(UART_CR, CR_UARTEN | CR_TXE | CR_RXE);
}

static void put_raw(char c)
{
	while (readl(UART_FR) & FR_TXFF)
		;
	writel(UART_DR, (unsigned char)c);
}

void uart_putc(char c)
{
	if (c == '\n')
		put_raw('\r');
	put_raw(c);
}

int uart_getc(void)
{
	if (readl(UART_FR) & FR_RXFE)
		return -1;
	return (int)(readl(UART_DR) & 0xff);
}
