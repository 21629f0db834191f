/**
 * The table of allowed payloads per request type and direction (§1.4), so
 * that a daemon or a kernel shim can validate any record generically, and
 * {@link checkUlogPayload}, which applies it.
 */
import { EINVAL } from '../../errno.js';
import {
  DM_NAME_LEN,
  MAX_FLUSH_GROUP_COUNT,
  ULOG_REGION_BYTES,
  ULOG_REPLY_PAYLOAD_BYTES_MAX,
  ULOG_REQUEST_PAYLOAD_BYTES_MAX,
  ULOG_VERSION_CTR_DEVICE_NAME,
  ULOG_VERSION_INTEGRATED_FLUSH,
} from './ulog-constants.js';
import { type UlogDirection, ulogOversizeErrno } from './ulog-direction.js';
import { UlogProtocolError } from './ulog-protocol-error.js';
import {
  UlogRequestType,
  type UlogRequestTypeCode,
  ulogRequestTypeName,
} from './ulog-request-type.js';
import {
  decodeUlogCtrReply,
  decodeUlogCtrRequest,
  decodeUlogStatus,
} from './ulog-text-payloads.js';

/** What a payload holds, naming the codec in ulog-binary-payloads.ts or ulog-text-payloads.ts. */
export type UlogPayloadShape =
  | 'none'
  | 'u64'
  | 's64'
  | 'regions'
  | 'resync-work'
  | 'region-sync'
  | 'remote-recovering'
  | 'ctr-string'
  | 'device-name'
  | 'status-text';

/** Allowed payload sizes: `bytesMin ≤ size ≤ bytesMax` and `size % bytesMultiple === 0`. */
export interface UlogPayloadRule {
  readonly shape: UlogPayloadShape;
  readonly bytesMin: number;
  readonly bytesMax: number;
  readonly bytesMultiple: number;
}

/** The request and reply payload rules of one request type. */
export interface UlogTypeRules {
  readonly request: UlogPayloadRule;
  readonly reply: UlogPayloadRule;
}

function exact(shape: UlogPayloadShape, bytes: number): UlogPayloadRule {
  return { shape, bytesMin: bytes, bytesMax: bytes, bytesMultiple: 1 };
}

const NONE = exact('none', 0);
const U64 = exact('u64', 8);
const S64 = exact('s64', 8);
const PAIR = 16;
const REGIONS_MAX_BYTES = MAX_FLUSH_GROUP_COUNT * ULOG_REGION_BYTES;

function regions(bytesMin: number): UlogPayloadRule {
  return {
    shape: 'regions',
    bytesMin,
    bytesMax: REGIONS_MAX_BYTES,
    bytesMultiple: ULOG_REGION_BYTES,
  };
}

/**
 * Per type, what the kernel sends and what it expects back (§1.4). Reply
 * rules apply to successful replies; a reply with `error ≠ 0` is held only
 * to the 864-byte limit, as `fill_pkg` looks at nothing else.
 */
export const ULOG_TYPE_RULES: ReadonlyMap<UlogRequestTypeCode, UlogTypeRules> = new Map<
  UlogRequestTypeCode,
  UlogTypeRules
>([
  [
    UlogRequestType.CTR,
    {
      request: {
        shape: 'ctr-string',
        bytesMin: 1,
        bytesMax: ULOG_REQUEST_PAYLOAD_BYTES_MAX,
        bytesMultiple: 1,
      },
      reply: { shape: 'device-name', bytesMin: 0, bytesMax: DM_NAME_LEN, bytesMultiple: 1 },
    },
  ],
  // DTR: the uapi header says "argv string", but userspace_dtr sends nothing.
  [UlogRequestType.DTR, { request: NONE, reply: NONE }],
  [UlogRequestType.PRESUSPEND, { request: NONE, reply: NONE }],
  [UlogRequestType.POSTSUSPEND, { request: NONE, reply: NONE }],
  [UlogRequestType.RESUME, { request: NONE, reply: NONE }],
  [UlogRequestType.GET_REGION_SIZE, { request: NONE, reply: U64 }],
  [UlogRequestType.IS_CLEAN, { request: U64, reply: S64 }],
  [UlogRequestType.IN_SYNC, { request: U64, reply: S64 }],
  [UlogRequestType.FLUSH, { request: regions(0), reply: NONE }],
  [UlogRequestType.MARK_REGION, { request: regions(ULOG_REGION_BYTES), reply: NONE }],
  [UlogRequestType.CLEAR_REGION, { request: regions(ULOG_REGION_BYTES), reply: NONE }],
  [UlogRequestType.GET_RESYNC_WORK, { request: NONE, reply: exact('resync-work', PAIR) }],
  [UlogRequestType.SET_REGION_SYNC, { request: exact('region-sync', PAIR), reply: NONE }],
  [UlogRequestType.GET_SYNC_COUNT, { request: NONE, reply: U64 }],
  [UlogRequestType.STATUS_INFO, { request: NONE, reply: statusRule() }],
  [UlogRequestType.STATUS_TABLE, { request: NONE, reply: statusRule() }],
  [UlogRequestType.IS_REMOTE_RECOVERING, { request: U64, reply: exact('remote-recovering', PAIR) }],
]);

