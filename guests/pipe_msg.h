/*
 * pipe_msg.h -- what pipe_send, pipe_recv and ping agree on: the payload of
 * each message, how a received one is checked, and the arguments all take.
 *
 * Message i of size bytes (size >= 8): bytes 0-7 are i (little-endian u64);
 * byte j >= 8 is byte j % 8 of msg_word(msg_key(seed, i), j / 8).
 */
#ifndef GUEST_PIPE_MSG_H
#define GUEST_PIPE_MSG_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "runtime.h"
#include "pipe_end.h"

#define MSG_MIN_SIZE 8 /* room for the index */

static inline uint64_t msg_key(uint64_t seed, uint64_t i)
{
	return splitmix64(seed * 1000003 + i);
}

static inline uint64_t msg_word(uint64_t key, uint64_t w)
{
	return splitmix64(key + w);
}

/* Write message i's size bytes at dst (8-byte aligned, as every record's payload is). */
static inline void msg_fill(void *dst, uint64_t seed, uint64_t i, uint32_t size)
{
	uint64_t *w = dst, key = msg_key(seed, i), v;
	uint32_t n = size / 8;

	w[0] = i;
	for (uint32_t k = 1; k < n; k++)
		w[k] = msg_word(key, k);
	if (size % 8) {
		v = msg_word(key, n);
		memcpy(&w[n], &v, size % 8);
	}
}

static inline unsigned msg_nonzero_bytes(uint64_t x)
{
	unsigned n = 0;

	for (; x; x >>= 8)
		n += (x & 0xff) != 0;
	return n;
}

/* Bytes 8..len-1 of src that differ from message i's (len <= its size; the index is apart). */
static inline uint64_t msg_differ(const void *src, uint64_t seed, uint64_t i, uint32_t len)
{
	const uint64_t *w = src;
	uint64_t key = msg_key(seed, i), differ = 0, v;
	uint32_t n = len / 8;

	for (uint32_t k = 1; k < n; k++)
		differ += msg_nonzero_bytes(w[k] ^ msg_word(key, k));
	if (len % 8 && n) {
		v = 0;
		memcpy(&v, &w[n], len % 8);
		/* the bytes beyond len are zero in v and masked off in the expected word */
		differ += msg_nonzero_bytes(v ^ (msg_word(key, n) & ((1ULL << 8 * (len % 8)) - 1)));
	}
	return differ;
}

/*
 * Bytes of a payload of len bytes that differ from message ref of size bytes:
 * those of the index that are not ref, the rest byte by byte, and a wrong
 * length's missing or extra bytes (all of a payload too short for the index).
 */
static inline uint64_t msg_bytes_differ(const void *payload, uint32_t len, uint64_t seed,
					uint64_t ref, uint64_t size)
{
	uint64_t differ = len > size ? len - size : size - len;

	if (len < MSG_MIN_SIZE)
		return differ + len;
	differ += msg_nonzero_bytes(*(const uint64_t *)payload ^ ref);
	return differ + msg_differ(payload, seed, ref, len < size ? len : (uint32_t)size);
}

/*
 * The message a received one of len bytes is checked against: the index it carries when inside the
 * run of count messages, else the one due (next). One with no room for an index, or carrying another
 * index than next, is an order error (*order_errors counts it).
 */
static inline uint64_t msg_ref(const void *payload, uint32_t len, uint64_t count, uint64_t next,
			       uint64_t *order_errors)
{
	uint64_t idx;

	if (len < MSG_MIN_SIZE) {
		(*order_errors)++;
		return next;
	}
	idx = *(const uint64_t *)payload;
	if (idx != next)
		(*order_errors)++;
	return idx < count ? idx : next;
}

/* ---- the arguments the pipe programs take ---- */

#define MSG_ARG_KEYS "size", "count", "seed", "wait", "timeout_ms", "copy"

struct msg_args {
	uint64_t size, count, seed, timeout_ms;
	bool irq; /* wait=irq */
	/*
	 * copy=1: message i is message 0's bytes with i in its first word. The sender copies them
	 * from one buffer with memcpy (a sender whose data is ready); the receiver takes each where
	 * it lies and checks its index, length and last word only (a zero-copy consumer). What the
	 * pipe itself costs, against a memcpy of the same bytes. copy=0: every byte computed and
	 * checked.
	 */
	bool copy;
	uint8_t *ref; /* copy=1: message 0 */
};

/* size=, count=, seed=, wait=poll|irq, timeout_ms=; a bad value exits with one line (status 2). */
static inline void msg_parse_args(int argc, char **argv, struct msg_args *a)
{
	const char *wait = arg_str(argc, argv, "wait", "poll");

	a->size = arg_u64(argc, argv, "size", 64);
	a->count = arg_u64(argc, argv, "count", 1000);
	a->seed = arg_u64(argc, argv, "seed", 1);
	a->timeout_ms = arg_u64(argc, argv, "timeout_ms", 20000);
	a->irq = !strcmp(wait, "irq");
	a->copy = arg_flag(argc, argv, "copy", false);
	a->ref = NULL;
	if (!a->irq && strcmp(wait, "poll")) {
		printf("error: wait=%s: poll or irq\n", wait);
		hc_exit(PIPE_EXIT_SETUP);
	}
	if (a->size < MSG_MIN_SIZE) {
		printf("error: size=%llu: at least %d (the message index)\n",
		       (unsigned long long)a->size, MSG_MIN_SIZE);
		hc_exit(PIPE_EXIT_SETUP);
	}
	if (a->copy) {
		a->ref = free_region(a->size);
		msg_fill(a->ref, a->seed, 0, (uint32_t)a->size);
	}
}

/* Once the pipe is open: size must fit a record of its data area. */
static inline void msg_check_size(const struct pipe_end *p, const struct msg_args *a)
{
	uint32_t max = EMHV_PIPE_MAX_RECORD(p->data_size);

	if (a->size > max) {
		printf("error: size=%llu: at most %u for this pipe's %llu-byte data area\n",
		       (unsigned long long)a->size, (unsigned)max,
		       (unsigned long long)p->data_size);
		hc_exit(PIPE_EXIT_SETUP);
	}
}

#endif
