/* SPDX-License-Identifier: MIT */
/*
 * bench-json-check [--only PREFIX]... [--vm-n N] PROGRAM [ARG]...: run
 * PROGRAM (ipm-bench --json ...) and check that it exits 0 and that its
 * stdout is exactly one JSON object of the structure of docs/bench-json.md,
 * with every figure it requires (once per size and peer count, in the
 * right unit, with its ratio to its baseline where ipm-bench gives one)
 * and the four targets.
 *
 *   --only PREFIX  PROGRAM ran with these --only: only the required figures
 *                  whose names start with one must be there, and a target
 *                  missing one of its figures may have no ratio
 *   --vm-n N       the VM figures (rtt.vm.*) must be there too, each with
 *                  n = N round trips; without it they are checked only when
 *                  present
 *
 * Its stderr is passed through. Exit 0 when all is well; when PROGRAM
 * exits 77 (asked for VM figures that cannot run here) so do we, except
 * under CI (CI set and non-empty), where that fails, as the VM tests do.
 */
#include <errno.h>
#include <getopt.h>
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

#define MAX_ONLY 32
static const char *only[MAX_ONLY];
static int nonly;
static long vm_n;           /* --vm-n: > 0 when the VM figures must be there */

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

/* A figure that must be present exactly once. */
struct need {
	const char *name;
	double size;
	double peers;           /* < 0: no peer count */
	int latency;            /* unit "ns", else "MB/s" */
	const char *baseline;   /* its "baseline", or NULL: none required */
	const char *baseline2;  /* its "baseline2", or NULL */
	int vm;                 /* a VM figure: required with --vm-n only */
	int seen;
};

#define LAT(n, s, b) { n, s, -1, 1, b, NULL, 0, 0 }
#define LAT2(n, s, b, b2) { n, s, -1, 1, b, b2, 0, 0 }
#define TPUT(n, s, b, b2) { n, s, -1, 0, b, b2, 0, 0 }
#define PEERS(n, p, b) { n, 0, p, 1, b, NULL, 0, 0 }
/* Their baseline is required when it was measured: see check_need(). */
#define VM(n) { n, 0, -1, 1, "rtt.doorbell", NULL, 1, 0 }

static struct need needs[] = {
	LAT("rtt.eventfd", 0, NULL),
	LAT("rtt.spin", 64, NULL),
	/* The floor of a checked message: what the mailbox is set against. */
	LAT("rtt.spin.checked", 64, "rtt.spin"),
	LAT("rtt.socketpair", 64, NULL),
	LAT("rtt.pipe", 64, NULL),
	LAT("rtt.doorbell", 0, "rtt.eventfd"),
	LAT("rtt.mailbox.block", 64, "rtt.eventfd"),
	LAT2("rtt.mailbox.poll", 64, "rtt.spin", "rtt.spin.checked"),
	/* Integrity off: its cost is the ratio to the figure above. */
	LAT2("rtt.mailbox.block.nocheck", 64, "rtt.eventfd",
	     "rtt.mailbox.block"),
	LAT2("rtt.mailbox.poll.nocheck", 64, "rtt.spin", "rtt.mailbox.poll"),
	TPUT("tput.memcpy", 64, NULL, NULL),
	TPUT("tput.memcpy", 4096, NULL, NULL),
	TPUT("tput.memcpy", 65536, NULL, NULL),
	TPUT("tput.memcpy", 1048576, NULL, NULL),
	TPUT("tput.memcpy.window", 64, NULL, NULL),
	TPUT("tput.memcpy.window", 4096, NULL, NULL),
	TPUT("tput.memcpy.window", 65536, NULL, NULL),
	TPUT("tput.memcpy.window", 1048576, NULL, NULL),
	TPUT("tput.socketpair", 64, NULL, NULL),
	TPUT("tput.socketpair", 4096, NULL, NULL),
	TPUT("tput.socketpair", 65536, NULL, NULL),
	TPUT("tput.socketpair", 1048576, NULL, NULL),
	TPUT("tput.mailbox", 64, "tput.memcpy", "tput.socketpair"),
	TPUT("tput.mailbox", 4096, "tput.memcpy", "tput.socketpair"),
	TPUT("tput.mailbox", 65536, "tput.memcpy", "tput.socketpair"),
	TPUT("tput.mailbox", 1048576, "tput.memcpy", "tput.socketpair"),
	TPUT("tput.mailbox.nocheck", 64, "tput.memcpy", "tput.mailbox"),
	TPUT("tput.mailbox.nocheck", 1048576, "tput.memcpy", "tput.mailbox"),
	/* The zero-copy send: the copy's cost is the ratio to tput.mailbox. */
	TPUT("tput.mailbox.loan", 65536, "tput.memcpy", "tput.mailbox"),
	TPUT("tput.mailbox.loan", 1048576, "tput.memcpy", "tput.mailbox"),
	LAT("setup.socket", 0, NULL),
	PEERS("setup.connect", 1, "setup.socket"),
	PEERS("setup.connect", 100, "setup.socket"),
	PEERS("setup.connect", 1000, "setup.socket"),
	PEERS("fanout.doorbell", 1, NULL),
	PEERS("fanout.doorbell", 4, NULL),
	PEERS("fanout.doorbell", 16, NULL),
	/* N senders into one receiver (and the most the default region
	 * holds, a count of its own: not required). */
	{ "fanin.mailbox", 64, 1, 0, NULL, NULL, 0, 0 },
	{ "fanin.mailbox", 64, 4, 0, NULL, NULL, 0, 0 },
	{ "fanin.mailbox", 64, 16, 0, NULL, NULL, 0, 0 },
	VM("rtt.vm.guest-guest.aarch64"),
	VM("rtt.vm.guest-host.aarch64"),
	VM("rtt.vm.guest-host.x86_64"),
};

