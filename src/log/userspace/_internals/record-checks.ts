/**
 * Field checks shared by the record encoder, the record decoder and the
 * stream framer, so that all three accept exactly the same records.
 * Each throws {@link UlogProtocolError} without a header; the caller
 * attaches the header when it has one.
 */
import { EAGAIN } from '../../../errno.js';
import {
  DM_ULOG_REQUEST_MASK,
  DM_ULOG_REQUEST_VERSION,
  DM_ULOG_REQUEST_VERSION_MIN,
  ULOG_UUID_CHARS_MAX,
} from '../ulog-constants.js';
import { type UlogDirection, ulogOversizeErrno, ulogPayloadBytesMax } from '../ulog-direction.js';
import { checkUlogPayload } from '../ulog-payload-rules.js';
import { UlogProtocolError } from '../ulog-protocol-error.js';
import type { UlogRequest } from '../ulog-request.js';
import {
  isUlogRequestTypeCode,
  ULOG_REQUEST_TYPE_MAX,
  ULOG_REQUEST_TYPE_MIN,
  type UlogRequestTypeCode,
} from '../ulog-request-type.js';
import { firstRejectedChar, hexByte, isWordChar, quotePreview } from './wire.js';

/** `data_size` against the direction's limit, before anything of that size is read or kept. */
export function checkDataSize(dataSize: number, direction: UlogDirection): void {
  const limit = ulogPayloadBytesMax(direction);
  if (dataSize > limit) {
    throw new UlogProtocolError(
      `data_size ${dataSize} exceeds the ${limit}-byte ${direction} payload limit`,
      { errno: ulogOversizeErrno(direction) },
    );
  }
}

/**
 * The raw `request_type` word: reserved upper bits must be clear and the
 * type must be 1–17. Type 0 is answered with -EAGAIN, as cmirrord NACKs a
 * "bad transmission" so that the kernel resends it (§1.5).
 */
export function checkRequestTypeField(raw: number): UlogRequestTypeCode {
  if ((raw & ~DM_ULOG_REQUEST_MASK) !== 0) {
    throw new UlogProtocolError(
      `request_type 0x${raw.toString(16)} has reserved upper bits set: expected only the low 8 bits (mask 0x${DM_ULOG_REQUEST_MASK.toString(16)})`,
    );
  }
  if (raw === 0) {
    throw new UlogProtocolError(
      `request_type 0 is not a request: expected ${ULOG_REQUEST_TYPE_MIN} to ${ULOG_REQUEST_TYPE_MAX}; answered -EAGAIN so the sender resends`,
      { errno: EAGAIN },
    );
  }
  if (!isUlogRequestTypeCode(raw)) {
    throw new UlogProtocolError(
      `request_type ${raw} is unknown: expected ${ULOG_REQUEST_TYPE_MIN} to ${ULOG_REQUEST_TYPE_MAX}`,
    );
  }
  return raw;
}

/** Versions 1–3 are what a kernel may send (§1.3). */
export function checkVersion(version: number): void {
  if (version < DM_ULOG_REQUEST_VERSION_MIN || version > DM_ULOG_REQUEST_VERSION) {
    throw new UlogProtocolError(
      `version ${version} is not supported: expected ${DM_ULOG_REQUEST_VERSION_MIN} to ${DM_ULOG_REQUEST_VERSION}`,
    );
  }
}

/** A uuid is one table word: 1–128 printable ASCII characters without spaces. */
export function checkUuid(uuid: string): void {
  if (uuid.length === 0) {
    throw new UlogProtocolError('uuid is empty: expected 1 to 128 printable ASCII characters');
  }
  if (uuid.length > ULOG_UUID_CHARS_MAX) {
    throw new UlogProtocolError(
      `uuid ${quotePreview(uuid)} is ${uuid.length} characters: expected at most ${ULOG_UUID_CHARS_MAX}`,
    );
  }
  const bad = firstRejectedChar(uuid, isWordChar);
  if (bad >= 0) {
    throw new UlogProtocolError(
      `uuid ${quotePreview(uuid)} has character ${hexByte(uuid.charCodeAt(bad))} at ${bad}: expected printable ASCII without spaces`,
    );
  }
}

/** The kernel zeroes every request, so a request's `error` field is always 0 (§3). */
export function checkErrorField(error: number, direction: UlogDirection): void {
  if (direction === 'request' && error !== 0) {
    throw new UlogProtocolError(
      `error field is ${error} in a request: expected 0, since the kernel zeroes every request`,
    );
  }
}

/**
 * Everything about a whole record beyond its byte layout. A reply with
 * `error ≠ 0` is held only to the size limit: `fill_pkg` copies its data
 * without looking at it (§1.5).
 */
export function checkRecord(request: UlogRequest, direction: UlogDirection): void {
  checkDataSize(request.data.length, direction);
  checkRequestTypeField(request.requestType);
  checkVersion(request.version);
  checkUuid(request.uuid);
  checkErrorField(request.error, direction);
  // Stryker disable next-line ConditionalExpression: equivalent — a request here has error 0:
  // checkErrorField has just thrown for any other, so `direction === "reply"` is implied.
  if (direction === 'reply' && request.error !== 0) return;
  checkUlogPayload(request.requestType, direction, request.data, request.version);
}
