// SPDX-License-Identifier: GPL-2.0
/*
 * emhv_pipe.c -- Linux driver for one end of an emhv pipe: the virtio-mmio
 * device of ID 56 and its shared-memory region, as include/emhv/pipe.h
 * describes them, offered to user space as a character device with one
 * record per read() or write() (emhv_pipe_uapi.h).
 *
 * Each end owns one index of the shared header (the sender head, the
 * receiver tail) and keeps it here (own): it writes it to the header and
 * never reads it back, since the other end may scribble on it. The other
 * end's index (peer) and every record are checked before they are used; a
 * header that makes no sense breaks the pipe (EIO from then on), and the
 * kernel never trusts a length it did not check.
 *
 * Waiting is the header's: a reader with nothing to read sets recv_waiting,
 * looks again, and sleeps until the events queue brings EV_DATA; a writer
 * short of room does the same with send_waiting and EV_SPACE. Having moved
 * its index, each end clears the other's flag and sends it an event through
 * the notify queue if the flag was set.
 */
#include <linux/ctype.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/io.h>
#include <linux/kref.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <linux/virtio.h>
#include <linux/virtio_config.h>
#include <linux/wait.h>

#include <emhv/pipe.h>
#include "emhv_pipe_uapi.h"

#define PIPE_NAME_LEN sizeof(((struct emhv_pipe_config *)0)->name)

struct emhv_pipe {
	struct virtio_device *vdev;
	struct virtqueue *notify_vq;
	struct virtqueue *events_vq;
	spinlock_t notify_lock; /* the notify queue */
	/*
	 * One reader or writer at a time, also while it sleeps: it covers own,
	 * peer and the region's mapping (remove unmaps it under the lock).
	 */
	struct mutex lock;
	wait_queue_head_t wait; /* woken by every event, a break and removal */
	struct kref ref;	/* the device, and each open file */
	struct miscdevice misc;
	char devname[32];
	int index;

	/* from the configuration space */
	u32 role;
	u32 peer_id;
	char name[PIPE_NAME_LEN + 1];
	/* the region */
	phys_addr_t shm_addr;
	u64 size;
	struct emhv_pipe_header *hdr;
	u8 *data;
	u64 data_size;
	u32 max_record;

	u64 own;     /* this end's index as last published */
	u64 peer;    /* the other end's index as last read and checked */
	u64 next;    /* receiver: the index past the record found */
	bool broken; /* the other end broke the header: EIO for good */
	bool gone;   /* the device was removed: ENODEV */

	/* counts, for sysfs */
	u64 records, bytes, waits, events, notifies;

	/* The device only reads notifications: one word per kind serves all in flight. */
	u32 event_word[EMHV_PIPE_EV_SPACE + 1];
	u32 ev_buf[EMHV_PIPE_QUEUE_MAX];
};

static DEFINE_IDA(pipe_ida);

static bool is_sender(const struct emhv_pipe *p)
{
	return p->role == EMHV_PIPE_ROLE_SEND;
}

static const char *role_name(u32 role)
{
	if (role == EMHV_PIPE_ROLE_SEND)
		return "send";
	return role == EMHV_PIPE_ROLE_RECV ? "recv" : "unknown";
}

static void pipe_free(struct kref *ref)
{
	kfree(container_of(ref, struct emhv_pipe, ref));
}

/* The first time: say why, wake every waiter. Returns -EIO for the caller to pass on. */
static __printf(2, 3) int pipe_break(struct emhv_pipe *p, const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	if (!READ_ONCE(p->broken)) {
		va_start(args, fmt);
		vaf.fmt = fmt;
		vaf.va = &args;
		dev_err(&p->vdev->dev, "pipe '%s': broken: %pV\n", p->name, &vaf);
		va_end(args);
		WRITE_ONCE(p->broken, true);
		wake_up_interruptible_all(&p->wait);
	}
	return -EIO;
}

/* ---- the indices ---- */

static struct emhv_pipe_record *record_at(const struct emhv_pipe *p, u64 at)
{
	return (struct emhv_pipe_record *)(p->data + at % p->data_size);
}