function statusRule(): UlogPayloadRule {
  return {
    shape: 'status-text',
    bytesMin: 1,
    bytesMax: ULOG_REPLY_PAYLOAD_BYTES_MAX,
    bytesMultiple: 1,
  };
}

/** The payload rule of one type and direction. */
export function ulogPayloadRule(
  type: UlogRequestTypeCode,
  direction: UlogDirection,
): UlogPayloadRule {
  const rules = ULOG_TYPE_RULES.get(type);
  if (rules === undefined) throw new RangeError(`Request type ${type} has no payload rules`);
  return rules[direction];
}

/** True when a payload of `bytes` bytes has a size the rule allows. */
export function isUlogPayloadSizeAllowed(rule: UlogPayloadRule, bytes: number): boolean {
  return bytes >= rule.bytesMin && bytes <= rule.bytesMax && bytes % rule.bytesMultiple === 0;
}

/** `exactly 8 bytes`, `a multiple of 8 from 8 to 256 bytes`, … */
export function describeUlogPayloadRule(rule: UlogPayloadRule): string {
  if (rule.bytesMax === 0) return 'no payload';
  if (rule.bytesMin === rule.bytesMax) return `exactly ${rule.bytesMin} bytes`;
  const range = `from ${rule.bytesMin} to ${rule.bytesMax} bytes`;
  return rule.bytesMultiple === 1 ? range : `a multiple of ${rule.bytesMultiple} ${range}`;
}

/**
 * Checks a payload against its type's rule: the size first (too big is
 * -ENOSPC for a reply, -EINVAL for a request), then the text content, then
 * the features that need a newer protocol version (§1.3).
 */
export function checkUlogPayload(
  type: UlogRequestTypeCode,
  direction: UlogDirection,
  data: Uint8Array,
  version: number,
): void {
  const rule = ulogPayloadRule(type, direction);
  const what = `${ulogRequestTypeName(type)} ${direction} payload`;
  if (!isUlogPayloadSizeAllowed(rule, data.length)) {
    // Stryker disable next-line EqualityOperator: equivalent — a refused size is never bytesMax:
    // every rule in ULOG_TYPE_RULES allows bytesMax itself.
    const errno = data.length > rule.bytesMax ? ulogOversizeErrno(direction) : EINVAL;
    throw new UlogProtocolError(
      `${what} is ${data.length} bytes: expected ${describeUlogPayloadRule(rule)}`,
      { errno },
    );
  }
  checkContent(rule.shape, data, what);
  if (
    type === UlogRequestType.FLUSH &&
    data.length > 0 &&
    version < ULOG_VERSION_INTEGRATED_FLUSH
  ) {
    throw new UlogProtocolError(
      `${what} carries marks in a version ${version} request: expected version ${ULOG_VERSION_INTEGRATED_FLUSH} or later`,
    );
  }
  if (
    type === UlogRequestType.CTR &&
    direction === 'reply' &&
    data.length > 0 &&
    version < ULOG_VERSION_CTR_DEVICE_NAME
  ) {
    throw new UlogProtocolError(
      `${what} carries a device name in a version ${version} reply: expected version ${ULOG_VERSION_CTR_DEVICE_NAME} or later`,
    );
  }
}

function checkContent(shape: UlogPayloadShape, data: Uint8Array, what: string): void {
  try {
    if (shape === 'ctr-string') decodeUlogCtrRequest(data);
    else if (shape === 'device-name') decodeUlogCtrReply(data);
    else if (shape === 'status-text') decodeUlogStatus(data);
    // Every other shape is fixed-size binary, which the size rule has already settled.
  } catch (error) {
    if (!(error instanceof UlogProtocolError)) throw error;
    // Stryker disable next-line ObjectLiteral: equivalent — errno is always -EINVAL here:
    // the size rule has already refused every payload the text codecs answer with -ENOSPC.
    throw new UlogProtocolError(`${what}: ${error.message}`, { errno: error.errno });
  }
}
