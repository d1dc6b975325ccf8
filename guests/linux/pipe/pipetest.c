/*
 * pipetest.c -- sends or receives and checks messages through an emhv pipe
 * end under Linux (/dev/emhv-pipe-NAME, emhv_pipe.ko), in the format of
 * guests/pipe_msg.h, so that a Linux VM can talk to another one or to the
 * small guests pipe_send and pipe_recv. Built static on the host.
 *
 *   pipetest send DEV SIZE COUNT SEED [TIMEOUT_MS]
 *   pipetest recv DEV SIZE COUNT SEED [TIMEOUT_MS]
 *   pipetest ping DEV_OUT DEV_IN SIZE COUNT SEED [TIMEOUT_MS]
 *   pipetest pong DEV_IN DEV_OUT SIZE COUNT SEED [TIMEOUT_MS]
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
 *
 * ping and pong time round trips over two pipes, one each way (the small
 * guest ping's client and server): ping writes message i into DEV_OUT and
 * waits for its echo on DEV_IN, one message in flight at a time; pong reads
 * each message from DEV_IN, writes it back unchanged into DEV_OUT and then
 * checks it as recv does; ping checks every byte of the echo the same way.
 * A round trip runs from just before message i's write() to just after the
 * read() of its echo (CLOCK_MONOTONIC): pong's check and ping's lie outside
 * it. Last lines (ping's on one line):
 *   pipetest ping: N round trips of SIZE bytes: median M ns, p1 A ns,
 *     p99 B ns; D bytes differ, O order errors
 *   pipetest pong: N messages echoed; D bytes differ, O order errors
 * (N: the round trips done; M: the middle one, the mean of the middle two
 * of an even N; A and B: the ones ranked ceil(N/100) and ceil(99N/100)
 * from the fastest, the nearest-rank percentiles; all 0 when N is 0).
 *
 * Exit status as the small guests': 0 all sent / all arrived (or came back)
 * intact and in order; 1 some did not; 2 bad arguments, no such device, a
 * refused write (a message larger than the pipe's max_record); 4 a pipe is
 * broken (EIO); 5 nothing moved for TIMEOUT_MS.
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

/*
 * Open DEV and ask the driver what it is; role 0: any. An end that moves
 * data (a role given) waits in poll(), so it does not block, unless
 * TIMEOUT_MS is 0.
 */
