/**
 * `struct clog_request` byte for byte: the message cmirrord daemons
 * multicast to each other over CPG (reference userspace-and-cluster-logs.md
 * §4.4; LVM2 `cluster.h`, `compat.c`).
 *
 * | Offset | Field |
 * |---|---|
 * | 0 | `u.version[0]` u64, always little-endian: {@link CLOG_TFR_VERSION} |
 * | 8 | `u.version[1]` u64, in the sender's byte order |
 * | 16 | `originator` u32: the sending node (CHECKPOINT_READY: the joiner it is for) |
 * | 20 | `pit_server` u32: the server when a request was stored before the log was valid |
 * | 24 | `u_rq`: the 160-byte `dm_ulog_request`, `luid` 0 |
 * | 184 | payload, `u_rq.data_size` bytes |
 *
 * Byte order. A little-endian sender converts nothing. A big-endian sender
 * (`v5_endian_to_network`, `v5_data_endian_switch`) converts `error`,
 * `seq`, `originator`, `request_type`, `data_size` and the payload fields
 * compat.c knows (region numbers, the `{s64, u64}` pairs, the u64 and s64
 * answers) to little-endian, and leaves the rest native: `pit_server`,
 * `luid`, `u_rq.version`, a FLUSH's marks and a checkpoint's bitmap
 * words. The simulator's hosts are little-endian, so this decoder reads
 * the converted fields as they are; it reads the native header fields
 * (`version[1]`, `pit_server`, `luid`, `u_rq.version`) in the sender's
 * order, and a FLUSH's marks and a checkpoint's bitmaps raw, as cmirrord
 * copies them — so a big-endian sender's checkpoint garbles its bitmaps
 * here, as it would on a real little-endian member (§4.4, inference).
 *
 * Versions 2–4 (RHEL 5) carry the version-5 struct at
 * {@link COMPAT_OFFSET}; the decoder reads it from there, as
 * `clog_request_from_network` converts it. (cmirrord's
 * `cpg_message_callback` then goes on reading the message from offset 0,
 * so upstream never served an old sender right (inference); the simulator
 * takes the converted request, the evident intent.) Any other version is
 * refused, as there: "Incompatible version".
 *
 * The decoder is strict where cmirrord trusts its peers: every field is
 * checked, the 160-byte request with the userspace log's own codec, and
 * only what cmirrord actually multicasts is accepted. Anything else
 * throws one {@link ClogRequestError} naming the field.
 */
import { assert } from '../../assert.js';
import { ULOG_HEADER_BYTES, ULOG_HEADER_OFFSETS } from '../userspace/ulog-constants.js';
import { checkUlogPayload } from '../userspace/ulog-payload-rules.js';
import { UlogProtocolError } from '../userspace/ulog-protocol-error.js';
import { decodeUlogRequest, encodeUlogRequest } from '../userspace/ulog-request.js';
import { UlogRequestType, ulogRequestTypeName } from '../userspace/ulog-request-type.js';
import { decodeClogCheckpoint } from './clog-checkpoint.js';
import { ClogRequestError } from './clog-request-error.js';
import {
  CLOG_REQUEST_OFFSETS as AT,
  CLOG_REQUEST_HEADER_BYTES,
  CLOG_TFR_COMPAT_VERSIONS,
  CLOG_TFR_VERSION,
  COMPAT_OFFSET,
  DM_ULOG_CHECKPOINT_READY,
  DM_ULOG_MEMBER_JOIN,
  DM_ULOG_RESPONSE,
} from './cluster-constants.js';

/** A sender's byte order, as `version[1]` tells it. */
export type ByteOrder = 'little' | 'big';

