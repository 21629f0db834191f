/**
 * The numbers of the NBD protocol (reference nbd.md §1–§3, after
 * `NetworkBlockDevice/nbd: doc/proto.md` and nbdkit's
 * `common/protocol/nbd-protocol.h`), and the limits this server keeps.
 * Every integer on the wire is big-endian. Magics of 64 bits are kept as
 * two 32-bit halves, so no hot path needs a BigInt.
 */

/** `NBDMAGIC`, the first 8 bytes the server sends (ASCII "NBDMAGIC"). */
export const NBDMAGIC_HIGH = 0x4e42444d;
export const NBDMAGIC_LOW = 0x41474943;
/** `IHAVEOPT` (ASCII "IHAVEOPT"): the greeting's second word and every option request's magic. */
export const IHAVEOPT_HIGH = 0x49484156;
export const IHAVEOPT_LOW = 0x454f5054;
/** The magic of every option reply (§2.2). */
export const OPTION_REPLY_MAGIC_HIGH = 0x0003e889;
export const OPTION_REPLY_MAGIC_LOW = 0x045565a9;
/** Transmission-phase magics (§3.1, §3.4, §3.5). */
export const REQUEST_MAGIC = 0x25609513;
export const SIMPLE_REPLY_MAGIC = 0x67446698;
export const STRUCTURED_REPLY_MAGIC = 0x668e33ef;

/** Handshake flags (server, u16) and client flags (u32), §2.1. */
export const NBD_FLAG_FIXED_NEWSTYLE = 0x1;
export const NBD_FLAG_NO_ZEROES = 0x2;
export const NBD_FLAG_C_FIXED_NEWSTYLE = 0x1;
export const NBD_FLAG_C_NO_ZEROES = 0x2;
/** What this server advertises in the greeting: fixed newstyle and no zeroes, as nbdkit (§2.1). */
export const HANDSHAKE_FLAGS = NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES;

/** Option codes (§2.3). */
export const NBD_OPT_EXPORT_NAME = 1;
export const NBD_OPT_ABORT = 2;
export const NBD_OPT_LIST = 3;
export const NBD_OPT_PEEK_EXPORT = 4;
export const NBD_OPT_STARTTLS = 5;
export const NBD_OPT_INFO = 6;
export const NBD_OPT_GO = 7;
export const NBD_OPT_STRUCTURED_REPLY = 8;
export const NBD_OPT_LIST_META_CONTEXT = 9;
export const NBD_OPT_SET_META_CONTEXT = 10;
export const NBD_OPT_EXTENDED_HEADERS = 11;

/** Option reply types (§2.5); errors have bit 31 set. */
export const NBD_REP_ACK = 1;
export const NBD_REP_SERVER = 2;
export const NBD_REP_INFO = 3;
export const NBD_REP_META_CONTEXT = 4;
export const NBD_REP_ERR_UNSUP = 0x80000001;
export const NBD_REP_ERR_POLICY = 0x80000002;
export const NBD_REP_ERR_INVALID = 0x80000003;
export const NBD_REP_ERR_PLATFORM = 0x80000004;
export const NBD_REP_ERR_TLS_REQD = 0x80000005;
export const NBD_REP_ERR_UNKNOWN = 0x80000006;
export const NBD_REP_ERR_SHUTDOWN = 0x80000007;
export const NBD_REP_ERR_BLOCK_SIZE_REQD = 0x80000008;
export const NBD_REP_ERR_TOO_BIG = 0x80000009;

/** `NBD_INFO_*` codes (§2.4). */
export const NBD_INFO_EXPORT = 0;
export const NBD_INFO_NAME = 1;
export const NBD_INFO_DESCRIPTION = 2;
export const NBD_INFO_BLOCK_SIZE = 3;