/* Read the other end's index into peer: 0, or -EIO if it went back or puts too much in flight. */
static int pipe_read_peer(struct emhv_pipe *p)
{
	bool send = is_sender(p);
	volatile u64 *index = send ? &p->hdr->tail : &p->hdr->head;
	/* acquire: what the other end wrote before its index is read after it */
	u64 v = smp_load_acquire(index);
	u64 head = send ? p->own : v, tail = send ? v : p->own;

	if (v < p->peer)
		return pipe_break(p, "%s went back from %llu to %llu", send ? "tail" : "head",
				  p->peer, v);
	/* unsigned: a head behind tail counts as a huge number in flight */
	if (head - tail > p->data_size)
		return pipe_break(p, "head %llu, tail %llu: more in flight than the %llu-byte data area",
				  head, tail, p->data_size);
	p->peer = v;
	return 0;
}

/* Sender: room for need bytes; receiver: at least need bytes in flight (by the last read). */
static bool pipe_ready(const struct emhv_pipe *p, u64 need)
{
	if (is_sender(p))
		return p->data_size - (p->own - p->peer) >= need;
	return p->peer - p->own >= need;
}

/* Publish own (release: the bytes it covers are written first). */
static void pipe_advance(struct emhv_pipe *p, u64 own)
{
	volatile u64 *index = is_sender(p) ? &p->hdr->head : &p->hdr->tail;

	p->own = own;
	smp_store_release(index, own);
}

/* Send ev to the other end. The device returns each buffer at once; a full ring means it broke. */
static void pipe_notify(struct emhv_pipe *p, u32 ev)
{
	struct scatterlist sg;
	unsigned long flags;
	unsigned int len;
	int err;

	spin_lock_irqsave(&p->notify_lock, flags);
	while (virtqueue_get_buf(p->notify_vq, &len))
		;
	sg_init_one(&sg, &p->event_word[ev], sizeof(p->event_word[ev]));
	err = virtqueue_add_outbuf(p->notify_vq, &sg, 1, &p->event_word[ev], GFP_ATOMIC);
	if (!err) {
		virtqueue_kick(p->notify_vq);
		p->notifies++;
	}
	spin_unlock_irqrestore(&p->notify_lock, flags);
	if (err)
		pipe_break(p, "no notify buffer came back from the device (%d)", err);
}

/*
 * After pipe_advance: if the other end waits, clear its flag and send it an
 * event. The waiting handshake is Dekker's: each side stores (its index, or
 * its flag), then loads what the other stores, with a full fence between.
 */
static void pipe_wake_peer(struct emhv_pipe *p)
{
	bool send = is_sender(p);
	volatile u32 *waiting = send ? &p->hdr->recv_waiting : &p->hdr->send_waiting;

	smp_mb();
	if (!READ_ONCE(*waiting))
		return;
	WRITE_ONCE(*waiting, 0);
	pipe_notify(p, send ? EMHV_PIPE_EV_DATA : EMHV_PIPE_EV_SPACE);
}

/* ---- waiting ---- */

/* One look: 1 ready for need bytes, 0 not yet, or -ENODEV / -EIO. */
static int pipe_look(struct emhv_pipe *p, u64 need)
{
	if (READ_ONCE(p->gone))
		return -ENODEV;
	if (READ_ONCE(p->broken))
		return -EIO;
	/* what was read last is never more than the truth: ready by it means ready */
	if (pipe_ready(p, need))
		return 1;
	if (pipe_read_peer(p))
		return -EIO;
	return pipe_ready(p, need);
}

/* A look that, when it finds nothing, sets this end's waiting flag and looks again. */
static int pipe_look_waiting(struct emhv_pipe *p, u64 need)
{
	volatile u32 *waiting = is_sender(p) ? &p->hdr->send_waiting : &p->hdr->recv_waiting;
	int r = pipe_look(p, need);

	if (r)
		return r;
	WRITE_ONCE(*waiting, 1);
	smp_mb(); /* see pipe_wake_peer */
	r = pipe_look(p, need);
	/* not waiting after all: spare the other end an event (one sent anyway is a harmless hint) */
	if (r > 0)
		WRITE_ONCE(*waiting, 0);
	return r;
}

/* Under p->lock: until ready for need bytes. 0, -EAGAIN, -ERESTARTSYS, -EIO or -ENODEV. */
static int pipe_wait(struct emhv_pipe *p, u64 need, bool nonblock)
{
	int r = pipe_look(p, need);

	if (r)
		return r < 0 ? r : 0;
	if (nonblock)
		return -EAGAIN;
	p->waits++;
	if (wait_event_interruptible(p->wait, (r = pipe_look_waiting(p, need)) != 0))
		return -ERESTARTSYS;
	return r < 0 ? r : 0;
}

