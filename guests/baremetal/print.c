/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdint.h>

#include "print.h"
#include "uart.h"

static void put_num(uint64_t v, unsigned base, int neg, int width, char pad)
{
	char buf[24];
	int n = 0;

	do {
		buf[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (neg)
		buf[n++] = '-';
	while (width-- > n)
		uart_putc(pad);
	while (n)
		uart_putc(buf[--n]);
}

void printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	for (; *fmt; fmt++) {
		int width = 0, longs = 0;
		char pad = ' ';
		uint64_t u;
		int64_t s;

		if (*fmt != '%') {
			uart_putc(*fmt);
			continue;
		}
		fmt++;
		if (*fmt == '0')
			pad = '0';
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l' || *fmt == 'z') {
			longs++;
			fmt++;
		}
		switch (*fmt) {
		case 'c':
			uart_putc((char)va_arg(ap, int));
			break;
		case 's':
			for (const char *p = va_arg(ap, const char *); *p; p++)
				uart_putc(*p);
			break;
		case 'd':
			s = longs ? va_arg(ap, int64_t) : va_arg(ap, int);
			u = s < 0 ? -(uint64_t)s : (uint64_t)s;
			put_num(u, 10, s < 0, width, pad);
			break;
		case 'u':
		case 'x':
			u = longs ? va_arg(ap, uint64_t) : va_arg(ap, unsigned);
			put_num(u, *fmt == 'u' ? 10 : 16, 0, width, pad);
			break;
		case 'p':
			uart_putc('0');
			uart_putc('x');
			put_num((uintptr_t)va_arg(ap, void *), 16, 0, 0, ' ');
			break;
		case '%':
			uart_putc('%');
			break;
		default: /* unknown: show it rather than guess its argument */
			uart_putc('%');
			if (!*fmt)
				goto out;
			uart_putc(*fmt);
		}
	}
out:
	va_end(ap);
}
