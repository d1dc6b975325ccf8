/*
 * The virtio block device (virtio 1.2, section 5.2) as emhv offers it: the
 * feature bits, the configuration layout, the request header and the
 * discard/write-zeroes segment. Shared by the hypervisor's device
 * (drivers/virtio/virtio_blk.c) and the guests that test it
 * (guests/blk_check.c). Everything is little-endian, as x86 is.
 */
#ifndef EMHV_VIRTIO_BLK_H
#define EMHV_VIRTIO_BLK_H

#include <stdint.h>

#define VIRTIO_BLK_DEVICE_ID 2

/* Feature bits (5.2.3) emhv offers. */
#define VIRTIO_BLK_F_SEG_MAX	  2
#define VIRTIO_BLK_F_FLUSH	  9
#define VIRTIO_BLK_F_DISCARD	  13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* Request types (5.2.6) and statuses. */
#define VIRTIO_BLK_T_IN		  0
#define VIRTIO_BLK_T_OUT	  1
#define VIRTIO_BLK_T_FLUSH	  4
#define VIRTIO_BLK_T_GET_ID	  8
#define VIRTIO_BLK_T_DISCARD	  11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_S_OK		  0
#define VIRTIO_BLK_S_IOERR	  1
#define VIRTIO_BLK_S_UNSUPP	  2

#define VIRTIO_BLK_SECTOR_SIZE 512
#define VIRTIO_BLK_ID_BYTES    20
/* Discard and write-zeroes segment flag: the device may deallocate (write zeroes only). */
#define VIRTIO_BLK_WZ_F_UNMAP 1u

/* The configuration space up to write_zeroes_may_unmap (5.2.4); offsets as the specification's. */
struct virtio_blk_config {
	uint64_t capacity; /* in 512-byte sectors */
	uint32_t size_max;
	uint32_t seg_max;
	uint16_t cylinders;
	uint8_t heads, sectors;
	uint32_t blk_size;
	uint8_t physical_block_exp, alignment_offset;
	uint16_t min_io_size;
	uint32_t opt_io_size;
	uint8_t writeback, unused0;
	uint16_t num_queues;
	uint32_t max_discard_sectors;
	uint32_t max_discard_seg;
	uint32_t discard_sector_alignment;
	uint32_t max_write_zeroes_sectors;
	uint32_t max_write_zeroes_seg;
	uint8_t write_zeroes_may_unmap;
	uint8_t unused1[3];
} __attribute__((packed));

_Static_assert(sizeof(struct virtio_blk_config) == 60, "virtio_blk_config is 60 bytes");

/* The device-readable header every request starts with. */
struct virtio_blk_req_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

/* One range of a discard or write-zeroes request. */
struct virtio_blk_discard_wz {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};

_Static_assert(sizeof(struct virtio_blk_req_hdr) == 16, "request header is 16 bytes");
_Static_assert(sizeof(struct virtio_blk_discard_wz) == 16, "discard segment is 16 bytes");

#endif
