/* pipe_end.c -- one end of an emhv pipe (pipe_end.h): open, check the other end, publish, wait. */
#include <stdio.h>
#include <string.h>
#include "runtime.h"
#include "cpu.h"
#include "pipe_end.h"

/*
 * The words notifications point at. The device only reads them, so every
 * notification of one kind can share its word however many are in flight.
 */
static uint32_t event_word[] = {
    [EMHV_PIPE_EV_DATA] = EMHV_PIPE_EV_DATA,
    [EMHV_PIPE_EV_SPACE] = EMHV_PIPE_EV_SPACE,
};

/* Pipe ends this guest opened (their devices are not looked at again). */
static unsigned ends_open;

static const char *role_name(uint32_t role)
{
	if (role == EMHV_PIPE_ROLE_SEND)
		return "sender";
	return role == EMHV_PIPE_ROLE_RECV ? "receiver" : "unknown";
}

static __attribute__((noreturn, format(printf, 3, 4))) void
open_fail(const struct pipe_end *p, int status, const char *fmt, ...)
{
	va_list ap;

	printf("%s: error: ", p->who);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	hc_exit(status);
}

/* ---- opening ---- */

/* Append "slot N (role)" to the pipe devices passed over (for the line that says none fits). */
static void note_passed(char *list, size_t len, unsigned slot, uint32_t role)
{
	size_t n = strlen(list);

	snprintf(list + n, len - n, "%sslot %u (%s)", n ? ", " : "", slot, role_name(role));
}

/*
 * The pipe device of this end's role, among those no other end of this
 * guest holds: each is probed and its configuration read (the specification
 * lets a driver do so before it accepts features, section 3.1.1), and every
 * one of the other role is reset again, as it was found.
 */
static void open_device(struct pipe_end *p)
{
	char passed[EMHV_VIRTIO_SLOTS * 24] = "";
	int slot;

	for (slot = virtio_find(EMHV_PIPE_DEVICE_ID); slot >= 0;
	     slot = virtio_find_from(EMHV_PIPE_DEVICE_ID, (unsigned)slot + 1)) {
		if (virtio_probe(&p->dev, (unsigned)slot))
			open_fail(p, PIPE_EXIT_SETUP,
				  "the pipe device in slot %d cannot be set up (see above)", slot);
		if (virtio_read_config(&p->dev, 0, &p->cfg, sizeof(p->cfg)))
			open_fail(p, PIPE_EXIT_SETUP, "cannot read the configuration in slot %d",
				  slot);
		if (p->cfg.role == p->role)
			break;
		note_passed(passed, sizeof(passed), (unsigned)slot, p->cfg.role);
		virtio_release(&p->dev);
	}
	if (slot < 0 && !passed[0] && !ends_open)
		open_fail(p, PIPE_EXIT_SETUP,
			  "no pipe device (virtio device ID %d) in any of the %d slots",
			  EMHV_PIPE_DEVICE_ID, EMHV_VIRTIO_SLOTS);
	if (slot < 0 && !passed[0])
		open_fail(p, PIPE_EXIT_SETUP,
			  "no pipe device in the %d slots but the %u this guest has open already",
			  EMHV_VIRTIO_SLOTS, ends_open);
	if (slot < 0)
		open_fail(p, PIPE_EXIT_SETUP, "no pipe device free here is the %s end: %s",
			  role_name(p->role), passed);
	if (virtio_start(&p->dev, 2))
		open_fail(p, PIPE_EXIT_SETUP,
			  "the pipe device in slot %d cannot be set up (see above)", slot);
	ends_open++;
}

