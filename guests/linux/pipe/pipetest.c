/*
 * pipetest.c -- sends or receives and checks messages through an emhv pipe
 * end under Linux (/dev/emhv-pipe-NAME, emhv_pipe.ko), in the format of
 * guests/pipe_msg.h, so that a Linux VM can talk to another one or to the
 * small guests pipe_send and pipe_recv. Built static on the host.
 *
 *   pipetest send DEV SIZE COUNT SEED [TIMEOUT_MS]
 *   pipetest recv DEV SIZE COUNT SEED [TIMEOUT_MS]
 *   pipetest info DEV       the end as the driver's ioctl describes it
 *   pipetest peek DEV       the shared header, read through mmap()
 *
 * send writes COUNT messages of SIZE bytes, one write() each; recv reads
 * them, one read() each, and checks every byte and their order as
 * pipe_recv does. Each waits for the pipe with poll() for at most
 * TIMEOUT_MS (20000) at a time; TIMEOUT_MS 0: blocking read() or write()
 * instead, no poll(), no timeout. The last line of each says what it did:
 *   pipetest send: N messages of SIZE bytes in US us, K KiB/s
 *   pipetest recv: N messages, B bytes, K KiB/s; D bytes differ, O order errors
 * (K: payload KiB/s from the first record to the last, as pipe_recv counts).
 * Exit status as the small guests': 0 all sent / all arrived intact and in
 * order; 1 some did not; 2 bad arguments, no such device, a refused write
 * (a message larger than the pipe's max_record); 4 the pipe is broken (EIO);
 * 5 nothing moved for TIMEOUT_MS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/*
 * The message format itself, shared with the small guests: pipe_msg.h needs
 * only splitmix64 from their runtime.h; its argument helpers are never
 * called here.
 */
#include "pipe_msg.h"
#include "emhv_pipe_uapi.h"

#define EXIT_DIFFER  1
#define EXIT_SETUP   2
#define EXIT_BROKEN  4
#define EXIT_TIMEOUT 5

struct run {
	const char *dev;
	int fd;
	uint64_t size, count, seed;
	int timeout_ms;
	struct emhv_pipe_info info;
};

