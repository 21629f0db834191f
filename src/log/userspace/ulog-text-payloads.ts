/**
 * Codecs for the text payloads of §1.4: the CTR request string, the
 * optional device name of a CTR reply, and the STATUS_* reply text.
 * Encoders and decoders both throw {@link UlogProtocolError}: -EINVAL for
 * text the protocol does not allow, -ENOSPC for a reply too big for the
 * kernel's buffer (as `fill_pkg` answers, §1.5).
 */
import { ENOSPC } from '../../errno.js';
import {
  asciiBytes,
  asciiText,
  firstRejectedChar,
  hexByte,
  isPrintableAscii,
  isWordChar,
  quotePreview,
} from './_internals/wire.js';
import {
  DM_NAME_LEN,
  ULOG_REPLY_PAYLOAD_BYTES_MAX,
  ULOG_REQUEST_PAYLOAD_BYTES_MAX,
} from './ulog-constants.js';
import { UlogProtocolError } from './ulog-protocol-error.js';

function checkText(text: string, what: string, accept: (code: number) => boolean, rule: string) {
  if (text.length === 0) throw new UlogProtocolError(`${what} is empty: expected ${rule}`);
  const bad = firstRejectedChar(text, accept);
  if (bad >= 0) {
    throw new UlogProtocolError(
      `${what} ${quotePreview(text)} has character ${hexByte(text.charCodeAt(bad))} at ${bad}: expected ${rule}`,
    );
  }
}

/** Rejects NUL bytes anywhere in `bytes`, then checks the characters. */
function textOf(
  bytes: Uint8Array,
  what: string,
  accept: (code: number) => boolean,
  rule: string,
): string {
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    throw new UlogProtocolError(
      `${what} has a NUL at byte ${nul} of ${bytes.length}: expected ${rule}`,
    );
  }
  const text = asciiText(bytes);
  checkText(text, what, accept, rule);
  return text;
}

function withNul(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length + 1);
  bytes.set(asciiBytes(text));
  return bytes;
}

const CTR_RULE = 'printable ASCII, optionally ending in one NUL';

/**
 * The CTR request payload: `"<len> <log type> <args…>"`. With `nulTerminated`
 * (the default) it is strlen+1 bytes, as the reconnect CTR sends it (§2.7);
 * without, strlen bytes, as `userspace_ctr` sends the first CTR. Either way
 * it must fit the 332-byte request payload limit (§3).
 */
export function encodeUlogCtrRequest(ctrString: string, nulTerminated = true): Uint8Array {
  checkText(ctrString, 'CTR string', isPrintableAscii, CTR_RULE);
  const bytes = nulTerminated ? withNul(ctrString) : asciiBytes(ctrString);
  if (bytes.length > ULOG_REQUEST_PAYLOAD_BYTES_MAX) {
    throw new UlogProtocolError(
      `CTR string ${quotePreview(ctrString)} needs ${bytes.length} bytes: expected at most ${ULOG_REQUEST_PAYLOAD_BYTES_MAX} (the request payload limit)`,
    );
  }
  return bytes;
}

/** Reads a CTR request payload, with or without its trailing NUL; a NUL elsewhere is refused. */
export function decodeUlogCtrRequest(data: Uint8Array): string {
  if (data.length > ULOG_REQUEST_PAYLOAD_BYTES_MAX) {
    throw new UlogProtocolError(
      `CTR request payload is ${data.length} bytes: expected at most ${ULOG_REQUEST_PAYLOAD_BYTES_MAX}`,
    );
  }
  // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent — for empty data:
  // data[-1] is undefined, not 0, and subarray(0, -1) of an empty array is empty anyway.
  const body = data.length > 0 && data[data.length - 1] === 0 ? data.subarray(0, -1) : data;
  return textOf(body, 'CTR string', isPrintableAscii, CTR_RULE);
}

const NAME_RULE = 'a NUL-terminated device name of printable ASCII without spaces';

/**
 * The CTR reply payload: nothing (null), or a NUL-terminated device name
 * that fits the kernel's `DM_NAME_LEN` buffer (§1.3, §2.1).
 */
export function encodeUlogCtrReply(deviceName: string | null): Uint8Array {
  if (deviceName === null) return new Uint8Array(0);
  checkText(deviceName, 'CTR reply device name', isWordChar, NAME_RULE);
  if (deviceName.length + 1 > DM_NAME_LEN) {
    throw new UlogProtocolError(
      `CTR reply device name ${quotePreview(deviceName)} needs ${deviceName.length + 1} bytes: expected at most ${DM_NAME_LEN}`,
      { errno: ENOSPC },
    );
  }
  return withNul(deviceName);
}

/** Reads a CTR reply payload: null when empty, else the device name without its NUL. */
export function decodeUlogCtrReply(data: Uint8Array): string | null {
  if (data.length === 0) return null;
  if (data.length > DM_NAME_LEN) {
    throw new UlogProtocolError(
      `CTR reply payload is ${data.length} bytes: expected at most ${DM_NAME_LEN} (DM_NAME_LEN)`,
      { errno: ENOSPC },
    );
  }
  const last = data[data.length - 1] ?? 0;
  if (last !== 0) {
    throw new UlogProtocolError(
      `CTR reply device name ends in byte ${hexByte(last)}: expected ${NAME_RULE}`,
    );
  }
  return textOf(data.subarray(0, -1), 'CTR reply device name', isWordChar, NAME_RULE);
}

const STATUS_RULE = 'non-empty printable ASCII without NUL';

/**
 * A STATUS_INFO or STATUS_TABLE reply: the text itself, strlen bytes and no
 * NUL, as cmirrord sends it. At most 864 bytes (cmirrord's reply buffer, §1.5).
 */
export function encodeUlogStatus(text: string): Uint8Array {
  checkText(text, 'Status text', isPrintableAscii, STATUS_RULE);
  if (text.length > ULOG_REPLY_PAYLOAD_BYTES_MAX) {
    throw new UlogProtocolError(
      `Status text ${quotePreview(text)} is ${text.length} bytes: expected at most ${ULOG_REPLY_PAYLOAD_BYTES_MAX}`,
      { errno: ENOSPC },
    );
  }
  return asciiBytes(text);
}

/** Reads a STATUS_* reply payload. */
export function decodeUlogStatus(data: Uint8Array): string {
  if (data.length > ULOG_REPLY_PAYLOAD_BYTES_MAX) {
    throw new UlogProtocolError(
      `Status reply payload is ${data.length} bytes: expected at most ${ULOG_REPLY_PAYLOAD_BYTES_MAX}`,
      { errno: ENOSPC },
    );
  }
  return textOf(data, 'Status text', isPrintableAscii, STATUS_RULE);
}