/** One cluster message, decoded. */
export interface ClogRequest {
  /** The sending node; for CHECKPOINT_READY, the joiner the checkpoint is for. */
  readonly originator: number;
  /** The point-in-time server (meaningful only in a startup list; 0 on the wire as cmirrord sends). */
  readonly pitServer: number;
  readonly luid: bigint;
  readonly uuid: string;
  /** `u_rq.version`: the kernel's protocol version (0 in a checkpoint, which cmirrord builds itself). */
  readonly version: number;
  readonly error: number;
  /** The kernel's seq (for CHECKPOINT_READY: the sending node). */
  readonly seq: number;
  /** The request type without {@link DM_ULOG_RESPONSE}: 1–17 or CHECKPOINT_READY. */
  readonly requestType: number;
  /** Whether {@link DM_ULOG_RESPONSE} is set: the server's reply. */
  readonly response: boolean;
  readonly data: Uint8Array;
}

/** What {@link decodeClogRequest} read besides the message. */
export interface DecodedClogRequest extends ClogRequest {
  readonly senderByteOrder: ByteOrder;
  /** 5, or 2–4 for an old sender whose struct sat at {@link COMPAT_OFFSET}. */
  readonly transferVersion: number;
}

/** Request types cmirrord multicasts (§4.3): everything else is answered locally. */
export const CLOG_MULTICAST_TYPES: ReadonlySet<number> = new Set([
  UlogRequestType.POSTSUSPEND,
  UlogRequestType.RESUME,
  UlogRequestType.IS_CLEAN,
  UlogRequestType.FLUSH,
  UlogRequestType.MARK_REGION,
  UlogRequestType.CLEAR_REGION,
  UlogRequestType.GET_RESYNC_WORK,
  UlogRequestType.SET_REGION_SYNC,
  UlogRequestType.STATUS_INFO,
  UlogRequestType.IS_REMOTE_RECOVERING,
  DM_ULOG_CHECKPOINT_READY,
]);

/** Request types the server answers (`handle_cluster_request`): not RESUME, CLEAR_REGION, POSTSUSPEND. */
export const CLOG_RESPONSE_TYPES: ReadonlySet<number> = new Set([
  UlogRequestType.IS_CLEAN,
  UlogRequestType.FLUSH,
  UlogRequestType.MARK_REGION,
  UlogRequestType.GET_RESYNC_WORK,
  UlogRequestType.SET_REGION_SYNC,
  UlogRequestType.STATUS_INFO,
  UlogRequestType.IS_REMOTE_RECOVERING,
]);

/** `DM_ULOG_CHECKPOINT_READY` → its name; the ulog names otherwise (`_RQ_TYPE`). */
export function clogRequestTypeName(type: number): string {
  if (type === DM_ULOG_CHECKPOINT_READY) return 'DM_ULOG_CHECKPOINT_READY';
  if (type === DM_ULOG_MEMBER_JOIN) return 'DM_ULOG_MEMBER_JOIN';
  return ulogRequestTypeName(type);
}

const U32_MAX = 0xffff_ffff;

/**
 * Encodes a message as a sender of `senderByteOrder` puts it on the wire
 * (little-endian by default, the simulator's hosts). Throws RangeError for
 * a field its wire type cannot hold and {@link ClogRequestError} for a
 * message the decoder would refuse.
 *
 * @example
 * ```ts
 * const bytes = encodeClogRequest({
 *   originator: 0, pitServer: 0, luid: 0n, uuid: 'log-uuid', version: 3, error: 0,
 *   seq: 7, requestType: UlogRequestType.MARK_REGION, response: false,
 *   data: encodeUlogRegions([5]),
 * });
 * bytes.length; // 192
 * ```
 */