/* ---- the events queue ---- */

static void pipe_give_event_buf(struct emhv_pipe *p, u32 *buf)
{
	struct scatterlist sg;

	sg_init_one(&sg, buf, sizeof(*buf));
	/* cannot fail: the buffer has just come back, or the ring has room for all of them */
	WARN_ON_ONCE(virtqueue_add_inbuf(p->events_vq, &sg, 1, buf, GFP_ATOMIC));
}

/* Interrupt: events are only hints (the header is the truth): take them, wake the waiters. */
static void pipe_events_done(struct virtqueue *vq)
{
	struct emhv_pipe *p = vq->vdev->priv;
	unsigned int len, n = 0;
	u32 *buf;

	while ((buf = virtqueue_get_buf(vq, &len))) {
		pipe_give_event_buf(p, buf);
		n++;
	}
	if (!n)
		return;
	virtqueue_kick(vq);
	WRITE_ONCE(p->events, p->events + n);
	wake_up_interruptible_all(&p->wait);
}

/* Every buffer to the events queue, so that no event is dropped for want of one. */
static void pipe_fill_events(struct emhv_pipe *p)
{
	unsigned int i, n = min_t(unsigned int, virtqueue_get_vring_size(p->events_vq),
				  ARRAY_SIZE(p->ev_buf));

	for (i = 0; i < n; i++)
		pipe_give_event_buf(p, &p->ev_buf[i]);
	virtqueue_kick(p->events_vq);
}

/* ---- records ---- */

/* Bytes a record of len payload bytes takes at head: itself, and a skip record at the wrap. */
static u64 need_at(const struct emhv_pipe *p, u64 head, u32 len)
{
	u64 rec = EMHV_PIPE_RECORD_BYTES(len), left = p->data_size - head % p->data_size;

	return rec <= left ? rec : left + rec;
}

/*
 * Whether a record of rec bytes at head should start again at the front of
 * an empty ring (pipe.h), so that the pages in use stay few: only from the
 * ring's second half on (until the receiver passes the skip record its bytes
 * count as in flight), and only when the record would touch a page not
 * touched yet. As guests/runtime/pipe_end.c does.
 */
static bool pipe_rewind(struct emhv_pipe *p, u64 head, u64 rec)
{
	u64 left = p->data_size - head % p->data_size;

	return p->data_size - left >= p->data_size / 2 + rec &&
	       (!(head % EMHV_PIPE_PAGE) ||
		head / EMHV_PIPE_PAGE != (head + rec - 1) / EMHV_PIPE_PAGE) &&
	       !pipe_read_peer(p) && p->peer == head;
}

