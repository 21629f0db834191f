/**
 * Sizes, limits and version numbers of the `dm_ulog_request` protocol
 * between the kernel's `userspace` dirty log and its daemon
 * (include/uapi/linux/dm-log-userspace.h, dm-log-userspace-transfer.c and
 * LVM2 cmirrord; reference userspace-and-cluster-logs.md §1 and §3).
 */

/** The protocol version a current kernel puts in every request (§1.3). */
export const DM_ULOG_REQUEST_VERSION = 3;
/** The oldest version a kernel may send: 2.6.31's first implementation (§1.3). */
export const DM_ULOG_REQUEST_VERSION_MIN = 1;
/** The first version whose CTR reply may carry a device name (§1.3). */
export const ULOG_VERSION_CTR_DEVICE_NAME = 2;
/** The first version whose FLUSH may carry marks ("integrated flush", §1.3). */
export const ULOG_VERSION_INTEGRATED_FLUSH = 3;

/** Size of the `uuid` field, NUL included (`DM_UUID_LEN`). */
export const DM_UUID_LEN = 129;
/** The longest uuid in characters: the field less its NUL. */
export const ULOG_UUID_CHARS_MAX = DM_UUID_LEN - 1;
/** Size of the kernel's buffer for the device name a CTR reply may carry (`DM_NAME_LEN`). */
export const DM_NAME_LEN = 128;

/** The low bits of `request_type` that hold the type; the rest are reserved (§1.2). */
export const DM_ULOG_REQUEST_MASK = 0xff;

/** `sizeof(struct dm_ulog_request)`: the fixed header before the payload (§1.2). */
export const ULOG_HEADER_BYTES = 160;

/** Byte offsets of the header fields (§1.2). */
export const ULOG_HEADER_OFFSETS = {
  luid: 0,
  uuid: 8,
  padding: 137,
  version: 140,
  error: 144,
  seq: 148,
  requestType: 152,
  dataSize: 156,
  data: 160,
} as const;

/** Bytes of padding after the uuid, there because 129 is odd (§1.2). */
export const ULOG_PADDING_BYTES = 3;

/** `sizeof(struct cn_msg)`, which shares the kernel's preallocated buffer (§1.1, §3). */
export const CN_MSG_HEADER_BYTES = 20;
/** The kernel's one preallocated send buffer (`DM_ULOG_PREALLOCED_SIZE`, §3). */
export const DM_ULOG_PREALLOCED_SIZE = 512;
/**
 * The largest payload the kernel can send to the daemon: what is left of
 * the preallocated buffer after the `cn_msg` and the header (332 bytes, §3).
 */
export const ULOG_REQUEST_PAYLOAD_BYTES_MAX =
  DM_ULOG_PREALLOCED_SIZE - CN_MSG_HEADER_BYTES - ULOG_HEADER_BYTES;

/** cmirrord's reply buffer, header included (`DM_ULOG_REQUEST_SIZE` in common.h, §1.5). */
export const DM_ULOG_REQUEST_SIZE = 1024;
/** The largest reply payload cmirrord can send: 1024 − 160 = 864 bytes (§1.5). */
export const ULOG_REPLY_PAYLOAD_BYTES_MAX = DM_ULOG_REQUEST_SIZE - ULOG_HEADER_BYTES;

/** The most regions in one MARK, CLEAR or FLUSH-with-marks request (§2.2). */
export const MAX_FLUSH_GROUP_COUNT = 32;
/** Bytes of one region number on the wire (a u64). */
export const ULOG_REGION_BYTES = 8;