/* Map shared-memory region 0 and check it is where and as large as the contract says. */
static void map_region(struct pipe_end *p)
{
	uint64_t base, len, want = EMHV_SHM_GPA + p->dev.slot * EMHV_SHM_SLOT_SIZE;

	if (virtio_get_shm(&p->dev, 0, &base, &len))
		open_fail(p, PIPE_EXIT_REGION, "the pipe device has no shared-memory region 0");
	if (base != want || len != p->cfg.size || len < EMHV_PIPE_MIN_SIZE ||
	    len > EMHV_SHM_SLOT_SIZE || len % 4096)
		open_fail(p, PIPE_EXIT_REGION,
			  "shared memory of 0x%llx bytes at 0x%llx: expected 0x%llx (the "
			  "configured size, at least 0x%llx, 4 KiB pages) at 0x%llx",
			  (unsigned long long)len, (unsigned long long)base,
			  (unsigned long long)p->cfg.size, EMHV_PIPE_MIN_SIZE,
			  (unsigned long long)want);
	for (uint64_t a = base; a < base + len; a += 2 * MIB)
		if (map_2m(a))
			open_fail(p, PIPE_EXIT_REGION, "cannot map the shared memory at 0x%llx",
				  (unsigned long long)a);
	p->hdr = (struct emhv_pipe_header *)(uintptr_t)base;
}

static void check_header(struct pipe_end *p)
{
	const struct emhv_pipe_header *h = p->hdr;
	uint64_t size = p->cfg.size;

	if (h->magic != EMHV_PIPE_MAGIC || h->version != EMHV_PIPE_VERSION || h->size != size ||
	    h->data_off != EMHV_PIPE_DATA_OFF || h->data_size != size - EMHV_PIPE_DATA_OFF ||
	    h->data_size % EMHV_PIPE_ALIGN)
		open_fail(
		    p, PIPE_EXIT_REGION,
		    "bad pipe header: magic 0x%x version %u size 0x%llx data at 0x%llx, 0x%llx "
		    "bytes (expected 0x%x, %d, 0x%llx, 0x%llx, 0x%llx)",
		    (unsigned)h->magic, (unsigned)h->version, (unsigned long long)h->size,
		    (unsigned long long)h->data_off, (unsigned long long)h->data_size,
		    EMHV_PIPE_MAGIC, EMHV_PIPE_VERSION, (unsigned long long)size,
		    EMHV_PIPE_DATA_OFF, (unsigned long long)(size - EMHV_PIPE_DATA_OFF));
	p->data = (uint8_t *)p->hdr + EMHV_PIPE_DATA_OFF;
	p->data_size = h->data_size;
}

/* Every buffer of the events queue to the device, so that no event is dropped for want of one. */
static void give_event_buffers(struct pipe_end *p)
{
	unsigned n = p->dev.q[EMHV_PIPE_Q_EVENTS].size;

	for (unsigned i = 0; i < n && i < EMHV_PIPE_QUEUE_MAX; i++)
		virtio_add_buf(&p->dev, EMHV_PIPE_Q_EVENTS, &p->ev_buf[i], sizeof(p->ev_buf[i]),
			       true);
	virtio_notify(&p->dev, EMHV_PIPE_Q_EVENTS);
}

void pipe_open(struct pipe_end *p, const char *who, uint32_t role, bool irq, uint64_t timeout_ms)
{
	uint64_t khz = boot_params()->tsc_khz;
	char sz[32];

	p->who = who;
	p->role = role;
	p->irq = irq;
	if (!khz)
		open_fail(p, PIPE_EXIT_SETUP, "the TSC rate is unknown: waits cannot be timed");
	/* capped so that a deadline never wraps */
	p->timeout = timeout_ms < (UINT64_MAX / 4) / khz ? timeout_ms * khz : UINT64_MAX / 4;
	open_device(p);
	map_region(p);
	check_header(p);
	/* where this end goes on from; the other end's index is checked against it at each read */
	p->own = role == EMHV_PIPE_ROLE_SEND ? p->hdr->head : p->hdr->tail;
	if (p->own % EMHV_PIPE_ALIGN)
		open_fail(p, PIPE_EXIT_REGION, "bad pipe header: %s %llu is not a multiple of %d",
			  role == EMHV_PIPE_ROLE_SEND ? "head" : "tail", (unsigned long long)p->own,
			  EMHV_PIPE_ALIGN);
	p->peer = 0;
	if (pipe_read_peer(p))
		hc_exit(PIPE_EXIT_BROKEN);
	give_event_buffers(p);
	virtio_quiet_used(&p->dev, EMHV_PIPE_Q_NOTIFY); /* its buffers are reaped at the next event sent */
	if (irq && virtio_route_irq(&p->dev))
		hc_exit(PIPE_EXIT_SETUP);
	printf("%s: pipe '%.16s' %s end in slot %u, peer VM %u: %s region at 0x%llx, wait=%s\n",
	       who, p->cfg.name, role_name(role), p->dev.slot, (unsigned)p->cfg.peer_id,
	       size_str(sz, sizeof(sz), p->cfg.size), (unsigned long long)(uintptr_t)p->hdr,
	       irq ? "irq" : "poll");
}

