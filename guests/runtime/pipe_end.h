/*
 * pipe_end.h -- one end of an emhv pipe (include/emhv/pipe.h) over the
 * virtio driver: open and check the device and its shared region, read the
 * other end's index with the checks the contract asks for, publish this
 * end's index and wake the other end, and wait (spinning or by events).
 *
 * Records: the sender begins one (room, reserve, headers) and publishes it;
 * the receiver takes the next one, checked before any of it is read.
 *
 * Each end owns one index and only reads the other: the sender head, the
 * receiver tail. Its own index lives here (own) and is only ever written to
 * the header, never read back: the other end may scribble on it.
 */
#ifndef GUEST_PIPE_END_H
#define GUEST_PIPE_END_H

#include <stdbool.h>
#include <stdint.h>
#include <emhv/pipe.h>
#include "virtio.h"

/* Exit statuses of the pipe programs. */
#define PIPE_EXIT_SETUP	  2 /* bad arguments, no pipe device, a refused setup, the wrong role */
#define PIPE_EXIT_REGION  3 /* the shared region or its header is not what pipe.h says */
#define PIPE_EXIT_BROKEN  4 /* the other end broke the header */
#define PIPE_EXIT_TIMEOUT 5 /* no progress for timeout_ms */

/* What pipe_wait returns. */
enum pipe_wait_result { PIPE_TIMEOUT = -2, PIPE_BROKEN = -1, PIPE_READY = 1 };

struct pipe_end {
	const char *who;  /* the program, at the start of every line it prints */
	uint32_t role;	  /* EMHV_PIPE_ROLE_SEND or _RECV */
	bool irq;	  /* wait=irq: sleep for events; else spin on the header */
	uint64_t timeout; /* TSC ticks one wait may last */
	struct virtio_dev dev;
	struct emhv_pipe_config cfg;
	struct emhv_pipe_header *hdr;
	uint8_t *data; /* the data area */
	uint64_t data_size;
	uint64_t own;  /* this end's index as last published */
	uint64_t peer; /* the other end's index as last read (checked) */
	uint64_t next; /* the index past the record begun (sender) or given (receiver) */
	/* counts */
	uint64_t waits;	   /* waits that did not find the pipe ready at once */
	uint64_t events;   /* events taken from the events queue */
	uint64_t notifies; /* events sent through the notify queue */
	/* the events queue's buffers */
	uint32_t ev_buf[EMHV_PIPE_QUEUE_MAX];
};

/*
 * Open this VM's pipe device of role: the first pipe device that no other
 * end of this guest holds and whose configuration says role (a VM may hold
 * several, in any slots); set it up, map the shared region and check its
 * header, give the events queue its buffers, and with irq route the
 * interrupt. Prints one line and exits with PIPE_EXIT_SETUP (no such
 * device, a refused setup) or PIPE_EXIT_REGION if any of it fails (or with
 * PIPE_EXIT_BROKEN if head and tail already make no sense).
 */
void pipe_open(struct pipe_end *p, const char *who, uint32_t role, bool irq, uint64_t timeout_ms);

/* The record at index at (a byte count like head and tail). */
struct emhv_pipe_record *pipe_record_at(const struct pipe_end *p, uint64_t at);

/*
 * Read the other end's index into p->peer: 0, or -1 (one line printed) if
 * it went backwards or puts more than the data area in flight.
 */
int pipe_read_peer(struct pipe_end *p);

/*
 * Wait until the sender has room for need bytes / the receiver has at
 * least need bytes in flight: PIPE_READY, PIPE_BROKEN (pipe_read_peer
 * failed, or the device gave up) or PIPE_TIMEOUT after p->timeout.
 */
int pipe_wait(struct pipe_end *p, uint64_t need);

/* Make own the published index (release: what it covers is written first). */
void pipe_advance(struct pipe_end *p, uint64_t own);
/* After pipe_advance: if the other end waits, clear its flag and send it an event; 0, or -1. */
int pipe_wake(struct pipe_end *p);

/*
 * Sender: wait for room for a record of len payload bytes (at most
 * EMHV_PIPE_MAX_RECORD(p->data_size)), set reserve over it, and write its
 * header, and before it the skip record the wrap needs: PIPE_READY with
 * *payload where the len bytes go (8-byte aligned), or what pipe_wait
 * returned. The receiver sees nothing of it before pipe_record_publish.
 */
int pipe_record_begin(struct pipe_end *p, uint32_t len, void **payload);
/* Sender: head past the record begun, the receiver woken if it waits: PIPE_READY or PIPE_BROKEN. */
int pipe_record_publish(struct pipe_end *p);
/*
 * Receiver: the next record before the head last read, checked as pipe.h
 * asks before any of it is read (skip records are checked and passed on the
 * way): PIPE_READY with *payload and *len (the record stays in flight until
 * pipe_record_take), 0 if there is none, or PIPE_BROKEN (one line said why).
 */
int pipe_record_next(struct pipe_end *p, const void **payload, uint32_t *len);
/*
 * Receiver: tail past the record pipe_record_next gave, at once (the sender
 * may wait for exactly this room); pipe_wake tells a waiting sender.
 */
void pipe_record_take(struct pipe_end *p);

/*
 * Send ev (EMHV_PIPE_EV_DATA or _SPACE) through the notify queue: 0, or -1
 * if no descriptor came back from the device (within p->timeout if wait,
 * else at once).
 */
int pipe_send_event(struct pipe_end *p, uint32_t ev, bool wait);

#endif
