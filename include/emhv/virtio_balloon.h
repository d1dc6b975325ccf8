/*
 * The virtio memory balloon (virtio 1.2, section 5.5) as emhv offers it: the device ID and the
 * feature bits. Shared by the hypervisor's device (hv/balloon.c) and the guest that tests it
 * (guests/balloon_check.c).
 */
#ifndef EMHV_VIRTIO_BALLOON_H
#define EMHV_VIRTIO_BALLOON_H

#define VIRTIO_BALLOON_DEVICE_ID 5
/* Feature bits (5.5.3). */
#define VIRTIO_BALLOON_F_MUST_TELL_HOST	0
#define VIRTIO_BALLOON_F_STATS_VQ	1
#define VIRTIO_BALLOON_F_DEFLATE_ON_OOM	2
#define VIRTIO_BALLOON_F_FREE_PAGE_HINT	3
#define VIRTIO_BALLOON_F_PAGE_POISON	4
#define VIRTIO_BALLOON_F_REPORTING	5
/* Queues 0 and 1, whatever else is negotiated. */
#define VIRTIO_BALLOON_Q_INFLATE 0
#define VIRTIO_BALLOON_Q_DEFLATE 1

#endif