#define NNEEDS (sizeof(needs) / sizeof(needs[0]))

/* The targets of bench-json.md, in the order ipm-bench prints them. */
static const struct { const char *name; double size; const char *base; }
targets[] = {
	{ "rtt.mailbox.block", 64, "rtt.eventfd" },
	{ "rtt.mailbox.poll", 64, "rtt.spin" },
	{ "tput.mailbox", 64, "tput.socketpair" },
	{ "tput.mailbox", 1048576, "tput.memcpy" },
};

#define NTARGETS (sizeof(targets) / sizeof(targets[0]))

#define VM_PREFIX "rtt.vm."

/* Does the run include 'name' (--only)? */
static int selected(const char *name)
{
	for (int i = 0; i < nonly; i++)
		if (!strncmp(name, only[i], strlen(only[i])))
			return 1;
	return !nonly;
}

static int required(const struct need *n)
{
	return selected(n->name) && (!n->vm || vm_n > 0);
}

/* Is a figure of this name among the results? */
static int present(const struct jv *results, const char *name)
{
	for (size_t i = 0; i < results->n; i++) {
		const struct jv *r = results->items[i];

		for (size_t k = 0; r->type == J_OBJ && k < r->n; k++)
			if (!strcmp(r->keys[k], "name") &&
			    r->items[k]->type == J_STR &&
			    !strcmp(r->items[k]->str, name))
				return 1;
	}
	return 0;
}

static const struct jv *all_results;

static void check_baseline(const struct jv *r, const char *where,
			   const char *rkey, const char *bkey,
			   const char *want)
{
	const struct jv *v;

	if (!want)
		return;
	get(r, rkey, J_NUM, where);
	v = get(r, bkey, J_STR, where);
	if (v && strcmp(v->str, want))
		fail("%s: %s \"%s\", not \"%s\"", where, bkey, v->str, want);
}

static void check_need(const struct jv *r, const char *where,
		       const char *name, const char *unit, double size)
{
	const struct jv *peers = NULL;

	if (has(r, "peers"))
		peers = get(r, "peers", J_NUM, where);
	for (size_t i = 0; i < NNEEDS; i++) {
		struct need *n = &needs[i];

		if (strcmp(n->name, name) || n->size != size)
			continue;
		if (n->peers >= 0 && (!peers || peers->num != n->peers))
			continue;
		n->seen++;
		if (strcmp(unit, n->latency ? "ns" : "MB/s"))
			fail("%s: unit \"%s\"", where, unit);
		if (n->peers >= 0 && !peers)
			fail("%s: no \"peers\"", where);
		if (!n->vm || present(all_results, n->baseline))
			check_baseline(r, where, "ratio", "baseline",
				       n->baseline);
		check_baseline(r, where, "ratio2", "baseline2", n->baseline2);
	}
}

/*
 * A VM figure: the guests' architecture in "arch" and as the name's last
 * part, "accel", positive times, n as asked.
 */
static void check_vm(const struct jv *r, const char *where, const char *name)
{
	const char *arch = strrchr(name, '.') + 1;
	const struct jv *v;

	v = get(r, "arch", J_STR, where);
	if (v && strcmp(v->str, arch))
		fail("%s: arch \"%s\", the name says \"%s\"", where, v->str,
		     arch);
	v = get(r, "accel", J_STR, where);
	if (v && !v->str[0])
		fail("%s: empty accel", where);
	v = get(r, "p50", J_NUM, where);
	if (v && !(v->num > 0))
		fail("%s: p50 %g", where, v->num);
	v = get(r, "n", J_NUM, where);
	if (v && vm_n > 0 && v->num != (double)vm_n)
		fail("%s: n %g, not the %ld round trips asked for", where,
		     v->num, vm_n);
}

/* Percentiles in order. */
static void check_order(const struct jv *r, const char *where)
{
	const struct jv *p50, *p99, *max;

	if (!has(r, "p50") || !has(r, "p99") || !has(r, "max"))
		return;
	p50 = get(r, "p50", J_NUM, where);
	p99 = get(r, "p99", J_NUM, where);
	max = get(r, "max", J_NUM, where);
	if (p50 && p99 && max && !(p50->num <= p99->num &&
				   p99->num <= max->num))
		fail("%s: p50 %g, p99 %g, max %g out of order", where,
		     p50->num, p99->num, max->num);
}

