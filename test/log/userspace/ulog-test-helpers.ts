/**
 * Shared helpers for the ulog codec tests: hex literals, error matching,
 * and fast-check arbitraries for valid records of every request type.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import {
  encodeUlogCtrReply,
  encodeUlogCtrRequest,
  encodeUlogRegionSync,
  encodeUlogRegions,
  encodeUlogRemoteRecovering,
  encodeUlogResyncWork,
  encodeUlogS64,
  encodeUlogStatus,
  encodeUlogU64,
  type UlogDirection,
  type UlogPayloadShape,
  UlogProtocolError,
  type UlogRequest,
  UlogRequestType,
  type UlogRequestTypeCode,
  ulogPayloadRule,
} from '../../../src/log/userspace/index.js';

/** Bytes from hex written with any whitespace: `hex('0a 00 ff')`. */
export function hex(text: string): Uint8Array {
  const digits = text.replace(/\s+/g, '');
  if (digits.length % 2 !== 0 || !/^[0-9a-f]*$/i.test(digits)) {
    throw new Error(`Bad hex literal: ${text}`);
  }
  const bytes = new Uint8Array(digits.length / 2);
  for (let index = 0; index < bytes.length; index++) {
    bytes[index] = Number.parseInt(digits.slice(index * 2, index * 2 + 2), 16);
  }
  return bytes;
}

/** Lower-case hex of bytes, two digits per byte, no spaces. */
export function toHex(bytes: Uint8Array): string {
  return [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** `count` zero bytes as hex. */
export function zeros(count: number): string {
  return ' 00'.repeat(count);
}

/** Runs `fn`, expects a UlogProtocolError, checks errno/seq/message, and returns it. */
export function expectProtocolError(
  fn: () => unknown,
  expected: { errno: number; seq?: number | null; message: RegExp; fatal?: boolean },
): UlogProtocolError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(UlogProtocolError);
  const error = caught as UlogProtocolError;
  expect(error.message).toMatch(expected.message);
  expect(error.errno).toBe(expected.errno);
  if (expected.seq !== undefined) expect(error.seq).toBe(expected.seq);
  if (expected.fatal !== undefined) expect(error.fatal).toBe(expected.fatal);
  return error;
}

/** A valid request of the given type with the given payload and defaults elsewhere. */
export function makeRequest(
  requestType: UlogRequestTypeCode,
  data: Uint8Array = new Uint8Array(0),
  fields: Partial<UlogRequest> = {},
): UlogRequest {
  return { luid: 1n, uuid: 'LVM-test', version: 3, error: 0, seq: 1, requestType, data, ...fields };
}

const U64_MAX = (1n << 64n) - 1n;
const S64_MIN = -(1n << 63n);
const S64_MAX = (1n << 63n) - 1n;

function textArbitrary(min: number, max: number, low: number): fc.Arbitrary<string> {
  return fc
    .array(fc.integer({ min: low, max: 0x7e }), { minLength: min, maxLength: max })
    .map((codes) => String.fromCharCode(...codes));
}

/** A uuid: 1–128 printable ASCII characters without spaces. */
export const uuidArbitrary = textArbitrary(1, 128, 0x21);

const u64 = fc.bigInt({ min: 0n, max: U64_MAX });
const s64 = fc.bigInt({ min: S64_MIN, max: S64_MAX });

/** A valid payload of one shape, between the rule's size bounds. */
export function payloadArbitrary(
  shape: UlogPayloadShape,
  bytesMin: number,
): fc.Arbitrary<Uint8Array> {
  switch (shape) {
    case 'none':
      return fc.constant(new Uint8Array(0));
    case 'u64':
      return u64.map((value) => encodeUlogU64(value));
    case 's64':
      return s64.map((value) => encodeUlogS64(value));
    case 'regions':
      return fc
        .array(u64, { minLength: bytesMin / 8, maxLength: 32 })
        .map((regions) => encodeUlogRegions(regions));
    case 'resync-work':
      return fc.record({ result: s64, region: u64 }).map((work) => encodeUlogResyncWork(work));
    case 'region-sync':
      return fc.record({ region: u64, inSync: s64 }).map((sync) => encodeUlogRegionSync(sync));
    case 'remote-recovering':
      return fc
        .record({ isRecovering: s64, inSyncHint: u64 })
        .map((answer) => encodeUlogRemoteRecovering(answer));
    case 'ctr-string':
      return fc
        .tuple(textArbitrary(1, 331, 0x20), fc.boolean())
        .map(([text, nul]) => encodeUlogCtrRequest(text, nul));
    case 'device-name':
      return fc
        .option(textArbitrary(1, 127, 0x21), { nil: null })
        .map((name) => encodeUlogCtrReply(name));
    case 'status-text':
      return textArbitrary(1, 864, 0x20).map((text) => encodeUlogStatus(text));
  }
}

/** A valid record of any type travelling `direction` (a reply has error 0 or no data). */
export function recordArbitrary(direction: UlogDirection): fc.Arbitrary<UlogRequest> {
  const types = Object.values(UlogRequestType);
  return fc.constantFrom(...types).chain((requestType) => {
    const rule = ulogPayloadRule(requestType, direction);
    const errorArbitrary =
      direction === 'request'
        ? fc.constant(0)
        : fc.oneof(fc.constant(0), fc.integer({ min: -133, max: -1 }));
    return fc
      .record({
        luid: u64,
        uuid: uuidArbitrary,
        // Marks in FLUSH and a device name in a CTR reply need versions 3 and 2 (§1.3).
        version: fc.integer({ min: 1, max: 3 }),
        error: errorArbitrary,
        seq: fc.integer({ min: 0, max: 0xffff_ffff }),
        requestType: fc.constant(requestType),
        data: payloadArbitrary(rule.shape, rule.bytesMin),
      })
      .map((record) => {
        const needsV3 = requestType === UlogRequestType.FLUSH && record.data.length > 0;
        const needsV2 =
          requestType === UlogRequestType.CTR && direction === 'reply' && record.data.length > 0;
        const version = needsV3 ? 3 : needsV2 ? Math.max(2, record.version) : record.version;
        const data = record.error === 0 ? record.data : new Uint8Array(0);
        return { ...record, version, data };
      });
  });
}
