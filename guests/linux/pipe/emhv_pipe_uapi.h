/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * emhv_pipe_uapi.h -- what user space sees of emhv_pipe.ko: the ioctl that
 * describes one pipe end. Shared by the driver and pipetest.
 *
 * Each end is /dev/emhv-pipe-NAME (NAME: the pipe's name from the device's
 * configuration; /dev/emhv-pipeN if that name is not a usable file name).
 * The same figures are in /sys/class/misc/emhv-pipe-NAME/ (role, name,
 * size, peer_id, max_record, and the counts records, bytes, waits, events,
 * notifies, broken).
 *
 * write() on the send end: one record of 1 to max_record bytes (EMSGSIZE
 *   beyond); blocks until there is room (EAGAIN with O_NONBLOCK).
 * read() on the receive end: one record; EMSGSIZE (the record stays) if the
 *   buffer is smaller; blocks until one is there (EAGAIN with O_NONBLOCK).
 * Either, once the other end broke the shared header: EIO, for good.
 * poll(): EPOLLIN (a record) or EPOLLOUT (room for the largest record), and
 *   EPOLLERR when broken.
 * mmap(): the whole region (header page and data area), MAP_SHARED, for a
 *   user that runs the protocol of include/emhv/pipe.h itself; it should not
 *   also read() or write() the same end.
 */
#ifndef EMHV_PIPE_UAPI_H
#define EMHV_PIPE_UAPI_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define EMHV_PIPE_INFO_ROLE_SEND 1 /* as EMHV_PIPE_ROLE_SEND */
#define EMHV_PIPE_INFO_ROLE_RECV 2 /* as EMHV_PIPE_ROLE_RECV */

struct emhv_pipe_info {
	__u32 role;	  /* EMHV_PIPE_INFO_ROLE_SEND or _RECV */
	__u32 peer_id;	  /* the VM id of the other end */
	__u64 size;	  /* bytes of the region (what mmap() maps) */
	__u64 data_size;  /* bytes of its data area */
	__u32 max_record; /* the largest payload of one record */
	__u32 broken;	  /* 1 once the other end broke the header */
	char name[16];	  /* the pipe's name, NUL-padded */
};

#define EMHV_PIPE_IOC_INFO _IOR(0xe7, 0x01, struct emhv_pipe_info)

#endif