/* ---- the indices ---- */

struct emhv_pipe_record *pipe_record_at(const struct pipe_end *p, uint64_t at)
{
	return (struct emhv_pipe_record *)(p->data + at % p->data_size);
}

int pipe_read_peer(struct pipe_end *p)
{
	bool send = p->role == EMHV_PIPE_ROLE_SEND;
	/* Acquire: what the other end wrote before its index is read after it. */
	uint64_t v = __atomic_load_n(send ? &p->hdr->tail : &p->hdr->head, __ATOMIC_ACQUIRE);
	uint64_t head = send ? p->own : v, tail = send ? v : p->own;

	if (v < p->peer) {
		printf("%s: broken pipe: %s went back from %llu to %llu\n", p->who,
		       send ? "tail" : "head", (unsigned long long)p->peer, (unsigned long long)v);
		return -1;
	}
	/* unsigned: a head behind tail counts as a huge number in flight */
	if (head - tail > p->data_size) {
		printf("%s: broken pipe: head %llu, tail %llu: more in flight than the %llu-byte "
		       "data area\n",
		       p->who, (unsigned long long)head, (unsigned long long)tail,
		       (unsigned long long)p->data_size);
		return -1;
	}
	p->peer = v;
	return 0;
}

static bool ready(const struct pipe_end *p, uint64_t need)
{
	if (p->role == EMHV_PIPE_ROLE_SEND)
		return p->data_size - (p->own - p->peer) >= need;
	return p->peer - p->own >= need;
}

void pipe_advance(struct pipe_end *p, uint64_t own)
{
	p->own = own;
	__atomic_store_n(p->role == EMHV_PIPE_ROLE_SEND ? &p->hdr->head : &p->hdr->tail, own,
			 __ATOMIC_RELEASE);
}

/*
 * The waiting handshake is Dekker's: each side stores (its index, or its
 * flag), then loads what the other stores. x86 may let a load pass an
 * earlier store, so each side puts a full fence between the two.
 */
int pipe_wake(struct pipe_end *p)
{
	bool send = p->role == EMHV_PIPE_ROLE_SEND;
	volatile uint32_t *waiting = send ? &p->hdr->recv_waiting : &p->hdr->send_waiting;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!*waiting)
		return 0;
	*waiting = 0;
	return pipe_send_event(p, send ? EMHV_PIPE_EV_DATA : EMHV_PIPE_EV_SPACE, true);
}

/* ---- records ---- */

/* Bytes a record of len payload bytes takes at head: itself, and a skip record at the wrap. */
static uint64_t need_at(const struct pipe_end *p, uint64_t head, uint32_t len)
{
	uint64_t rec = EMHV_PIPE_RECORD_BYTES(len), left = p->data_size - head % p->data_size;

	return rec <= left ? rec : left + rec;
}

