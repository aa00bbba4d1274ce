/* SPDX-License-Identifier: MIT */
/*
 * bench-json-check PROGRAM [ARG]...: run PROGRAM (ipm-bench --json ...) and
 * check that it exits 0 and that its stdout is exactly one JSON object of
 * the structure of bench-json.md, with the setup figures.
 * Its stderr is passed through. Exit 0 when all is well.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jv {
	enum jtype type;
	double num;           /* J_NUM, J_BOOL */
	char *str;            /* J_STR */
	struct jv **items;    /* J_ARR, J_OBJ */
	char **keys;          /* J_OBJ */
	size_t n;
};

struct parser {
	const char *p;
	const char *err;
};

static int failures;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "bench-json-check: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	failures++;
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p) {
		fprintf(stderr, "bench-json-check: out of memory\n");
		exit(1);
	}
	return p;
}

static void skip_ws(struct parser *ps)
{
	while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' ||
	       *ps->p == '\r')
		ps->p++;
}

static void jv_free(struct jv *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n; i++) {
		jv_free(v->items[i]);
		free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->str);
	free(v);
}

static struct jv *parse_value(struct parser *ps, int depth);

/* Strings are kept as written, escapes included: the names have none. */
static char *parse_string(struct parser *ps)
{
	const char *start = ++ps->p;
	char *s;

	while (*ps->p && *ps->p != '"') {
		if ((unsigned char)*ps->p < 0x20) {
			ps->err = "control character in a string";
			return NULL;
		}
		if (*ps->p == '\\' && ps->p[1])
			ps->p++;
		ps->p++;
	}
	if (*ps->p != '"') {
		ps->err = "unterminated string";
		return NULL;
	}
	s = xcalloc((size_t)(ps->p - start) + 1, 1);
	memcpy(s, start, (size_t)(ps->p - start));
	ps->p++;
	return s;
}

static void append(struct jv *v, struct jv *item, char *key)
{
	struct jv **items = realloc(v->items, (v->n + 1) * sizeof(*items));
	char **keys = realloc(v->keys, (v->n + 1) * sizeof(*keys));

	if (!items || !keys) {
		fprintf(stderr, "bench-json-check: out of memory\n");
		exit(1);
	}
	v->items = items;
	v->keys = keys;
	v->items[v->n] = item;
	v->keys[v->n] = key;
	v->n++;
}

static struct jv *parse_container(struct parser *ps, int depth, int obj)
{
	struct jv *v = xcalloc(1, sizeof(*v));
	char close = obj ? '}' : ']';
	char *key = NULL;
	struct jv *item;

	v->type = obj ? J_OBJ : J_ARR;
	ps->p++;
	skip_ws(ps);
	if (*ps->p == close) {
		ps->p++;
		return v;
	}
	for (;;) {
		skip_ws(ps);
		if (obj) {
			if (*ps->p != '"') {
				ps->err = "expected a key";
				goto fail;
			}
			key = parse_string(ps);
			if (!key)
				goto fail;
			skip_ws(ps);
			if (*ps->p++ != ':') {
				ps->err = "expected ':'";
				goto fail;
			}
		}
		item = parse_value(ps, depth + 1);
		if (!item)
			goto fail;
		append(v, item, key);
		key = NULL;
		skip_ws(ps);
		if (*ps->p == ',') {
			ps->p++;
			continue;
		}
		if (*ps->p == close) {
			ps->p++;
			return v;
		}
		ps->err = obj ? "expected ',' or '}'" : "expected ',' or ']'";
		goto fail;
	}
fail:
	free(key);
	jv_free(v);
	return NULL;
}

static struct jv *parse_value(struct parser *ps, int depth)
{
	static const struct { const char *word; enum jtype type; int val; }
	words[] = {
		{ "true", J_BOOL, 1 }, { "false", J_BOOL, 0 },
		{ "null", J_NULL, 0 },
	};
	struct jv *v;
	char *end;

	if (depth > 32) {
		ps->err = "nested too deep";
		return NULL;
	}
	skip_ws(ps);
	if (*ps->p == '{' || *ps->p == '[')
		return parse_container(ps, depth, *ps->p == '{');
	v = xcalloc(1, sizeof(*v));
	if (*ps->p == '"') {
		v->type = J_STR;
		v->str = parse_string(ps);
		if (v->str)
			return v;
		free(v);
		return NULL;
	}
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		size_t len = strlen(words[i].word);

		if (!strncmp(ps->p, words[i].word, len)) {
			v->type = words[i].type;
			v->num = words[i].val;
			ps->p += len;
			return v;
		}
	}
	if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9')) {
		v->type = J_NUM;
		v->num = strtod(ps->p, &end);
		if (end == ps->p || !isfinite(v->num)) {
			ps->err = "bad number";
			free(v);
			return NULL;
		}
		ps->p = end;
		return v;
	}
	free(v);
	ps->err = "unexpected character";
	return NULL;
}

static const struct jv *get(const struct jv *obj, const char *key,
			    enum jtype type, const char *where)
{
	for (size_t i = 0; i < obj->n; i++) {
		if (strcmp(obj->keys[i], key))
			continue;
		if (obj->items[i]->type != type) {
			fail("%s: \"%s\" has the wrong type", where, key);
			return NULL;
		}
		return obj->items[i];
	}
	fail("%s: no \"%s\"", where, key);
	return NULL;
}