/** Transmission flags (u16, §2.6). */
export const NBD_FLAG_HAS_FLAGS = 0x0001;
export const NBD_FLAG_READ_ONLY = 0x0002;
export const NBD_FLAG_SEND_FLUSH = 0x0004;
export const NBD_FLAG_SEND_FUA = 0x0008;
export const NBD_FLAG_ROTATIONAL = 0x0010;
export const NBD_FLAG_SEND_TRIM = 0x0020;
export const NBD_FLAG_SEND_WRITE_ZEROES = 0x0040;
export const NBD_FLAG_SEND_DF = 0x0080;
export const NBD_FLAG_CAN_MULTI_CONN = 0x0100;
export const NBD_FLAG_SEND_RESIZE = 0x0200;
export const NBD_FLAG_SEND_CACHE = 0x0400;
export const NBD_FLAG_SEND_FAST_ZERO = 0x0800;

/** Commands (§3.2). */
export const NBD_CMD_READ = 0;
export const NBD_CMD_WRITE = 1;
export const NBD_CMD_DISC = 2;
export const NBD_CMD_FLUSH = 3;
export const NBD_CMD_TRIM = 4;
export const NBD_CMD_CACHE = 5;
export const NBD_CMD_WRITE_ZEROES = 6;
export const NBD_CMD_BLOCK_STATUS = 7;
export const NBD_CMD_RESIZE = 8;

/** Command flags (u16, §3.3). */
export const NBD_CMD_FLAG_FUA = 0x01;
export const NBD_CMD_FLAG_NO_HOLE = 0x02;
export const NBD_CMD_FLAG_DF = 0x04;
export const NBD_CMD_FLAG_REQ_ONE = 0x08;
export const NBD_CMD_FLAG_FAST_ZERO = 0x10;
export const NBD_CMD_FLAG_PAYLOAD_LEN = 0x20;

/** Structured reply chunk flags and types (§3.5). */
export const NBD_REPLY_FLAG_DONE = 0x1;
export const NBD_REPLY_TYPE_NONE = 0;
export const NBD_REPLY_TYPE_OFFSET_DATA = 1;
export const NBD_REPLY_TYPE_OFFSET_HOLE = 2;
export const NBD_REPLY_TYPE_BLOCK_STATUS = 5;
export const NBD_REPLY_TYPE_ERROR = 0x8001;
export const NBD_REPLY_TYPE_ERROR_OFFSET = 0x8002;

/** `base:allocation` status bits (§3.5). */
export const NBD_STATE_HOLE = 0x1;
export const NBD_STATE_ZERO = 0x2;
/** The one metadata context this server knows. */
export const BASE_ALLOCATION = 'base:allocation';
/** The ID SET_META_CONTEXT assigns to `base:allocation` (nbdkit uses 1 too, §5.5). */
export const BASE_ALLOCATION_CONTEXT_ID = 1;

/** Error values on the wire (§3.6). */
export const NBD_SUCCESS = 0;
export const NBD_EPERM = 1;
export const NBD_EIO = 5;
export const NBD_ENOMEM = 12;
export const NBD_EINVAL = 22;
export const NBD_ENOSPC = 28;
export const NBD_EOVERFLOW = 75;
export const NBD_ENOTSUP = 95;
export const NBD_ESHUTDOWN = 108;

/** The error values this server sends, for validation and messages. */
export type NbdErrno =
  | typeof NBD_SUCCESS
  | typeof NBD_EPERM
  | typeof NBD_EIO
  | typeof NBD_ENOMEM
  | typeof NBD_EINVAL
  | typeof NBD_ENOSPC
  | typeof NBD_EOVERFLOW
  | typeof NBD_ENOTSUP
  | typeof NBD_ESHUTDOWN;

/** The longest string the protocol allows (`NBD_MAX_STRING`, §1). */
export const NBD_MAX_STRING = 4096;

/**
 * Block-size constraints this server advertises (§2.7, §3.8): sectors as
 * the minimum (dm works in 512-byte sectors), 4 KiB preferred, and the
 * 32 MiB payload every client may assume.
 */