static __attribute__((noreturn, format(printf, 2, 3))) void die(int status, const char *fmt, ...)
{
	va_list ap;

	fputs("pipetest: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	exit(status);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t kib_s(uint64_t bytes, uint64_t ns)
{
	return ns ? (uint64_t)((double)bytes * 1e9 / (double)ns / 1024) : 0;
}

static uint64_t number(const char *what, const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end)
		die(EXIT_SETUP, "%s '%s': not a number", what, s);
	return v;
}

/* Open DEV and ask the driver what it is; role 0: any. */
static void open_end(struct run *r, int flags, uint32_t role)
{
	r->fd = open(r->dev, flags);
	if (r->fd < 0)
		die(EXIT_SETUP, "%s: %s", r->dev, strerror(errno));
	if (ioctl(r->fd, EMHV_PIPE_IOC_INFO, &r->info))
		die(EXIT_SETUP, "%s: not an emhv pipe end: %s", r->dev, strerror(errno));
	if (role && r->info.role != role)
		die(EXIT_SETUP, "%s: the %s end of pipe '%.16s', not the %s end", r->dev,
		    r->info.role == EMHV_PIPE_INFO_ROLE_SEND ? "send" : "receive", r->info.name,
		    role == EMHV_PIPE_INFO_ROLE_SEND ? "send" : "receive");
}

/* Wait until the end is ready for events: 0, or an exit status (one line said why). */
static int wait_ready(const struct run *r, short events, uint64_t done)
{
	struct pollfd pfd = {.fd = r->fd, .events = events};
	int n = poll(&pfd, 1, r->timeout_ms);

	if (n < 0) {
		printf("pipetest: %s: poll: %s\n", r->dev, strerror(errno));
		return EXIT_SETUP;
	}
	if (n == 0) {
		printf("pipetest: timeout: nothing moved for %d ms after %llu of %llu messages\n",
		       r->timeout_ms, (unsigned long long)done, (unsigned long long)r->count);
		return EXIT_TIMEOUT;
	}
	if (pfd.revents & (POLLERR | POLLHUP)) {
		printf("pipetest: %s: broken pipe (poll: %#x) after %llu messages\n", r->dev,
		       (unsigned)pfd.revents, (unsigned long long)done);
		return EXIT_BROKEN;
	}
	return 0;
}

/* What a failed read() or write() means: an exit status, and one line. */
static int io_failed(const struct run *r, const char *op, uint64_t done)
{
	if (errno == EIO) {
		printf("pipetest: %s: broken pipe (%s: EIO) after %llu messages\n", r->dev, op,
		       (unsigned long long)done);
		return EXIT_BROKEN;
	}
	if (errno == EMSGSIZE && op[0] == 'w')
		printf("pipetest: %s: message %llu of %llu bytes: write: %s (max_record %u)\n",
		       r->dev, (unsigned long long)done, (unsigned long long)r->size,
		       strerror(errno), r->info.max_record);
	else
		printf("pipetest: %s: %s: %s after %llu messages\n", r->dev, op, strerror(errno),
		       (unsigned long long)done);
	return EXIT_SETUP;
}

static int do_send(struct run *r)
{
	uint64_t *buf = aligned_alloc(8, (r->size + 7) & ~7ULL);
	uint64_t i, t0, t1;
	ssize_t n = 0;
	int status = 0;

	open_end(r, O_WRONLY | (r->timeout_ms ? O_NONBLOCK : 0), EMHV_PIPE_INFO_ROLE_SEND);
	if (!buf)
		die(EXIT_SETUP, "no memory for a %llu-byte message", (unsigned long long)r->size);
	t0 = now_ns();
	for (i = 0; i < r->count; i++) {
		msg_fill(buf, r->seed, i, (uint32_t)r->size);
		/* poll says room for the largest record; a smaller one may fit before that */
		while (!status && (n = write(r->fd, buf, r->size)) < 0 && errno == EAGAIN)
			status = wait_ready(r, POLLOUT, i);
		if (!status && n < 0)
			status = io_failed(r, "write", i);
		else if (!status && (uint64_t)n != r->size)
			die(EXIT_SETUP, "%s: message %llu: wrote %zd of %llu bytes", r->dev,
			    (unsigned long long)i, n, (unsigned long long)r->size);
		if (status)
			break;
	}
	t1 = now_ns();
	printf("pipetest send: %llu messages of %llu bytes in %llu us, %llu KiB/s\n",
	       (unsigned long long)i, (unsigned long long)r->size,
	       (unsigned long long)((t1 - t0) / 1000),
	       (unsigned long long)kib_s(i * r->size, t1 - t0));
	return status;
}

struct tally {
	uint64_t next; /* the index the next message should carry */
	uint64_t messages, bytes, differ, order_errors;
};

/* One message's payload of len bytes, checked as pipe_recv checks it. */
static void check_message(const struct run *r, const void *payload, uint32_t len, struct tally *t)
{
	uint64_t ref;

	t->messages++;
	t->bytes += len;
	ref = msg_ref(payload, len, r->count, t->next, &t->order_errors);
	t->differ += msg_bytes_differ(payload, len, r->seed, ref, r->size);
	t->next = ref + 1;
}

static int do_recv(struct run *r)
{
	struct tally t = {0};
	uint64_t t0 = 0, t1, *buf;
	size_t cap;
	ssize_t n;
	int status = 0;

	open_end(r, O_RDONLY | (r->timeout_ms ? O_NONBLOCK : 0), EMHV_PIPE_INFO_ROLE_RECV);
	/* room for any record: a longer one than expected is counted, not refused */
	cap = ((r->size > r->info.max_record ? r->size : r->info.max_record) + 7) & ~7ULL;
	buf = aligned_alloc(8, cap);
	if (!buf)
		die(EXIT_SETUP, "no memory for a %zu-byte buffer", cap);
	while (t.messages < r->count) {
		n = read(r->fd, buf, cap);
		if (n < 0 && errno == EAGAIN)
			status = wait_ready(r, POLLIN, t.messages);
		else if (n < 0)
			status = io_failed(r, "read", t.messages);
		if (status)
			break;
		if (n < 0)
			continue;
		if (!t0)
			t0 = now_ns();
		check_message(r, buf, (uint32_t)n, &t);
	}
	t1 = now_ns();
	printf("pipetest recv: %llu messages, %llu bytes, %llu KiB/s; %llu bytes differ, "
	       "%llu order errors\n",
	       (unsigned long long)t.messages, (unsigned long long)t.bytes,
	       (unsigned long long)(t0 ? kib_s(t.bytes, t1 - t0) : 0),
	       (unsigned long long)t.differ, (unsigned long long)t.order_errors);
	if (status)
		return status;
	return t.differ || t.order_errors ? EXIT_DIFFER : 0;
}

static int do_info(struct run *r)
{
	open_end(r, O_RDONLY, 0);
	printf("pipetest info: %s: %s end of pipe '%.16s', peer VM %u, region %llu bytes, "
	       "data area %llu, max record %u, broken %u\n",
	       r->dev, r->info.role == EMHV_PIPE_INFO_ROLE_SEND ? "send" : "receive", r->info.name,
	       r->info.peer_id, (unsigned long long)r->info.size,
	       (unsigned long long)r->info.data_size, r->info.max_record, r->info.broken);
	return 0;
}

/* The header as the region shows it to a zero-copy user: mmap() of the whole region. */
static int do_peek(struct run *r)
{
	const struct emhv_pipe_header *h;

	open_end(r, O_RDWR, 0);
	h = mmap(NULL, r->info.size, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
	if (h == MAP_FAILED)
		die(EXIT_SETUP, "%s: mmap of %llu bytes: %s", r->dev,
		    (unsigned long long)r->info.size, strerror(errno));
	printf("pipetest peek: magic %#x version %u size %llu data_off %llu data_size %llu "
	       "head %llu tail %llu reserve %llu\n",
	       h->magic, h->version, (unsigned long long)h->size, (unsigned long long)h->data_off,
	       (unsigned long long)h->data_size, (unsigned long long)h->head,
	       (unsigned long long)h->tail, (unsigned long long)h->reserve);
	munmap((void *)h, r->info.size);
	return 0;
}

static void usage(void)
{
	fputs("usage: pipetest send|recv DEV SIZE COUNT SEED [TIMEOUT_MS]\n"
	      "       pipetest info|peek DEV\n",
	      stderr);
	exit(EXIT_SETUP);
}

int main(int argc, char **argv)
{
	struct run r = {.timeout_ms = 20000};
	bool send;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && (!strcmp(argv[1], "info") || !strcmp(argv[1], "peek"))) {
		r.dev = argv[2];
		return argv[1][0] == 'i' ? do_info(&r) : do_peek(&r);
	}
	if ((argc != 6 && argc != 7) || (strcmp(argv[1], "send") && strcmp(argv[1], "recv")))
		usage();
	send = !strcmp(argv[1], "send");
	r.dev = argv[2];
	r.size = number("SIZE", argv[3]);
	r.count = number("COUNT", argv[4]);
	r.seed = number("SEED", argv[5]);
	if (argc == 7)
		r.timeout_ms = (int)number("TIMEOUT_MS", argv[6]);
	if (r.size < MSG_MIN_SIZE || r.size > UINT32_MAX)
		die(EXIT_SETUP, "SIZE %llu: from %d (the message index) to 4 GiB",
		    (unsigned long long)r.size, MSG_MIN_SIZE);
	return send ? do_send(&r) : do_recv(&r);
}