static int has(const struct jv *obj, const char *key)
{
	for (size_t i = 0; i < obj->n; i++)
		if (!strcmp(obj->keys[i], key))
			return 1;
	return 0;
}

static void check_result(const struct jv *r, size_t idx, int *setup_seen)
{
	static const char *const lat[] = { "n", "p50", "p99", "max" };
	static const char *const tput[] = { "value", "msgs_per_s" };
	const struct jv *name, *unit, *v;
	char where[96];

	snprintf(where, sizeof(where), "results[%zu]", idx);
	if (r->type != J_OBJ) {
		fail("%s is not an object", where);
		return;
	}
	name = get(r, "name", J_STR, where);
	unit = get(r, "unit", J_STR, where);
	v = get(r, "size", J_NUM, where);
	if (!name || !unit || !v)
		return;
	snprintf(where, sizeof(where), "results[%zu] (%s)", idx, name->str);
	if (v->num < 0)
		fail("%s: negative size", where);
	if (!strcmp(unit->str, "ns")) {
		for (size_t i = 0; i < 4; i++) {
			v = get(r, lat[i], J_NUM, where);
			if (v && v->num < 0)
				fail("%s: negative %s", where, lat[i]);
		}
		v = get(r, "n", J_NUM, where);
		if (v && v->num < 1)
			fail("%s: no samples", where);
	} else if (!strcmp(unit->str, "MB/s")) {
		for (size_t i = 0; i < 2; i++)
			get(r, tput[i], J_NUM, where);
	} else {
		fail("%s: unknown unit \"%s\"", where, unit->str);
	}
	if (has(r, "peers"))
		get(r, "peers", J_NUM, where);
	if (!strcmp(name->str, "setup.socket")) {
		setup_seen[0]++;
	} else if (!strcmp(name->str, "setup.connect")) {
		v = get(r, "peers", J_NUM, where);
		if (v && v->num == 1)
			setup_seen[1]++;
		else if (v && v->num == 100)
			setup_seen[2]++;
		else if (v && v->num == 1000)
			setup_seen[3]++;
		get(r, "ratio", J_NUM, where);
		v = get(r, "baseline", J_STR, where);
		if (v && strcmp(v->str, "setup.socket"))
			fail("%s: baseline \"%s\"", where, v->str);
	}
}

static void check_top(const struct jv *top);

static void check(const char *text)
{
	struct parser ps = { .p = text };
	struct jv *top = parse_value(&ps, 0);

	if (!top) {
		fail("not JSON: %s at offset %zu", ps.err,
		     (size_t)(ps.p - text));
		return;
	}
	skip_ws(&ps);
	if (*ps.p)
		fail("more than one JSON value on stdout (offset %zu)",
		     (size_t)(ps.p - text));
	else if (top->type != J_OBJ)
		fail("stdout is not a JSON object");
	else
		check_top(top);
	jv_free(top);
}

static void check_top(const struct jv *top)
{
	static const char *const setup_names[] = {
		"setup.socket", "setup.connect peers 1",
		"setup.connect peers 100", "setup.connect peers 1000",
	};
	int setup_seen[4] = { 0 };
	const struct jv *v;

	v = get(top, "tool", J_STR, "top");
	if (v && strcmp(v->str, "ipm-bench"))
		fail("tool is \"%s\"", v->str);
	v = get(top, "version", J_STR, "top");
	if (v && !v->str[0])
		fail("empty version");
	v = get(top, "cpus", J_NUM, "top");
	if (v && v->num < 1)
		fail("cpus %g", v->num);
	get(top, "pinned", J_BOOL, "top");
	v = get(top, "results", J_ARR, "top");
	if (!v)
		return;
	for (size_t i = 0; i < v->n; i++)
		check_result(v->items[i], i, setup_seen);
	for (size_t i = 0; i < 4; i++)
		if (setup_seen[i] != 1)
			fail("%s: %d results, not 1", setup_names[i],
			     setup_seen[i]);
}

int main(int argc, char **argv)
{
	size_t len = 0, cap = 65536;
	char *out = xcalloc(cap, 1);
	int pipefd[2], status;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: %s PROGRAM [ARG]...\n", argv[0]);
		return 2;
	}
	if (pipe(pipefd) < 0) {
		perror("pipe");
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		dup2(pipefd[1], STDOUT_FILENO);
		close(pipefd[0]);
		close(pipefd[1]);
		execv(argv[1], argv + 1);
		fprintf(stderr, "cannot run %s: %s\n", argv[1],
			strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	for (;;) {
		ssize_t n;

		if (len + 1 >= cap) {
			char *bigger = realloc(out, cap * 2);

			if (!bigger) {
				fprintf(stderr, "out of memory\n");
				return 1;
			}
			out = bigger;
			cap *= 2;
		}
		n = read(pipefd[0], out + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	out[len] = '\0';
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail("%s exited with status %d", argv[1],
		     WIFEXITED(status) ? WEXITSTATUS(status) :
		     128 + WTERMSIG(status));
	if (strlen(out) != len)
		fail("NUL byte on stdout");
	check(out);
	if (failures)
		fprintf(stderr, "bench-json-check: stdout was:\n%s\n", out);
	else
		fprintf(stderr, "bench-json-check: OK\n");
	free(out);
	return failures ? 1 : 0;
}