/* Why the record at tail (len and flags as read once) cannot be taken, or NULL if it can. */
static const char *bad_record(const struct emhv_pipe *p, u64 tail, u32 len, u32 flags)
{
	u64 left = p->data_size - tail % p->data_size, bytes = EMHV_PIPE_RECORD_BYTES(len);

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

/*
 * Receiver: the next record before the head last read, checked before any
 * of it is read (skip records are checked and passed, the sender woken if it
 * waits for the room they held): 1 with *len (p->next past it), 0 if none,
 * or -EIO.
 */
static int pipe_next_record(struct emhv_pipe *p, u32 *len)
{
	while (p->own != p->peer) {
		u64 tail = p->own;
		struct emhv_pipe_record *r = record_at(p, tail);
		/* read once: the sender may change them meanwhile */
		u32 rlen = READ_ONCE(r->len), flags = READ_ONCE(r->flags);
		const char *why = bad_record(p, tail, rlen, flags);

		if (why)
			return pipe_break(p, "record at %llu (length %u, flags %#x; %llu bytes in flight, %llu to the end): %s",
					  tail, rlen, flags, p->peer - tail,
					  p->data_size - tail % p->data_size, why);
		if (flags & EMHV_PIPE_REC_SKIP) {
			pipe_advance(p, tail + EMHV_PIPE_RECORD_BYTES(rlen));
			pipe_wake_peer(p);
			continue;
		}
		*len = rlen;
		p->next = tail + EMHV_PIPE_RECORD_BYTES(rlen);
		return 1;
	}
	return 0;
}

/* ---- the character device ---- */

static int pipe_open(struct inode *inode, struct file *f)
{
	/* misc_open set private_data to our miscdevice, under the lock misc_deregister takes */
	struct emhv_pipe *p = container_of(f->private_data, struct emhv_pipe, misc);

	kref_get(&p->ref);
	f->private_data = p;
	return stream_open(inode, f);
}

static int pipe_release(struct inode *inode, struct file *f)
{
	struct emhv_pipe *p = f->private_data;

	kref_put(&p->ref, pipe_free);
	return 0;
}

static ssize_t pipe_read(struct file *f, char __user *buf, size_t count, loff_t *ppos)
{
	struct emhv_pipe *p = f->private_data;
	u32 len = 0;
	int r;

	if (is_sender(p))
		return -EBADF; /* this end does not read */
	if (mutex_lock_interruptible(&p->lock))
		return -ERESTARTSYS;
	for (;;) {
		r = pipe_look(p, 0); /* gone or broken */
		if (r < 0)
			goto out;
		r = pipe_next_record(p, &len);
		if (r)
			break;
		r = pipe_wait(p, 1, f->f_flags & O_NONBLOCK);
		if (r)
			goto out;
	}
	if (r < 0)
		goto out;
	if (len > count) {
		r = -EMSGSIZE;
		goto out;
	}
	/* the sender may change the bytes meanwhile: then it gets garbage, the kernel nothing worse */
	if (copy_to_user(buf, record_at(p, p->own) + 1, len)) {
		r = -EFAULT;
		goto out;
	}
	pipe_advance(p, p->next);
	p->records++;
	p->bytes += len;
	pipe_wake_peer(p);
	r = len;
out:
	mutex_unlock(&p->lock);
	return r;
}

static ssize_t pipe_write(struct file *f, const char __user *buf, size_t count, loff_t *ppos)
{
	struct emhv_pipe *p = f->private_data;
	struct emhv_pipe_record *rec_hdr;
	u64 head, rec, left, need;
	u32 len = count;
	int r;

	if (!is_sender(p))
		return -EBADF; /* this end does not write */
	if (!count)
		return 0;
	if (count > p->max_record)
		return -EMSGSIZE;
	if (mutex_lock_interruptible(&p->lock))
		return -ERESTARTSYS;
	head = p->own;
	rec = EMHV_PIPE_RECORD_BYTES(len);
	r = pipe_wait(p, need_at(p, head, len), f->f_flags & O_NONBLOCK);
	if (r)
		goto out;
	left = p->data_size - head % p->data_size;
	need = pipe_rewind(p, head, rec) ? left + rec : need_at(p, head, len);
	if (READ_ONCE(p->broken)) { /* the rewind's look at tail found it bad */
		r = -EIO;
		goto out;
	}
	/* reserve covers the bytes before they are written (pipe.h) */
	WRITE_ONCE(p->hdr->reserve, head + need);
	smp_wmb();
	if (need > rec) {
		rec_hdr = record_at(p, head);
		WRITE_ONCE(rec_hdr->len, left - sizeof(*rec_hdr));
		WRITE_ONCE(rec_hdr->flags, EMHV_PIPE_REC_SKIP);
		head += left;
	}
	rec_hdr = record_at(p, head);
	WRITE_ONCE(rec_hdr->len, len);
	WRITE_ONCE(rec_hdr->flags, 0);
	/* on a fault nothing is published: the next write reserves and writes these bytes again */
	if (copy_from_user(rec_hdr + 1, buf, len)) {
		r = -EFAULT;
		goto out;
	}
	pipe_advance(p, head + rec);
	p->records++;
	p->bytes += len;
	pipe_wake_peer(p);
	r = len;
out:
	mutex_unlock(&p->lock);
	return r;
}

static __poll_t pipe_poll(struct file *f, poll_table *wait)
{
	struct emhv_pipe *p = f->private_data;
	u32 len;
	int r;

	poll_wait(f, &p->wait, wait);
	mutex_lock(&p->lock);
	if (is_sender(p)) {
		/* room for the largest record: then no write() blocks */
		r = pipe_look_waiting(p, need_at(p, p->own, p->max_record));
	} else {
		/* a real record, skip records passed; each look that finds none asks for an event */
		while ((r = pipe_look(p, 0)) >= 0 && !(r = pipe_next_record(p, &len)) &&
		       (r = pipe_look_waiting(p, 1)) > 0)
			;
	}
	mutex_unlock(&p->lock);
	if (r == -ENODEV)
		return EPOLLHUP | EPOLLERR;
	if (r < 0)
		return EPOLLERR;
	if (!r)
		return 0;
	return is_sender(p) ? EPOLLOUT | EPOLLWRNORM : EPOLLIN | EPOLLRDNORM;
}

static int pipe_mmap(struct file *f, struct vm_area_struct *vma)
{
	struct emhv_pipe *p = f->private_data;
	int r = -ENODEV;

	/* a private copy of a region another VM writes would be meaningless */
	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	mutex_lock(&p->lock);
	if (!p->gone)
		r = vm_iomap_memory(vma, p->shm_addr, p->size);
	mutex_unlock(&p->lock);
	return r;
}

static void pipe_get_info(struct emhv_pipe *p, struct emhv_pipe_info *info)
{
	memset(info, 0, sizeof(*info));
	info->role = p->role;
	info->peer_id = p->peer_id;
	info->size = p->size;
	info->data_size = p->data_size;
	info->max_record = p->max_record;
	info->broken = READ_ONCE(p->broken);
	memcpy(info->name, p->name, sizeof(info->name));
}

static long pipe_ioctl(struct file *f, unsigned int cmd, unsigned long arg)
{
	struct emhv_pipe_info info;

	if (cmd != EMHV_PIPE_IOC_INFO)
		return -ENOTTY;
	pipe_get_info(f->private_data, &info);
	return copy_to_user((void __user *)arg, &info, sizeof(info)) ? -EFAULT : 0;
}

static const struct file_operations pipe_fops = {
	.owner = THIS_MODULE,
	.open = pipe_open,
	.release = pipe_release,
	.read = pipe_read,
	.write = pipe_write,
	.poll = pipe_poll,
	.mmap = pipe_mmap,
	.unlocked_ioctl = pipe_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = no_llseek,
};

/* ---- sysfs: /sys/class/misc/<device>/ ---- */

static struct emhv_pipe *dev_pipe(struct device *dev)
{
	return container_of(dev_get_drvdata(dev), struct emhv_pipe, misc);
}

static ssize_t role_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%s\n", role_name(dev_pipe(dev)->role));
}
static DEVICE_ATTR_RO(role);

