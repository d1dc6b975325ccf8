/*
 * pipe_recv.c -- the receiving end of an emhv pipe: takes count messages
 * (pipe_msg.h), checks every byte of them and their order, and measures the
 * rate. Every record is checked against the header before it is read: a
 * head that went back or puts more than the data area in flight, unknown
 * flags, a record longer than the bytes in flight or running past the end
 * of the data area, a skip record short of the end: the pipe is broken.
 *
 * Arguments: size=BYTES (64), count=N (1000), seed=N (1): what the sender
 *   sends; wait=poll|irq (poll: spin on head; irq: set recv_waiting and
 *   sleep until an event); timeout_ms=N (20000: the longest wait for a
 *   record; more than the sender's pause_ms);
 *   copy=1 (0): the sender copies message 0's bytes into each (pipe_msg.h):
 *   check each in place by its index, length and last word only;
 *   memcpy=1 (0): before the first record, time the same payload bytes
 *   (size x count) copied with memcpy from one buffer of the guest's own
 *   memory to another, message by message (memcpy_kib_s below).
 *
 * Results: messages (records taken, skip records not counted), bytes (their
 * payload bytes), differ (bytes not as sent, a wrong length's missing or
 * extra bytes included), order_errors (messages whose index was not the
 * next one), broken (1 if the header broke), kib_s (payload KiB/s from the
 * first record seen to the last), events (events taken from the events
 * queue), interrupts (virtio interrupts handled), waits (times the pipe
 * was found empty); with memcpy=1 memcpy_kib_s (the same bytes by memcpy,
 * KiB/s by the same clock, for comparison with kib_s).
 * Exit status: 0 every message arrived intact and in order; 1 some did not;
 * 2 bad arguments or no usable device; 3 a bad region; 4 broken pipe;
 * 5 nothing arrived for timeout_ms.
 */
#include "runtime.h"
#include "pipe_end.h"
#include "pipe_msg.h"

static const char *const known_args[] = {MSG_ARG_KEYS, "memcpy", NULL};

static struct pipe_end pipe;

struct tally {
	uint64_t next; /* the index the next message should carry */
	uint64_t messages, bytes, differ, order_errors;
};

/* One message's payload of len bytes. */
static void check_message(const uint8_t *payload, uint32_t len, const struct msg_args *a,
			  struct tally *t)
{
	uint64_t ref;

	t->messages++;
	t->bytes += len;
	ref = msg_ref(payload, len, a->count, t->next, &t->order_errors);
	if (len >= MSG_MIN_SIZE && a->copy && len == a->size) /* in place: its last word (the index is checked above) */
		t->differ += msg_nonzero_bytes(*(const uint64_t *)(payload + len - 8) ^
					       *(const uint64_t *)(a->ref + len - 8));
	else if (len >= MSG_MIN_SIZE && a->copy)
		t->differ += len > a->size ? len - a->size : a->size - len;
	else
		t->differ += msg_bytes_differ(payload, len, a->seed, ref, a->size);
	t->next = ref + 1;
}

/* Take the records up to the head last read (no more than are due); PIPE_READY or PIPE_BROKEN. */
static int take_records(struct pipe_end *p, const struct msg_args *a, struct tally *t)
{
	const void *payload;
	uint32_t len;
	int r = 0;

	while (t->messages < a->count && (r = pipe_record_next(p, &payload, &len)) == PIPE_READY) {
		check_message(payload, len, a, t);
		pipe_record_take(p);
	}
	if (r == PIPE_BROKEN)
		return PIPE_BROKEN;
	return pipe_wake(p) ? PIPE_BROKEN : PIPE_READY;
}

/*
 * memcpy=1: the same bytes through the guest's own memory, for comparison:
 * count messages of size bytes copied from one buffer to another, each as
 * long as the pipe's data area and touched first, at the places records of
 * that size take in it; KiB/s by the clock kib_s uses.
 */
