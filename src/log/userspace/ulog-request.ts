/**
 * `struct dm_ulog_request` byte for byte (reference
 * userspace-and-cluster-logs.md §1.2): the one record type of the
 * kernel ⇄ daemon protocol, used for requests and for their replies.
 *
 * | Offset | Field |
 * |---|---|
 * | 0 | `luid` u64 |
 * | 8 | `uuid` char[129], NUL-terminated and NUL-padded |
 * | 137 | 3 bytes of padding, zero |
 * | 140 | `version` u32 |
 * | 144 | `error` s32 |
 * | 148 | `seq` u32 |
 * | 152 | `request_type` u32 |
 * | 156 | `data_size` u32 |
 * | 160 | `data[data_size]` |
 */
import { assert } from '../../assert.js';
import {
  checkDataSize,
  checkRecord,
  checkRequestTypeField,
  checkUuid,
  checkVersion,
} from './_internals/record-checks.js';
import {
  asciiBytes,
  asciiText,
  hexByte,
  LITTLE_ENDIAN,
  S32_MAX,
  S32_MIN,
  U32_MAX,
  U64_MAX,
  viewOf,
} from './_internals/wire.js';
import {
  ULOG_HEADER_OFFSETS as AT,
  DM_UUID_LEN,
  ULOG_HEADER_BYTES,
  ULOG_PADDING_BYTES,
} from './ulog-constants.js';
import type { UlogDirection } from './ulog-direction.js';
import { UlogProtocolError } from './ulog-protocol-error.js';
import type { UlogRequestTypeCode } from './ulog-request-type.js';

/** One `dm_ulog_request`: a request, or the reply that echoes it. `data_size` is `data.length`. */
export interface UlogRequest {
  /** Local unique id of one log instance (u64). */
  readonly luid: bigint;
  /** The log's cluster-wide name: 1–128 printable ASCII characters. */
  readonly uuid: string;
  /** Protocol version, 1–3. */
  readonly version: number;
  /** Reply status, a negative errno or 0 (s32); always 0 in a request. */
  readonly error: number;
  /** Sequence number the reply is matched on (u32). */
  readonly seq: number;
  readonly requestType: UlogRequestTypeCode;
  readonly data: Uint8Array;
}

/** Options of {@link encodeUlogRequest} and {@link decodeUlogRequest}. */
export interface UlogCodecOptions {
  /** Which way the record travels; `request` (kernel → daemon) by default. */
  readonly direction?: UlogDirection;
}