export function encodeClogRequest(
  message: ClogRequest,
  options: { readonly senderByteOrder?: ByteOrder } = {},
): Uint8Array {
  const big = (options.senderByteOrder ?? 'little') === 'big';
  for (const [what, value] of [
    ['originator', message.originator],
    ['pit_server', message.pitServer],
    ['version', message.version],
    ['seq', message.seq],
  ] as const) {
    if (!Number.isInteger(value) || value < 0 || value > U32_MAX) {
      throw new RangeError(`clog_request ${what} ${value} is not a u32`);
    }
  }
  checkMessage(message);
  const bytes = new Uint8Array(CLOG_REQUEST_HEADER_BYTES + message.data.length);
  const view = viewOf(bytes);
  view.setBigUint64(AT.version0, BigInt(CLOG_TFR_VERSION), true);
  view.setBigUint64(AT.version1, BigInt(CLOG_TFR_VERSION), !big);
  view.setUint32(AT.originator, message.originator, true);
  view.setUint32(AT.pitServer, message.pitServer, !big);
  bytes.set(encodeHeader(message), AT.request);
  const requestView = viewOf(bytes.subarray(AT.request, AT.data));
  // The sender-native fields of `u_rq`: compat.c converts neither.
  requestView.setBigUint64(ULOG_HEADER_OFFSETS.luid, message.luid, !big);
  requestView.setUint32(ULOG_HEADER_OFFSETS.version, message.version, !big);
  bytes.set(message.data, AT.data);
  if (big) swapNativePayload(message, bytes.subarray(AT.data));
  return bytes;
}

/**
 * Decodes one whole message: exactly its header and `data_size` bytes of
 * payload (after {@link COMPAT_OFFSET} for a version 2–4 sender). Throws
 * only {@link ClogRequestError}. The payload is copied out of `bytes`.
 */
export function decodeClogRequest(bytes: Uint8Array): DecodedClogRequest {
  if (bytes.length < 16) {
    throw new ClogRequestError(
      'length',
      `is ${bytes.length} bytes`,
      'at least the 16 bytes of the two version words',
    );
  }
  const version = viewOf(bytes).getBigUint64(AT.version0, true);
  if (version === BigInt(CLOG_TFR_VERSION)) return decodeVersion5(bytes, CLOG_TFR_VERSION);
  if (CLOG_TFR_COMPAT_VERSIONS.includes(Number(version)) && version < 5n) {
    if (bytes.length < COMPAT_OFFSET + CLOG_REQUEST_HEADER_BYTES) {
      throw new ClogRequestError(
        'length',
        `is ${bytes.length} bytes in a version ${version} message`,
        `at least ${COMPAT_OFFSET + CLOG_REQUEST_HEADER_BYTES} (the version-5 struct at COMPAT_OFFSET ${COMPAT_OFFSET})`,
      );
    }
    return decodeVersion5(bytes.subarray(COMPAT_OFFSET), Number(version));
  }
  throw new ClogRequestError(
    'version[0]',
    `is ${version} ("Incompatible version")`,
    `${CLOG_TFR_VERSION} (CLOG_TFR_VERSION) or a RHEL 5 version ${CLOG_TFR_COMPAT_VERSIONS.join(', ')}`,
  );
}

function decodeVersion5(bytes: Uint8Array, transferVersion: number): DecodedClogRequest {
  const view = viewOf(bytes);
  const senderByteOrder = byteOrderOf(bytes);
  const little = senderByteOrder === 'little';
  if (bytes.length < CLOG_REQUEST_HEADER_BYTES) {
    throw new ClogRequestError(
      'length',
      `is ${bytes.length} bytes`,
      `at least the ${CLOG_REQUEST_HEADER_BYTES}-byte struct clog_request`,
    );
  }
  const request = bytes.subarray(AT.request, AT.data);
  const requestView = viewOf(request);
  const dataSize = requestView.getUint32(ULOG_HEADER_OFFSETS.dataSize, true);
  const present = bytes.length - CLOG_REQUEST_HEADER_BYTES;
  if (dataSize !== present) {
    throw new ClogRequestError(
      'u_rq.data_size',
      `is ${dataSize} with ${present} payload bytes present`,
      'them equal',
    );
  }
  const rawType = requestView.getUint32(ULOG_HEADER_OFFSETS.requestType, true);
  const header = readHeader(request, little);
  const message: DecodedClogRequest = {
    originator: view.getUint32(AT.originator, true),
    pitServer: view.getUint32(AT.pitServer, little),
    ...header,
    requestType: rawType & ~DM_ULOG_RESPONSE,
    response: (rawType & DM_ULOG_RESPONSE) !== 0,
    data: bytes.slice(AT.data),
    senderByteOrder,
    transferVersion,
  };
  checkMessage(message);
  return message;
}