int pipe_record_begin(struct pipe_end *p, uint32_t len, void **payload)
{
	uint64_t head = p->own, rec = EMHV_PIPE_RECORD_BYTES(len), left, need;
	struct emhv_pipe_record *r;
	int ret = pipe_wait(p, need_at(p, head, len));

	if (ret != PIPE_READY)
		return ret;
	left = p->data_size - head % p->data_size;
	need = need_at(p, head, len);
	/*
	 * An empty ring starts again at the front of the data area, so that the pages in use stay few
	 * (pipe.h), but only from its second half on: until the receiver passes the skip record, the
	 * bytes it covers count as in flight, and a sender that skipped most of the ring would wait
	 * for the receiver after each record. Whether it is empty is looked up afresh only then, and
	 * only when the record would touch a page it has not touched yet.
	 */
	if (p->data_size - left >= p->data_size / 2 + rec &&
	    (!(head % EMHV_PIPE_PAGE) || head / EMHV_PIPE_PAGE != (head + rec - 1) / EMHV_PIPE_PAGE) &&
	    !pipe_read_peer(p) && p->peer == head)
		need = left + rec;
	p->hdr->reserve = head + need;	   /* before the bytes it covers (pipe.h) */
	__asm__ volatile("" ::: "memory"); /* x86 keeps stores in order; the compiler too */
	if (need > rec) {
		r = pipe_record_at(p, head);
		*r = (struct emhv_pipe_record){(uint32_t)(left - sizeof(*r)), EMHV_PIPE_REC_SKIP};
		head += left;
	}
	r = pipe_record_at(p, head);
	*r = (struct emhv_pipe_record){len, 0};
	p->next = head + rec;
	*payload = r + 1;
	return PIPE_READY;
}

int pipe_record_publish(struct pipe_end *p)
{
	pipe_advance(p, p->next);
	return pipe_wake(p) ? PIPE_BROKEN : PIPE_READY;
}

/* Why the record at tail (len, flags as read once) cannot be taken, or NULL if it can. */
static const char *bad_record(const struct pipe_end *p, uint64_t tail, uint32_t len, uint32_t flags)
{
	uint64_t left = p->data_size - tail % p->data_size, bytes = EMHV_PIPE_RECORD_BYTES(len);

	if (flags & ~EMHV_PIPE_REC_SKIP)
		return "unknown flags";
	if (bytes > p->peer - tail)
		return "longer than the bytes in flight";
	if (bytes > left)
		return "runs past the end of the data area";
	if ((flags & EMHV_PIPE_REC_SKIP) && bytes != left)
		return "a skip record short of the end of the data area";
	return NULL;
}

int pipe_record_next(struct pipe_end *p, const void **payload, uint32_t *len)
{
	while (p->own != p->peer) {
		uint64_t tail = p->own;
		const volatile struct emhv_pipe_record *r = pipe_record_at(p, tail);
		/* read once: the sender may change them meanwhile */
		uint32_t rlen = r->len, flags = r->flags;
		const char *why = bad_record(p, tail, rlen, flags);

		if (why) {
			printf(
			    "%s: broken pipe: record at %llu (length %u, flags 0x%x; %llu bytes in "
			    "flight, %llu to the end): %s\n",
			    p->who, (unsigned long long)tail, (unsigned)rlen, (unsigned)flags,
			    (unsigned long long)(p->peer - tail),
			    (unsigned long long)(p->data_size - tail % p->data_size), why);
			return PIPE_BROKEN;
		}
		if (flags & EMHV_PIPE_REC_SKIP) {
			pipe_advance(p, tail + EMHV_PIPE_RECORD_BYTES(rlen));
			continue;
		}
		*payload = (const void *)(r + 1);
		*len = rlen;
		p->next = tail + EMHV_PIPE_RECORD_BYTES(rlen);
		return PIPE_READY;
	}
	return 0;
}

void pipe_record_take(struct pipe_end *p)
{
	pipe_advance(p, p->next);
}

/* ---- events ---- */

