/*
 * pipe_send.c -- the sending end of an emhv pipe: count messages of size
 * bytes (pipe_msg.h), each one record, as fast as the receiver takes them.
 *
 * Arguments: size=BYTES (64; 8 up to EMHV_PIPE_MAX_RECORD of the data area),
 *   count=N (1000), seed=N (1), timeout_ms=N (20000: the longest wait for
 *   room), wait=poll|irq (poll: spin on tail; irq: set send_waiting and
 *   sleep until an event),
 *   copy=1 (0): each message copied from one buffer with memcpy (pipe_msg.h)
 *   pause_ms=N  after count/2 messages stop for N ms (the receiver drains
 *               the pipe meanwhile: a test watches the region shrink)
 *   beyond=1    after count/2 messages (and the pause) write the byte just
 *               past the region, in its window: the hypervisor must stop this
 *               VM there and leave the receiver's view alone
 *   hostile=1   after count/2 messages (and the pause) break the pipe on
 *               purpose: an absurd record, garbage in head, send_waiting and
 *               the receiver's tail, a flood of notifications; then exit 0
 *
 * A message costs no exit when the receiver polls: a notification goes out
 * only when the receiver said it waits (recv_waiting).
 *
 * Results: messages, bytes (payload bytes sent), waits (times the pipe was
 * full), notifies (events sent), events (events received); paused (1 during
 * pause_ms), hostile (1 once the hostile act begins).
 * Exit status: 0; 2 bad arguments or no usable device; 3 a bad region;
 * 4 the receiver broke the header; 5 no room for timeout_ms.
 */
#include "runtime.h"
#include "pipe_end.h"
#include "pipe_msg.h"

#define HOSTILE_NOTIFIES 100000
#define HOSTILE_LEN	 0xfffffff0u /* a record length beyond any data area */

static const char *const known_args[] = {MSG_ARG_KEYS, "pause_ms", "hostile", "beyond", NULL};

static struct pipe_end pipe;

/* Message i: wait for room, write it (a skip record first at the wrap), publish, wake. */
static int send_message(struct pipe_end *p, const struct msg_args *a, uint64_t i)
{
	void *payload;
	int ret = pipe_record_begin(p, (uint32_t)a->size, &payload);

	if (ret != PIPE_READY)
		return ret;
	if (a->copy) {
		memcpy(payload, a->ref, a->size);
		*(uint64_t *)payload = i;
	} else {
		msg_fill(payload, a->seed, i, (uint32_t)a->size);
	}
	return pipe_record_publish(p);
}

/* What a broken or malicious sender may do; the receiver must report it, not trip over it. */
static void act_hostile(struct pipe_end *p)
{
	struct emhv_pipe_header *h = p->hdr;
	uint64_t head = p->own, sent = 0;

	hc_result("hostile", 1);
	printf("pipe_send: hostile: an absurd record, garbage in the header, %d notifications\n",
	       HOSTILE_NOTIFIES);
	*pipe_record_at(p, head) = (struct emhv_pipe_record){HOSTILE_LEN, 0};
	pipe_advance(p, head + EMHV_PIPE_RECORD_BYTES(0));
	h->send_waiting = 0xdeadbeef;
	h->tail = splitmix64(head) | 1ULL << 63; /* the receiver's: it must not trust it */
	h->head = splitmix64(head + 1);
	for (int n = 0; n < HOSTILE_NOTIFIES; n++) {
		/* no buffer to spare: knock anyway */
		if (pipe_send_event(p, EMHV_PIPE_EV_DATA, false))
			virtio_notify(&p->dev, EMHV_PIPE_Q_NOTIFY);
		else
			sent++;
	}
	printf("pipe_send: hostile: %llu events sent, %llu bare notifications\n",
	       (unsigned long long)sent, (unsigned long long)(HOSTILE_NOTIFIES - sent));
}

static void report(const struct pipe_end *p, uint64_t messages, uint64_t size)
{
	hc_result("messages", (int64_t)messages);
	hc_result("bytes", (int64_t)(messages * size));
	hc_result("waits", (int64_t)p->waits);
	hc_result("notifies", (int64_t)p->notifies);
	hc_result("events", (int64_t)p->events);
}

int main(int argc, char **argv)
{
	struct msg_args a;
	uint64_t pause_ms, i, t0, t1;
	bool hostile, beyond;
	int ret = PIPE_READY;

	arg_check(argc, argv, known_args);
	msg_parse_args(argc, argv, &a);
	pause_ms = arg_u64(argc, argv, "pause_ms", 0);
	hostile = arg_flag(argc, argv, "hostile", false);
	beyond = arg_flag(argc, argv, "beyond", false);
	pipe_open(&pipe, "pipe_send", EMHV_PIPE_ROLE_SEND, a.irq, a.timeout_ms);
	msg_check_size(&pipe, &a);

	t0 = tsc_read();
	for (i = 0; i < a.count; i++) {
		if (i == a.count / 2 && pause_ms) {
			report(&pipe, i, a.size);
			hc_result("paused", 1);
			sleep_us(pause_ms * 1000);
			hc_result("paused", 0);
		}
		if (i == a.count / 2 && beyond) {
			report(&pipe, i, a.size);
			printf("pipe_send: beyond: writing at 0x%llx, just past the %llu-byte region\n",
			       (unsigned long long)((uintptr_t)pipe.hdr + pipe.cfg.size), (unsigned long long)pipe.cfg.size);
			*((volatile uint8_t *)pipe.hdr + pipe.cfg.size) = 1;
			printf("pipe_send: beyond: the write went through\n");
			return 0;
		}
		if (i == a.count / 2 && hostile) {
			report(&pipe, i, a.size);
			act_hostile(&pipe);
			return 0;
		}
		ret = send_message(&pipe, &a, i);
		if (ret != PIPE_READY)
			break;
	}
	t1 = tsc_read();
	report(&pipe, i, a.size);
	if (ret == PIPE_TIMEOUT)
		printf("pipe_send: timeout: no room for message %llu in %llu ms "
		       "(head %llu, tail %llu)\n",
		       (unsigned long long)i, (unsigned long long)a.timeout_ms,
		       (unsigned long long)pipe.own, (unsigned long long)pipe.peer);
	printf("pipe_send: %llu messages of %llu bytes in %llu us, "
	       "%llu waits, %llu notifies, %llu events\n",
	       (unsigned long long)i, (unsigned long long)a.size,
	       (unsigned long long)tsc_to_us(t1 - t0), (unsigned long long)pipe.waits,
	       (unsigned long long)pipe.notifies, (unsigned long long)pipe.events);
	return ret == PIPE_READY ? 0 : ret == PIPE_TIMEOUT ? PIPE_EXIT_TIMEOUT : PIPE_EXIT_BROKEN;
}