/** `version[1]`: 5 in the sender's order. */
function byteOrderOf(bytes: Uint8Array): ByteOrder {
  if (bytes.length < 16) {
    throw new ClogRequestError(
      'length',
      `is ${bytes.length} bytes`,
      'at least the two version words',
    );
  }
  const view = viewOf(bytes);
  if (view.getBigUint64(AT.version1, true) === BigInt(CLOG_TFR_VERSION)) return 'little';
  if (view.getBigUint64(AT.version1, false) === BigInt(CLOG_TFR_VERSION)) return 'big';
  throw new ClogRequestError(
    'version[1]',
    `is 0x${view.getBigUint64(AT.version1, true).toString(16)}`,
    `${CLOG_TFR_VERSION} in the sender's byte order, little- or big-endian`,
  );
}

/**
 * The 160-byte `u_rq` through the userspace log's codec: luid, uuid,
 * padding and error as it checks them. The fields a cluster message uses
 * differently — a request type with the response flag or a cluster-only
 * type, a checkpoint's version 0, a payload checked by the caller — are
 * set to neutral values in the copy it sees, and read here.
 */
function readHeader(
  request: Uint8Array,
  little: boolean,
): Pick<ClogRequest, 'luid' | 'uuid' | 'version' | 'error' | 'seq'> {
  const copy = request.slice();
  const view = viewOf(copy);
  const version = view.getUint32(ULOG_HEADER_OFFSETS.version, little);
  const luid = view.getBigUint64(ULOG_HEADER_OFFSETS.luid, little);
  view.setUint32(ULOG_HEADER_OFFSETS.version, Math.max(1, Math.min(version, 3)), true);
  view.setUint32(ULOG_HEADER_OFFSETS.requestType, UlogRequestType.DTR, true);
  view.setUint32(ULOG_HEADER_OFFSETS.dataSize, 0, true);
  try {
    const decoded = decodeUlogRequest(copy, { direction: 'reply' });
    return { luid, uuid: decoded.uuid, version, error: decoded.error, seq: decoded.seq };
  } catch (error) {
    if (!(error instanceof UlogProtocolError)) throw error;
    throw new ClogRequestError(
      'u_rq',
      `is not a valid dm_ulog_request (${error.message})`,
      'the userspace log header',
    );
  }
}

/** The 160 header bytes of `message` from the userspace log's encoder (converted fields little-endian). */
function encodeHeader(message: ClogRequest): Uint8Array {
  const bytes = encodeUlogRequest(
    {
      luid: 0n,
      uuid: message.uuid,
      version: 1,
      error: message.error,
      seq: message.seq,
      requestType: UlogRequestType.DTR,
      data: new Uint8Array(0),
    },
    { direction: 'reply' },
  );
  assert(bytes.length === ULOG_HEADER_BYTES, 'a payload-less dm_ulog_request is not 160 bytes');
  const view = viewOf(bytes);
  view.setUint32(
    ULOG_HEADER_OFFSETS.requestType,
    message.requestType | (message.response ? DM_ULOG_RESPONSE : 0),
    true,
  );
  view.setUint32(ULOG_HEADER_OFFSETS.dataSize, message.data.length, true);
  return bytes;
}