static void open_end(struct run *r, int flags, uint32_t role)
{
	r->fd = open(r->dev, flags | (role && r->timeout_ms ? O_NONBLOCK : 0));
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

/* Write one message of len bytes, waiting for room: 0, or an exit status (one line said why). */
static int send_message(const struct run *r, const void *buf, uint64_t len, uint64_t done)
{
	ssize_t n;
	int status;

	/* poll says room for the largest record; a smaller one may fit before that */
	while ((n = write(r->fd, buf, len)) < 0 && errno == EAGAIN)
		if ((status = wait_ready(r, POLLOUT, done)))
			return status;
	if (n < 0)
		return io_failed(r, "write", done);
	if ((uint64_t)n != len)
		die(EXIT_SETUP, "%s: message %llu: wrote %zd of %llu bytes", r->dev,
		    (unsigned long long)done, n, (unsigned long long)len);
	return 0;
}

/* A buffer with room for any record: a longer one than expected is counted, not refused. */
static void *recv_buffer(const struct run *r, size_t *cap)
{
	void *buf;

	*cap = ((r->size > r->info.max_record ? r->size : r->info.max_record) + 7) & ~7ULL;
	buf = aligned_alloc(8, *cap);
	if (!buf)
		die(EXIT_SETUP, "no memory for a %zu-byte buffer", *cap);
	return buf;
}

/* Read the next record into buf, waiting for one: 0 with its length in *len, or an exit status. */
static int recv_message(const struct run *r, void *buf, size_t cap, uint64_t done, uint32_t *len)
{
	ssize_t n;
	int status;

	while ((n = read(r->fd, buf, cap)) < 0 && errno == EAGAIN)
		if ((status = wait_ready(r, POLLIN, done)))
			return status;
	if (n < 0)
		return io_failed(r, "read", done);
	*len = (uint32_t)n;
	return 0;
}

static void *message_buffer(const struct run *r)
{
	void *buf = aligned_alloc(8, (r->size + 7) & ~7ULL);

	if (!buf)
		die(EXIT_SETUP, "no memory for a %llu-byte message", (unsigned long long)r->size);
	return buf;
}

static int do_send(struct run *r)
{
	uint64_t *buf, i, t0, t1;
	int status = 0;

	open_end(r, O_WRONLY, EMHV_PIPE_INFO_ROLE_SEND);
	buf = message_buffer(r);
	t0 = now_ns();
	for (i = 0; i < r->count; i++) {
		msg_fill(buf, r->seed, i, (uint32_t)r->size);
		status = send_message(r, buf, r->size, i);
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

/* A receiving run's exit status: what stopped it, else whether all came intact and in order. */
static int tally_status(int status, const struct tally *t)
{
	if (status)
		return status;
	return t->differ || t->order_errors ? EXIT_DIFFER : 0;
}

static int do_recv(struct run *r)
{
	struct tally t = {0};
	uint64_t t0 = 0, t1, *buf;
	size_t cap;
	uint32_t len;
	int status = 0;

	open_end(r, O_RDONLY, EMHV_PIPE_INFO_ROLE_RECV);
	buf = recv_buffer(r, &cap);
	while (t.messages < r->count) {
		status = recv_message(r, buf, cap, t.messages, &len);
		if (status)
			break;
		if (!t0)
			t0 = now_ns();
		check_message(r, buf, len, &t);
	}
	t1 = now_ns();
	printf("pipetest recv: %llu messages, %llu bytes, %llu KiB/s; %llu bytes differ, "
	       "%llu order errors\n",
	       (unsigned long long)t.messages, (unsigned long long)t.bytes,
	       (unsigned long long)(t0 ? kib_s(t.bytes, t1 - t0) : 0),
	       (unsigned long long)t.differ, (unsigned long long)t.order_errors);
	return tally_status(status, &t);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Of n sorted values: the middle one, the mean of the middle two when n is even; 0 if none. */
static uint64_t median(const uint64_t *v, uint64_t n)
{
	if (!n)
		return 0;
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Of n sorted values: the one ranked ceil(n * pct / 100) (nearest rank); 0 if none. */
static uint64_t percentile(const uint64_t *v, uint64_t n, unsigned pct)
{
	uint64_t rank = (n * pct + 99) / 100;

	return n ? v[rank ? rank - 1 : 0] : 0;
}

/* Message after message out through out, its echo back through in, timed and checked. */
static int do_ping(struct run *out, struct run *in)
{
	struct tally t = {0};
	uint64_t *msg, *echo, *rtt, i, t0;
	size_t cap;
	uint32_t len;
	int status = 0;

	open_end(out, O_WRONLY, EMHV_PIPE_INFO_ROLE_SEND);
	open_end(in, O_RDONLY, EMHV_PIPE_INFO_ROLE_RECV);
	msg = message_buffer(out);
	echo = recv_buffer(in, &cap);
	rtt = calloc(out->count ? out->count : 1, sizeof(*rtt));
	if (!rtt)
		die(EXIT_SETUP, "no memory for %llu round trips", (unsigned long long)out->count);
	for (i = 0; i < out->count; i++) {
		msg_fill(msg, out->seed, i, (uint32_t)out->size);
		t0 = now_ns();
		status = send_message(out, msg, out->size, i);
		if (!status)
			status = recv_message(in, echo, cap, i, &len);
		if (status)
			break;
		rtt[i] = now_ns() - t0;
		check_message(in, echo, len, &t);
	}
	qsort(rtt, i, sizeof(*rtt), cmp_u64);
	printf("pipetest ping: %llu round trips of %llu bytes: median %llu ns, p1 %llu ns, "
	       "p99 %llu ns; %llu bytes differ, %llu order errors\n",
	       (unsigned long long)i, (unsigned long long)out->size,
	       (unsigned long long)median(rtt, i), (unsigned long long)percentile(rtt, i, 1),
	       (unsigned long long)percentile(rtt, i, 99), (unsigned long long)t.differ,
	       (unsigned long long)t.order_errors);
	return tally_status(status, &t);
}

/* Message after message from in, written back through out as it came, then checked. */
static int do_pong(struct run *in, struct run *out)
{
	struct tally t = {0};
	uint64_t *buf, echoed = 0;
	size_t cap;
	uint32_t len;
	int status = 0;

	open_end(in, O_RDONLY, EMHV_PIPE_INFO_ROLE_RECV);
	open_end(out, O_WRONLY, EMHV_PIPE_INFO_ROLE_SEND);
	buf = recv_buffer(in, &cap);
	while (t.messages < in->count) {
		status = recv_message(in, buf, cap, t.messages, &len);
		if (!status)
			status = send_message(out, buf, len, t.messages);
		if (status)
			break;
		echoed++;
		check_message(in, buf, len, &t);
	}
	printf("pipetest pong: %llu messages echoed; %llu bytes differ, %llu order errors\n",
	       (unsigned long long)echoed, (unsigned long long)t.differ,
	       (unsigned long long)t.order_errors);
	return tally_status(status, &t);
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
	      "       pipetest ping DEV_OUT DEV_IN SIZE COUNT SEED [TIMEOUT_MS]\n"
	      "       pipetest pong DEV_IN DEV_OUT SIZE COUNT SEED [TIMEOUT_MS]\n"
	      "       pipetest info|peek DEV\n",
	      stderr);
	exit(EXIT_SETUP);
}

int main(int argc, char **argv)
{
	struct run r = {.timeout_ms = 20000}, r2;
	const char *mode = argc > 1 ? argv[1] : "";
	int ends; /* devices before SIZE */

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && (!strcmp(mode, "info") || !strcmp(mode, "peek"))) {
		r.dev = argv[2];
		return mode[0] == 'i' ? do_info(&r) : do_peek(&r);
	}
	if (!strcmp(mode, "send") || !strcmp(mode, "recv"))
		ends = 1;
	else if (!strcmp(mode, "ping") || !strcmp(mode, "pong"))
		ends = 2;
	else
		usage();
	if (argc != 5 + ends && argc != 6 + ends)
		usage();
	r.dev = argv[2];
	r.size = number("SIZE", argv[2 + ends]);
	r.count = number("COUNT", argv[3 + ends]);
	r.seed = number("SEED", argv[4 + ends]);
	if (argc == 6 + ends)
		r.timeout_ms = (int)number("TIMEOUT_MS", argv[5 + ends]);
	if (r.size < MSG_MIN_SIZE || r.size > UINT32_MAX)
		die(EXIT_SETUP, "SIZE %llu: from %d (the message index) to 4 GiB",
		    (unsigned long long)r.size, MSG_MIN_SIZE);
	if (!strcmp(mode, "send"))
		return do_send(&r);
	if (!strcmp(mode, "recv"))
		return do_recv(&r);
	r2 = r; /* the other end: the same messages */
	r2.dev = argv[3];
	return !strcmp(mode, "ping") ? do_ping(&r, &r2) : do_pong(&r, &r2);
}
