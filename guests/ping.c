/*
 * ping.c -- round-trip latency of small messages over two emhv pipes, one
 * each way: the client writes message i (pipe_msg.h) into its sending end,
 * the server echoes it back unchanged through its own, and the client
 * checks every byte of the echo and times the round trip with the TSC.
 *
 * Set-up: "pipe create p CLIENT SERVER" and "pipe create q SERVER CLIENT";
 * each VM finds its sending and its receiving end by role, in any slots.
 *
 * Arguments: role=client|server (required); size=BYTES (64; 8 up to
 *   EMHV_PIPE_MAX_RECORD of the smaller data area), count=N (1000), seed=N
 *   (1): the messages, the same on both sides; wait=poll|irq (poll: spin on
 *   the header; irq: announce the wait and sleep until an event);
 *   timeout_ms=N (20000: the longest wait for room or for a message).
 *
 * One message is in flight at a time. A round trip runs from the start of
 * writing message i to the arrival of its echo (the record seen, before it
 * is checked): both VMs share the CPU, so with wait=poll it includes the
 * time slices the waiting side spins away.
 *
 * Results: client: messages (round trips done), differ (bytes of the echoes
 * not as sent, a wrong length's missing or extra bytes included),
 * rtt_min_ns, rtt_median_ns (the mean of the middle two of an even count),
 * rtt_max_ns (nanoseconds by the hypervisor's TSC rate), broken (1 if
 * either pipe broke); server: messages (echoed).
 * Exit status: 0; 1 some echo differed (client); 2 bad arguments or no
 * usable device; 3 a bad region; 4 broken pipe; 5 no room or no message for
 * timeout_ms.
 */
#include <stdlib.h>
#include "runtime.h"
#include "pipe_end.h"
#include "pipe_msg.h"

static const char *const known_args[] = {MSG_ARG_KEYS, "role", NULL};

static struct pipe_end tx, rx;

/* Wait for the next record on p: PIPE_READY with it (still in flight), or what pipe_wait said. */
static int next_record(struct pipe_end *p, const void **payload, uint32_t *len)
{
	int r;

	while (!(r = pipe_record_next(p, payload, len))) {
		r = pipe_wait(p, 1);
		if (r != PIPE_READY)
			return r;
	}
	return r;
}

/* Done with the record next_record gave: tail past it, and a waiting sender woken. */
static int take_record(struct pipe_end *p)
{
	pipe_record_take(p);
	return pipe_wake(p) ? PIPE_BROKEN : PIPE_READY;
}

static int exit_status(int r, uint64_t differ)
{
	if (r == PIPE_TIMEOUT)
		return PIPE_EXIT_TIMEOUT;
	if (r == PIPE_BROKEN)
		return PIPE_EXIT_BROKEN;
	return differ ? 1 : 0;
}

/* ---- the server ---- */

/* Message after message: each echoed as it came, then taken. */
static int serve(const struct msg_args *a)
{
	const void *in;
	void *out;
	uint32_t len;
	uint64_t i;
	int r = PIPE_READY;

	for (i = 0; i < a->count; i++) {
		r = next_record(&rx, &in, &len);
		if (r != PIPE_READY)
			break;
		if (len > EMHV_PIPE_MAX_RECORD(tx.data_size)) {
			printf(
			    "ping: message %llu of %u bytes does not fit the return pipe (at most "
			    "%u)\n",
			    (unsigned long long)i, (unsigned)len,
			    (unsigned)EMHV_PIPE_MAX_RECORD(tx.data_size));
			r = PIPE_BROKEN;
			break;
		}
		r = pipe_record_begin(&tx, len, &out);
		if (r != PIPE_READY)
			break;
		memcpy(out, in, len);
		r = pipe_record_publish(&tx);
		if (r == PIPE_READY)
			r = take_record(&rx);
		if (r != PIPE_READY)
			break;
	}
	hc_result("messages", (int64_t)i);
	printf("ping: server: %llu of %llu messages echoed%s\n", (unsigned long long)i,
	       (unsigned long long)a->count,
	       r == PIPE_TIMEOUT  ? " (timeout)"
	       : r == PIPE_BROKEN ? " (broken pipe)"
				  : "");
	return exit_status(r, 0);
}

/* ---- the client ---- */