/** Everything about a message beyond its byte layout: what cmirrord actually multicasts. */
function checkMessage(message: ClogRequest): void {
  const type = message.requestType;
  const name = clogRequestTypeName(type);
  if (message.luid !== 0n) {
    throw new ClogRequestError(
      'u_rq.luid',
      `is ${message.luid}`,
      '0 (cluster_send clears it: "the luid loses all its meaning")',
    );
  }
  if (type === DM_ULOG_MEMBER_JOIN) {
    throw new ClogRequestError(
      'u_rq.request_type',
      `is ${name}`,
      'a multicast type: MEMBER_JOIN only waits in a startup list',
    );
  }
  if (!CLOG_MULTICAST_TYPES.has(type)) {
    throw new ClogRequestError(
      'u_rq.request_type',
      `is ${type} (${name})`,
      'a type cmirrord multicasts: POSTSUSPEND, RESUME, IS_CLEAN, FLUSH, MARK_REGION, CLEAR_REGION, GET_RESYNC_WORK, SET_REGION_SYNC, STATUS_INFO, IS_REMOTE_RECOVERING or CHECKPOINT_READY',
    );
  }
  if (type === DM_ULOG_CHECKPOINT_READY) {
    checkCheckpoint(message);
    return;
  }
  if (message.version < 1 || message.version > 3) {
    throw new ClogRequestError(
      'u_rq.version',
      `is ${message.version}`,
      'a kernel protocol version from 1 to 3',
    );
  }
  if (message.response) {
    checkResponse(message);
    return;
  }
  if (message.error !== 0) {
    throw new ClogRequestError('u_rq.error', `is ${message.error} in a request`, '0');
  }
  checkPayload(message, 'request');
}

function checkResponse(message: ClogRequest): void {
  const name = clogRequestTypeName(message.requestType);
  if (!CLOG_RESPONSE_TYPES.has(message.requestType)) {
    throw new ClogRequestError(
      'u_rq.request_type',
      `is a response to ${name}`,
      'a type the server answers',
    );
  }
  if (message.error !== 0) {
    if (message.data.length !== 0) {
      throw new ClogRequestError(
        'u_rq.data_size',
        `is ${message.data.length} in an error response`,
        '0 (do_request clears it)',
      );
    }
    return;
  }
  // The server answers a FLUSH with the request as it came, payload and all (clog_flush sets no size).
  checkPayload(message, message.requestType === UlogRequestType.FLUSH ? 'request' : 'reply');
}

function checkPayload(message: ClogRequest, direction: 'request' | 'reply'): void {
  try {
    checkUlogPayload(message.requestType as never, direction, message.data, message.version);
  } catch (error) {
    if (!(error instanceof UlogProtocolError)) throw error;
    throw new ClogRequestError(
      'u_rq.data',
      `is not a valid payload (${error.message})`,
      `the ${direction} payload of its type`,
    );
  }
}

function checkCheckpoint(message: ClogRequest): void {
  if (message.response) {
    throw new ClogRequestError(
      'u_rq.request_type',
      'is a response to DM_ULOG_CHECKPOINT_READY',
      'a checkpoint, which is never answered',
    );
  }
  if (message.version !== 0 || message.error !== 0) {
    throw new ClogRequestError(
      message.version !== 0 ? 'u_rq.version' : 'u_rq.error',
      `is ${message.version !== 0 ? message.version : message.error} in a checkpoint`,
      '0 (export_checkpoint zeroes the struct)',
    );
  }
  decodeClogCheckpoint(message.data);
}

/** A big-endian sender's payload words that compat.c does not convert: FLUSH marks, checkpoint bitmaps. */
function swapNativePayload(message: ClogRequest, data: Uint8Array): void {
  if (message.requestType === UlogRequestType.FLUSH) swapWords(data, 8);
  if (message.requestType === DM_ULOG_CHECKPOINT_READY) {
    const checkpoint = decodeClogCheckpoint(message.data);
    swapWords(data.subarray(0, checkpoint.bitmapBytes * 2), 4);
  }
}

function swapWords(bytes: Uint8Array, width: number): void {
  for (let start = 0; start + width <= bytes.length; start += width) {
    bytes.subarray(start, start + width).reverse();
  }
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