static uint64_t memcpy_kib_s(const struct pipe_end *p, const struct msg_args *a)
{
	uint64_t stride = EMHV_PIPE_RECORD_BYTES(a->size), buf = p->data_size, off = 0, t0, t1;
	uint64_t ref = a->copy ? align_up(a->size, 4096) : 0; /* the region's start holds a->ref */
	uint8_t *src = (uint8_t *)free_region(ref + 2 * buf) + ref, *dst = src + buf;

	memset(src, 0x5a, buf);
	memset(dst, 0, buf);
	t0 = tsc_read();
	for (uint64_t i = 0; i < a->count; i++) {
		memcpy(dst + off + sizeof(struct emhv_pipe_record),
		       src + off + sizeof(struct emhv_pipe_record), a->size);
		off += stride;
		if (off + stride > buf)
			off = 0;
	}
	__asm__ volatile("" ::: "memory"); /* the copies are done before the clock is read */
	t1 = tsc_read();
	return tsc_rate(a->count * a->size, t1 - t0) / KIB;
}

static void report(const struct pipe_end *p, const struct tally *t, bool broken, uint64_t kib_s)
{
	hc_result("messages", (int64_t)t->messages);
	hc_result("bytes", (int64_t)t->bytes);
	hc_result("differ", (int64_t)t->differ);
	hc_result("order_errors", (int64_t)t->order_errors);
	hc_result("broken", broken);
	hc_result("kib_s", (int64_t)kib_s);
	hc_result("events", (int64_t)p->events);
	hc_result("interrupts", (int64_t)p->dev.interrupts);
	hc_result("waits", (int64_t)p->waits);
}

int main(int argc, char **argv)
{
	struct msg_args a;
	struct tally t = {0};
	uint64_t t0 = 0, t1, kib_s, memcpy_rate;
	bool with_memcpy;
	int ret = PIPE_READY;

	arg_check(argc, argv, known_args);
	msg_parse_args(argc, argv, &a);
	with_memcpy = arg_flag(argc, argv, "memcpy", false);
	pipe_open(&pipe, "pipe_recv", EMHV_PIPE_ROLE_RECV, a.irq, a.timeout_ms);
	msg_check_size(&pipe, &a);
	if (with_memcpy) {
		memcpy_rate = memcpy_kib_s(&pipe, &a);
		hc_result("memcpy_kib_s", (int64_t)memcpy_rate);
		printf("pipe_recv: memcpy of %llu messages of %llu bytes: %llu KiB/s\n",
		       (unsigned long long)a.count, (unsigned long long)a.size,
		       (unsigned long long)memcpy_rate);
	}

	while (t.messages < a.count) {
		/* one byte is enough to look: a record shorter than its header breaks the pipe */
		ret = pipe_wait(&pipe, 1);
		if (ret != PIPE_READY)
			break;
		if (!t0)
			t0 = tsc_read();
		ret = take_records(&pipe, &a, &t);
		if (ret != PIPE_READY)
			break;
	}
	t1 = tsc_read();
	kib_s = t0 ? tsc_rate(t.bytes, t1 - t0) / KIB : 0;
	report(&pipe, &t, ret == PIPE_BROKEN, kib_s);
	if (ret == PIPE_TIMEOUT)
		printf("pipe_recv: timeout: nothing new for %llu ms after %llu of %llu messages "
		       "(head %llu, tail %llu)\n",
		       (unsigned long long)a.timeout_ms, (unsigned long long)t.messages,
		       (unsigned long long)a.count, (unsigned long long)pipe.peer,
		       (unsigned long long)pipe.own);
	printf("pipe_recv: %llu messages, %llu bytes, %llu KiB/s; %llu bytes differ, %llu order "
	       "errors; %llu events, %llu interrupts, %llu waits\n",
	       (unsigned long long)t.messages, (unsigned long long)t.bytes,
	       (unsigned long long)kib_s, (unsigned long long)t.differ,
	       (unsigned long long)t.order_errors, (unsigned long long)pipe.events,
	       (unsigned long long)pipe.dev.interrupts, (unsigned long long)pipe.waits);
	if (ret != PIPE_READY)
		return ret == PIPE_TIMEOUT ? PIPE_EXIT_TIMEOUT : PIPE_EXIT_BROKEN;
	return t.differ || t.order_errors ? 1 : 0;
}