export const BLOCK_SIZE_MINIMUM = 512;
export const BLOCK_SIZE_PREFERRED = 4096;
export const PAYLOAD_BYTES_MAX = 32 * 1024 * 1024;

/**
 * A rejected WRITE's payload is read and dropped up to this length (as
 * nbdkit, twice its request limit, §3.8); a longer one leaves the stream
 * unframeable at an affordable cost, so the connection is closed.
 */
export const WRITE_DRAIN_BYTES_MAX = 2 * PAYLOAD_BYTES_MAX;

/**
 * Option data this server reads at most (§5.7). The largest legitimate
 * option is a meta-context query list; nbdkit drops a connection above
 * 64 MiB, which is far more than any client sends.
 */
export const OPTION_DATA_BYTES_MAX = 1024 * 1024;
/** Options one connection may send before it is dropped (nbdkit allows 32; §3.8). */
export const OPTIONS_PER_CONNECTION_MAX = 64;
/** Queries one meta-context option may carry (each costs a reply to scan). */
export const META_QUERIES_MAX = 128;
/** Descriptors in one BLOCK_STATUS chunk at most (the spec allows 2^20; clients loop). */
export const BLOCK_STATUS_EXTENTS_MAX = 4096;

/** The header sizes of the framing (§2.2, §3.1, §3.4, §3.5). */
export const OPTION_HEADER_BYTES = 16;
export const OPTION_REPLY_HEADER_BYTES = 20;
export const REQUEST_HEADER_BYTES = 28;
export const SIMPLE_REPLY_HEADER_BYTES = 16;
export const STRUCTURED_REPLY_HEADER_BYTES = 20;
/** The greeting: NBDMAGIC, IHAVEOPT, u16 handshake flags (§2.1). */
export const GREETING_BYTES = 18;
/** Zero padding after EXPORT_NAME's reply unless NO_ZEROES was agreed (§2.3, pitfall §5.1). */
export const EXPORT_NAME_PADDING_BYTES = 124;

const COMMAND_NAMES: Record<number, string> = {
  [NBD_CMD_READ]: 'READ',
  [NBD_CMD_WRITE]: 'WRITE',
  [NBD_CMD_DISC]: 'DISC',
  [NBD_CMD_FLUSH]: 'FLUSH',
  [NBD_CMD_TRIM]: 'TRIM',
  [NBD_CMD_CACHE]: 'CACHE',
  [NBD_CMD_WRITE_ZEROES]: 'WRITE_ZEROES',
  [NBD_CMD_BLOCK_STATUS]: 'BLOCK_STATUS',
  [NBD_CMD_RESIZE]: 'RESIZE',
};

/** A command's name for messages and metrics (`CMD_<n>` for an unknown one). */
export function commandName(type: number): string {
  return COMMAND_NAMES[type] ?? `CMD_${type}`;
}

const OPTION_NAMES: Record<number, string> = {
  [NBD_OPT_EXPORT_NAME]: 'EXPORT_NAME',
  [NBD_OPT_ABORT]: 'ABORT',
  [NBD_OPT_LIST]: 'LIST',
  [NBD_OPT_PEEK_EXPORT]: 'PEEK_EXPORT',
  [NBD_OPT_STARTTLS]: 'STARTTLS',
  [NBD_OPT_INFO]: 'INFO',
  [NBD_OPT_GO]: 'GO',
  [NBD_OPT_STRUCTURED_REPLY]: 'STRUCTURED_REPLY',
  [NBD_OPT_LIST_META_CONTEXT]: 'LIST_META_CONTEXT',
  [NBD_OPT_SET_META_CONTEXT]: 'SET_META_CONTEXT',
  [NBD_OPT_EXTENDED_HEADERS]: 'EXTENDED_HEADERS',
};

/** An option's name for messages (`OPT_<n>` for an unknown one). */
export function optionName(code: number): string {
  return OPTION_NAMES[code] ?? `OPT_${code}`;
}