/* Message i there and back: its round trip (TSC ticks) into *ticks, the echo's bad bytes to
 * *differ. */
static int round_trip(const struct msg_args *a, uint64_t i, uint64_t *ticks, uint64_t *differ)
{
	uint32_t size = (uint32_t)a->size, len;
	uint64_t t0 = tsc_read();
	const void *in;
	void *out;
	int r = pipe_record_begin(&tx, size, &out);

	if (r != PIPE_READY)
		return r;
	msg_fill(out, a->seed, i, size);
	r = pipe_record_publish(&tx);
	if (r != PIPE_READY)
		return r;
	r = next_record(&rx, &in, &len);
	*ticks = tsc_read() - t0;
	if (r != PIPE_READY)
		return r;
	*differ += msg_bytes_differ(in, len, a->seed, i, a->size);
	return take_record(&rx);
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return (a > b) - (a < b);
}

static uint64_t ticks_to_ns(uint64_t ticks)
{
	uint64_t khz = boot_params()->tsc_khz; /* pipe_open checked it is known */

	return (uint64_t)((unsigned __int128)ticks * 1000000 / khz);
}

/* min, median and max of the n round trips (sorted here); zeros if there are none. */
static void report_rtt(uint64_t *rtt, uint64_t n)
{
	uint64_t min = 0, median = 0, max = 0;

	if (n) {
		qsort(rtt, n, sizeof(*rtt), cmp_u64);
		min = ticks_to_ns(rtt[0]);
		max = ticks_to_ns(rtt[n - 1]);
		median = ticks_to_ns(
		    n % 2 ? rtt[n / 2]
			  : (uint64_t)(((unsigned __int128)rtt[n / 2 - 1] + rtt[n / 2]) / 2));
	}
	hc_result("rtt_min_ns", (int64_t)min);
	hc_result("rtt_median_ns", (int64_t)median);
	hc_result("rtt_max_ns", (int64_t)max);
	printf("ping: round trips of %llu: min %llu ns, median %llu ns, max %llu ns\n",
	       (unsigned long long)n, (unsigned long long)min, (unsigned long long)median,
	       (unsigned long long)max);
}

static int client(const struct msg_args *a)
{
	uint64_t *rtt = free_region(a->count * sizeof(uint64_t)), i, differ = 0;
	int r = PIPE_READY;

	for (i = 0; i < a->count; i++) {
		r = round_trip(a, i, &rtt[i], &differ);
		if (r != PIPE_READY)
			break;
	}
	hc_result("messages", (int64_t)i);
	hc_result("differ", (int64_t)differ);
	report_rtt(rtt, i);
	hc_result("broken", r == PIPE_BROKEN);
	printf("ping: client: %llu of %llu round trips of %llu bytes, %llu bytes differ%s; "
	       "%llu + %llu waits, %llu + %llu events\n",
	       (unsigned long long)i, (unsigned long long)a->count, (unsigned long long)a->size,
	       (unsigned long long)differ,
	       r == PIPE_TIMEOUT  ? " (timeout)"
	       : r == PIPE_BROKEN ? " (broken pipe)"
				  : "",
	       (unsigned long long)tx.waits, (unsigned long long)rx.waits,
	       (unsigned long long)tx.events, (unsigned long long)rx.events);
	return exit_status(r, differ);
}

int main(int argc, char **argv)
{
	const char *role;
	struct msg_args a;
	bool is_client;

	arg_check(argc, argv, known_args);
	msg_parse_args(argc, argv, &a);
	role = arg_str(argc, argv, "role", "");
	is_client = !strcmp(role, "client");
	if (!is_client && strcmp(role, "server")) {
		printf("error: role=%s: client or server\n", role);
		return PIPE_EXIT_SETUP;
	}
	if (a.count > UINT64_MAX / sizeof(uint64_t)) {
		printf("error: count=%llu: too many round trips to keep\n",
		       (unsigned long long)a.count);
		return PIPE_EXIT_SETUP;
	}
	pipe_open(&tx, "ping", EMHV_PIPE_ROLE_SEND, a.irq, a.timeout_ms);
	pipe_open(&rx, "ping", EMHV_PIPE_ROLE_RECV, a.irq, a.timeout_ms);
	msg_check_size(&tx, &a);
	msg_check_size(&rx, &a);
	return is_client ? client(&a) : serve(&a);
}