function checkInteger(value: number, what: string, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${what} ${value} is not an integer from ${min} to ${max}`);
  }
}

/**
 * Encodes a record. Throws RangeError for a field its wire type cannot
 * hold, and {@link UlogProtocolError} for a record the protocol refuses
 * (the same checks {@link decodeUlogRequest} makes).
 *
 * @example
 * ```ts
 * const bytes = encodeUlogRequest({
 *   luid: 1n, uuid: 'mirror-1', version: 3, error: 0, seq: 7,
 *   requestType: UlogRequestType.MARK_REGION, data: encodeUlogRegions([1, 2 ** 40]),
 * });
 * bytes.length; // 176
 * ```
 */
export function encodeUlogRequest(
  request: UlogRequest,
  options: UlogCodecOptions = {},
): Uint8Array {
  const direction = options.direction ?? 'request';
  if (request.luid < 0n || request.luid > U64_MAX) {
    throw new RangeError(`luid ${request.luid} is out of range: expected 0 to ${U64_MAX}`);
  }
  checkInteger(request.version, 'version', 0, U32_MAX);
  checkInteger(request.error, 'error', S32_MIN, S32_MAX);
  checkInteger(request.seq, 'seq', 0, U32_MAX);
  checkInteger(request.requestType, 'request_type', 0, U32_MAX);
  checkRecord(request, direction);

  const bytes = new Uint8Array(ULOG_HEADER_BYTES + request.data.length);
  const view = viewOf(bytes);
  view.setBigUint64(AT.luid, request.luid, LITTLE_ENDIAN);
  // The rest of the uuid field and the padding stay zero, as the kernel zeroes its buffer.
  bytes.set(asciiBytes(request.uuid), AT.uuid);
  view.setUint32(AT.version, request.version, LITTLE_ENDIAN);
  view.setInt32(AT.error, request.error, LITTLE_ENDIAN);
  view.setUint32(AT.seq, request.seq, LITTLE_ENDIAN);
  view.setUint32(AT.requestType, request.requestType, LITTLE_ENDIAN);
  view.setUint32(AT.dataSize, request.data.length, LITTLE_ENDIAN);
  bytes.set(request.data, AT.data);
  assert(
    // Stryker disable next-line ConditionalExpression: equivalent — cannot fail:
    // data_size was just written from data.length, and bytes was sized from it.
    bytes.length === ULOG_HEADER_BYTES + view.getUint32(AT.dataSize, LITTLE_ENDIAN),
    // Stryker disable next-line StringLiteral: equivalent — message of an assert that cannot fail
    'encoded record length disagrees with its data_size',
  );
  return bytes;
}

/**
 * Decodes exactly one record: the 160-byte header and then `data_size`
 * bytes, no more and no fewer. Every error is a {@link UlogProtocolError}
 * carrying the errno to answer with and, once the header was readable,
 * that header (so its seq). The payload is copied out of `bytes`.
 */
export function decodeUlogRequest(bytes: Uint8Array, options: UlogCodecOptions = {}): UlogRequest {
  const direction = options.direction ?? 'request';
  if (bytes.length < ULOG_HEADER_BYTES) {
    throw new UlogProtocolError(
      `Record is ${bytes.length} bytes: expected at least the ${ULOG_HEADER_BYTES}-byte header`,
    );
  }
  const header = bytes.subarray(0, ULOG_HEADER_BYTES);
  try {
    const view = viewOf(header);
    const dataSize = view.getUint32(AT.dataSize, LITTLE_ENDIAN);
    // Checked before anything is sliced, so that a hostile size costs nothing.
    checkDataSize(dataSize, direction);
    const present = bytes.length - ULOG_HEADER_BYTES;
    if (present !== dataSize) {
      throw new UlogProtocolError(
        `data_size ${dataSize} disagrees with the ${present} payload bytes present: expected them equal`,
      );
    }
    const requestType = checkRequestTypeField(view.getUint32(AT.requestType, LITTLE_ENDIAN));
    const version = view.getUint32(AT.version, LITTLE_ENDIAN);
    checkVersion(version);
    const uuid = readUuid(header);
    checkPadding(header);
    const request: UlogRequest = {
      luid: view.getBigUint64(AT.luid, LITTLE_ENDIAN),
      uuid,
      version,
      error: view.getInt32(AT.error, LITTLE_ENDIAN),
      seq: view.getUint32(AT.seq, LITTLE_ENDIAN),
      requestType,
      data: bytes.slice(ULOG_HEADER_BYTES),
    };
    // Stryker disable next-line ConditionalExpression,StringLiteral: equivalent — cannot fail:
    // present === dataSize was checked above, and data is exactly the present bytes.
    assert(request.data.length === dataSize, 'decoded payload length disagrees with data_size');
    checkRecord(request, direction);
    return request;
  } catch (error) {
    // Stryker disable next-line ConditionalExpression: equivalent — header is always null here:
    // no check in the try block throws a UlogProtocolError that has a header.
    if (error instanceof UlogProtocolError && error.header === null) {
      throw error.withHeader(header);
    }
    throw error;
  }
}

/** The uuid field must hold a NUL within its 129 bytes and only NULs after it. */
function readUuid(header: Uint8Array): string {
  const field = header.subarray(AT.uuid, AT.uuid + DM_UUID_LEN);
  const nul = field.indexOf(0);
  if (nul < 0) {
    throw new UlogProtocolError(
      `uuid field has no NUL within its ${DM_UUID_LEN} bytes: expected a NUL-terminated uuid`,
    );
  }
  // Stryker disable next-line EqualityOperator: equivalent — field[length] reads as 0 (?? 0)
  for (let index = nul + 1; index < field.length; index++) {
    const byte = field[index] ?? 0;
    if (byte !== 0) {
      throw new UlogProtocolError(
        `uuid field byte ${index} is ${hexByte(byte)} after the NUL at ${nul}: expected NUL padding`,
      );
    }
  }
  const uuid = asciiText(field.subarray(0, nul));
  checkUuid(uuid);
  return uuid;
}

function checkPadding(header: Uint8Array): void {
  for (let index = AT.padding; index < AT.padding + ULOG_PADDING_BYTES; index++) {
    const byte = header[index] ?? 0;
    if (byte !== 0) {
      throw new UlogProtocolError(`padding byte ${index} is ${hexByte(byte)}: expected 0`);
    }
  }
}