static ssize_t name_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%s\n", dev_pipe(dev)->name);
}
static DEVICE_ATTR_RO(name);

#define PIPE_ATTR_U64(field)                                                              \
	static ssize_t field##_show(struct device *dev, struct device_attribute *attr,   \
				    char *buf)                                            \
	{                                                                                 \
		return sysfs_emit(buf, "%llu\n", (u64)READ_ONCE(dev_pipe(dev)->field));   \
	}                                                                                 \
	static DEVICE_ATTR_RO(field)

PIPE_ATTR_U64(size);
PIPE_ATTR_U64(peer_id);
PIPE_ATTR_U64(max_record);
PIPE_ATTR_U64(records);
PIPE_ATTR_U64(bytes);
PIPE_ATTR_U64(waits);
PIPE_ATTR_U64(events);
PIPE_ATTR_U64(notifies);
PIPE_ATTR_U64(broken);

static struct attribute *pipe_attrs[] = {
	&dev_attr_role.attr,	   &dev_attr_name.attr,	   &dev_attr_size.attr,
	&dev_attr_peer_id.attr,	   &dev_attr_max_record.attr, &dev_attr_records.attr,
	&dev_attr_bytes.attr,	   &dev_attr_waits.attr,   &dev_attr_events.attr,
	&dev_attr_notifies.attr,   &dev_attr_broken.attr,  NULL,
};
ATTRIBUTE_GROUPS(pipe);

/* ---- the virtio device ---- */