int pipe_send_event(struct pipe_end *p, uint32_t ev, bool wait)
{
	uint64_t deadline = tsc_read() + p->timeout;
	struct virtio_used u;
	int r;

	if (ev >= sizeof(event_word) / sizeof(event_word[0]) || !event_word[ev])
		return -1;
	for (;;) {
		/* buffers the device returned (used length 0) are free again */
		while ((r = virtio_get_used(&p->dev, EMHV_PIPE_Q_NOTIFY, &u)) > 0)
			;
		if (r < 0)
			return -1;
		if (!virtio_add_buf(&p->dev, EMHV_PIPE_Q_NOTIFY, &event_word[ev],
				    sizeof(event_word[ev]), false))
			break;
		if (!wait || tsc_read() >= deadline) {
			if (wait)
				printf("%s: the pipe device returns no notify buffer\n", p->who);
			return -1;
		}
		cpu_pause();
	}
	virtio_notify(&p->dev, EMHV_PIPE_Q_NOTIFY);
	p->notifies++;
	return 0;
}

/* Count the events that came, and give their buffers back; -1 if the device broke the queue. */
static int take_events(struct pipe_end *p)
{
	struct virtio_used u;
	unsigned n = 0;
	int r;

	/* the value is only a hint: whatever it is, the header is read again */
	while ((r = virtio_get_used(&p->dev, EMHV_PIPE_Q_EVENTS, &u)) > 0) {
		virtio_add_buf(&p->dev, EMHV_PIPE_Q_EVENTS, u.buf, sizeof(uint32_t), true);
		n++;
	}
	p->events += n;
	if (n)
		virtio_notify(&p->dev, EMHV_PIPE_Q_EVENTS);
	return r;
}

static volatile uint32_t *own_waiting(const struct pipe_end *p)
{
	return p->role == EMHV_PIPE_ROLE_SEND ? &p->hdr->send_waiting : &p->hdr->recv_waiting;
}

/* Set this end's waiting flag, then look again: PIPE_READY, PIPE_BROKEN, or 0 to sleep. */
static int announce_wait(struct pipe_end *p, uint64_t need)
{
	*own_waiting(p) = 1;
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* see pipe_wake */
	if (pipe_read_peer(p))
		return PIPE_BROKEN;
	return ready(p, need) ? PIPE_READY : 0;
}

/* One look while spinning: PIPE_READY, PIPE_BROKEN, or 0 to look again. */
static int spin(struct pipe_end *p, uint64_t need)
{
	cpu_pause();
	if (pipe_read_peer(p))
		return PIPE_BROKEN;
	return ready(p, need) ? PIPE_READY : 0;
}

/* Announce the wait and sleep until an event or the deadline: PIPE_READY, PIPE_BROKEN, or 0. */
static int sleep_for_event(struct pipe_end *p, uint64_t need, uint64_t deadline)
{
	int r = announce_wait(p, need);

	if (r)
		return r;
	r = virtio_wait_used(&p->dev, EMHV_PIPE_Q_EVENTS, deadline);
	if (r < 0) {
		printf("%s: the pipe device needs a reset (status 0x%x)\n", p->who,
		       (unsigned)virtio_status(&p->dev));
		return PIPE_BROKEN;
	}
	if (take_events(p) < 0)
		return PIPE_BROKEN;
	if (pipe_read_peer(p))
		return PIPE_BROKEN;
	return ready(p, need) ? PIPE_READY : 0;
}

int pipe_wait(struct pipe_end *p, uint64_t need)
{
	uint64_t deadline;
	int r;

	/* what was read last is never more than the truth: ready by it means ready */
	if (ready(p, need))
		return PIPE_READY;
	if (pipe_read_peer(p))
		return PIPE_BROKEN;
	if (ready(p, need))
		return PIPE_READY;
	p->waits++;
	deadline = tsc_read() + p->timeout;
	do {
		r = p->irq ? sleep_for_event(p, need, deadline) : spin(p, need);
	} while (!r && tsc_read() < deadline);
	if (p->irq && r == PIPE_READY)
		/*
		 * Not waiting any more: spare the other end an event. If it
		 * cleared the flag and sends one anyway, the event is a harmless
		 * hint (the next wait looks at the header first).
		 */
		*own_waiting(p) = 0;
	return r ? r : PIPE_TIMEOUT;
}