static void check_result(const struct jv *r, size_t idx)
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
	snprintf(where, sizeof(where), "results[%zu] (%s %g)", idx, name->str,
		 v->num);
	if (v->num < 0)
		fail("%s: negative size", where);
	check_need(r, where, name->str, unit->str, v->num);
	if (!strcmp(unit->str, "ns")) {
		for (size_t i = 0; i < 4; i++) {
			v = get(r, lat[i], J_NUM, where);
			if (v && v->num < 0)
				fail("%s: negative %s", where, lat[i]);
		}
		v = get(r, "n", J_NUM, where);
		if (v && v->num < 1)
			fail("%s: no samples", where);
		check_order(r, where);
		if (!strncmp(name->str, VM_PREFIX, strlen(VM_PREFIX)))
			check_vm(r, where, name->str);
	} else if (!strcmp(unit->str, "MB/s")) {
		for (size_t i = 0; i < 2; i++) {
			v = get(r, tput[i], J_NUM, where);
			if (v && !(v->num > 0))
				fail("%s: %s is not positive", where, tput[i]);
		}
	} else {
		fail("%s: unknown unit \"%s\"", where, unit->str);
	}
}

static void check_targets(const struct jv *top)
{
	const struct jv *arr = get(top, "targets", J_ARR, "top"), *v;

	if (!arr)
		return;
	if (arr->n != NTARGETS) {
		fail("%zu targets, not %zu", arr->n, NTARGETS);
		return;
	}
	for (size_t i = 0; i < NTARGETS; i++) {
		const struct jv *t = arr->items[i];
		char where[64];

		snprintf(where, sizeof(where), "targets[%zu]", i);
		if (t->type != J_OBJ) {
			fail("%s is not an object", where);
			continue;
		}
		v = get(t, "name", J_STR, where);
		if (v && strcmp(v->str, targets[i].name))
			fail("%s: name \"%s\"", where, v->str);
		v = get(t, "size", J_NUM, where);
		if (v && v->num != targets[i].size)
			fail("%s: size %g", where, v->num);
		v = get(t, "baseline", J_STR, where);
		if (v && strcmp(v->str, targets[i].base))
			fail("%s: baseline \"%s\"", where, v->str);
		get(t, "target", J_NUM, where);
		get(t, "op", J_STR, where);
		/* Not measured in a run with --only: null, null. */
		if (!selected(targets[i].name) || !selected(targets[i].base)) {
			if (has(t, "ratio") && has(t, "pass"))
				continue;
			fail("%s: no ratio or no pass", where);
			continue;
		}
		v = get(t, "ratio", J_NUM, where);
		if (v && !(v->num > 0))
			fail("%s: ratio %g", where, v->num);
		get(t, "pass", J_BOOL, where);
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
	all_results = v;
	for (size_t i = 0; i < v->n; i++)
		check_result(v->items[i], i);
	for (size_t i = 0; i < NNEEDS; i++) {
		if (needs[i].seen == 1 ||
		    (!required(&needs[i]) && !needs[i].seen))
			continue;
		if (needs[i].peers >= 0)
			fail("%s peers %g: %d results, not 1", needs[i].name,
			     needs[i].peers, needs[i].seen);
		else
			fail("%s size %g: %d results, not 1", needs[i].name,
			     needs[i].size, needs[i].seen);
	}
	check_targets(top);
}

/* PROGRAM could not run here (77): skip, or fail under CI. */
static int skipped(const char *prog)
{
	const char *ci = getenv("CI");

	if (ci && *ci) {
		fprintf(stderr, "bench-json-check: FAIL (CI is set): %s cannot "
			"run its figures here (exit 77)\n", prog);
		return 1;
	}
	fprintf(stderr, "bench-json-check: SKIP: %s cannot run its figures "
		"here (exit 77)\n", prog);
	return 77;
}

static int options(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "only", required_argument, NULL, 'o' },
		{ "vm-n", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	/* '+': PROGRAM's own options are not ours. */
	while ((opt = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (opt) {
		case 'o':
			if (nonly == MAX_ONLY)
				goto usage;
			only[nonly++] = optarg;
			break;
		case 'n':
			vm_n = atol(optarg);
			if (vm_n < 1)
				goto usage;
			break;
		default:
			goto usage;
		}
	}
	if (optind < argc)
		return optind;
usage:
	fprintf(stderr, "usage: %s [--only PREFIX]... [--vm-n N] PROGRAM "
		"[ARG]...\n", argv[0]);
	return -1;
}

int main(int argc, char **argv)
{
	size_t len = 0, cap = 65536;
	char *out = xcalloc(cap, 1);
	int pipefd[2], status;
	pid_t pid;
	int first = options(argc, argv);

	if (first < 0)
		return 2;
	argv += first;
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
		execv(argv[0], argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0],
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
	if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
		free(out);
		return skipped(argv[0]);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail("%s exited with status %d", argv[0],
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