/* The configuration space: role, peer and size, and the name (only file-name characters kept). */
static int pipe_read_config(struct emhv_pipe *p)
{
	struct virtio_device *vdev = p->vdev;
	size_t i;

	p->role = virtio_cread32(vdev, offsetof(struct emhv_pipe_config, role));
	p->peer_id = virtio_cread32(vdev, offsetof(struct emhv_pipe_config, peer_id));
	p->size = virtio_cread64(vdev, offsetof(struct emhv_pipe_config, size));
	virtio_cread_bytes(vdev, offsetof(struct emhv_pipe_config, name), p->name, PIPE_NAME_LEN);
	p->name[PIPE_NAME_LEN] = '\0';
	if (p->role != EMHV_PIPE_ROLE_SEND && p->role != EMHV_PIPE_ROLE_RECV) {
		dev_err(&vdev->dev, "pipe device: role %u is neither send (%d) nor receive (%d)\n",
			p->role, EMHV_PIPE_ROLE_SEND, EMHV_PIPE_ROLE_RECV);
		return -ENODEV;
	}
	for (i = 0; p->name[i]; i++)
		if (!isalnum(p->name[i]) && !strchr("_-.", p->name[i]))
			break;
	if (!i || p->name[i])
		snprintf(p->devname, sizeof(p->devname), "emhv-pipe%d", p->index);
	else
		snprintf(p->devname, sizeof(p->devname), "emhv-pipe-%s", p->name);
	return 0;
}

/* Map shared-memory region 0 and check its header as pipe.h gives it. */
static int pipe_map_region(struct emhv_pipe *p)
{
	struct device *dev = &p->vdev->dev;
	struct virtio_shm_region shm;
	struct emhv_pipe_header *h;

	if (!virtio_get_shm_region(p->vdev, &shm, 0)) {
		dev_err(dev, "pipe '%s': the device has no shared-memory region 0\n", p->name);
		return -ENODEV;
	}
	if (shm.len != p->size || shm.len < EMHV_PIPE_MIN_SIZE || shm.len % EMHV_PIPE_PAGE) {
		dev_err(dev, "pipe '%s': shared memory of %#llx bytes at %#llx: expected %#llx (the configured size, at least %#llx, 4 KiB pages)\n",
			p->name, shm.len, shm.addr, p->size, EMHV_PIPE_MIN_SIZE);
		return -ENODEV;
	}
	/* RAM to the guest: the hypervisor backs each page when it is first touched */
	h = memremap(shm.addr, shm.len, MEMREMAP_WB);
	if (!h) {
		dev_err(dev, "pipe '%s': cannot map %#llx bytes at %#llx\n", p->name, shm.len, shm.addr);
		return -ENOMEM;
	}
	if (h->magic != EMHV_PIPE_MAGIC || h->version != EMHV_PIPE_VERSION || h->size != p->size ||
	    h->data_off != EMHV_PIPE_DATA_OFF || h->data_size != p->size - EMHV_PIPE_DATA_OFF ||
	    h->data_size % EMHV_PIPE_ALIGN) {
		dev_err(dev, "pipe '%s': bad header: magic %#x version %u size %#llx data at %#llx, %#llx bytes\n",
			p->name, h->magic, h->version, h->size, h->data_off, h->data_size);
		memunmap(h);
		return -EINVAL;
	}
	p->shm_addr = shm.addr;
	p->hdr = h;
	p->data = (u8 *)h + EMHV_PIPE_DATA_OFF;
	p->data_size = p->size - EMHV_PIPE_DATA_OFF;
	p->max_record = EMHV_PIPE_MAX_RECORD(p->data_size);
	return 0;
}

/* Where this end goes on from (a driver loaded again continues the stream), checked. */
static void pipe_resume_indices(struct emhv_pipe *p)
{
	p->own = is_sender(p) ? READ_ONCE(p->hdr->head) : READ_ONCE(p->hdr->tail);
	p->peer = 0;
	if (p->own % EMHV_PIPE_ALIGN)
		pipe_break(p, "%s %llu is not a multiple of %d", is_sender(p) ? "head" : "tail",
			   p->own, EMHV_PIPE_ALIGN);
	else
		pipe_read_peer(p);
	p->next = p->own;
}

static int pipe_find_vqs(struct emhv_pipe *p)
{
	/* notify: no callback, so no interrupts; its buffers are reaped at the next event sent */
	vq_callback_t *callbacks[] = { NULL, pipe_events_done };
	static const char *const names[] = { "notify", "events" };
	struct virtqueue *vqs[2];
	int err;

	BUILD_BUG_ON(EMHV_PIPE_Q_NOTIFY != 0 || EMHV_PIPE_Q_EVENTS != 1);
	err = virtio_find_vqs(p->vdev, 2, vqs, callbacks, names, NULL);
	if (err)
		return err;
	p->notify_vq = vqs[EMHV_PIPE_Q_NOTIFY];
	p->events_vq = vqs[EMHV_PIPE_Q_EVENTS];
	return 0;
}

static int pipe_probe(struct virtio_device *vdev)
{
	struct emhv_pipe *p;
	int err;

	p = kzalloc(sizeof(*p), GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	p->vdev = vdev;
	vdev->priv = p;
	spin_lock_init(&p->notify_lock);
	mutex_init(&p->lock);
	init_waitqueue_head(&p->wait);
	kref_init(&p->ref);
	p->event_word[EMHV_PIPE_EV_DATA] = EMHV_PIPE_EV_DATA;
	p->event_word[EMHV_PIPE_EV_SPACE] = EMHV_PIPE_EV_SPACE;
	p->index = ida_alloc(&pipe_ida, GFP_KERNEL);
	if (p->index < 0) {
		err = p->index;
		goto free;
	}
	err = pipe_read_config(p);
	if (err)
		goto free_index;
	err = pipe_map_region(p);
	if (err)
		goto free_index;
	pipe_resume_indices(p);
	err = pipe_find_vqs(p);
	if (err)
		goto unmap;
	virtio_device_ready(vdev);
	pipe_fill_events(p);

	p->misc.minor = MISC_DYNAMIC_MINOR;
	p->misc.name = p->devname;
	p->misc.fops = &pipe_fops;
	p->misc.parent = &vdev->dev;
	p->misc.groups = pipe_groups;
	p->misc.mode = 0600;
	err = misc_register(&p->misc);
	if (err) {
		dev_err(&vdev->dev, "pipe '%s': cannot register /dev/%s (%d)\n", p->name, p->devname,
			err);
		goto reset;
	}
	dev_info(&vdev->dev, "pipe '%s': %s end, peer VM %u, %llu KiB region at %pa: /dev/%s\n",
		 p->name, role_name(p->role), p->peer_id, p->size >> 10, &p->shm_addr, p->devname);
	return 0;

reset:
	virtio_reset_device(vdev);
	vdev->config->del_vqs(vdev);
unmap:
	memunmap(p->hdr);
free_index:
	ida_free(&pipe_ida, p->index);
free:
	kfree(p);
	return err;
}

static void pipe_remove(struct virtio_device *vdev)
{
	struct emhv_pipe *p = vdev->priv;

	misc_deregister(&p->misc); /* no new opens */
	WRITE_ONCE(p->gone, true);
	wake_up_interruptible_all(&p->wait);
	/* readers and writers see gone and leave; files still open only get ENODEV */
	mutex_lock(&p->lock);
	virtio_reset_device(vdev);
	vdev->config->del_vqs(vdev);
	memunmap(p->hdr);
	p->hdr = NULL;
	mutex_unlock(&p->lock);
	ida_free(&pipe_ida, p->index);
	kref_put(&p->ref, pipe_free);
}

/* The device gave up (virtio: DEVICE_NEEDS_RESET): nothing will come through it again. */
static void pipe_config_changed(struct virtio_device *vdev)
{
	struct emhv_pipe *p = vdev->priv;

	if (vdev->config->get_status(vdev) & VIRTIO_CONFIG_S_NEEDS_RESET)
		pipe_break(p, "the device needs a reset");
}

static const struct virtio_device_id pipe_id_table[] = {
	{ EMHV_PIPE_DEVICE_ID, VIRTIO_DEV_ANY_ID },
	{ 0 },
};
MODULE_DEVICE_TABLE(virtio, pipe_id_table);

static struct virtio_driver pipe_driver = {
	.driver.name = KBUILD_MODNAME,
	.driver.owner = THIS_MODULE,
	.id_table = pipe_id_table,
	.probe = pipe_probe,
	.remove = pipe_remove,
	.config_changed = pipe_config_changed,
};
module_virtio_driver(pipe_driver);

MODULE_DESCRIPTION("emhv pipes: one-way channels between VMs over shared memory");
MODULE_LICENSE("GPL");
