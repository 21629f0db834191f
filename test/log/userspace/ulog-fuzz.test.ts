/**
 * Properties on hostile input: whatever bytes arrive, the record decoder
 * and the stream framer fail only with UlogProtocolError, keep no more than
 * the payload limit, and accept only records that re-encode to the exact
 * bytes they came from.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeUlogRequest,
  encodeUlogRequest,
  type UlogDirection,
  UlogProtocolError,
  UlogStreamDecoder,
  type UlogStreamItem,
  ulogPayloadBytesMax,
} from '../../../src/log/userspace/index.js';
import { recordArbitrary, toHex } from './ulog-test-helpers.js';

/** Copies `bytes` into a new array of `length` bytes, cutting or zero-extending. */
function resized(bytes: Uint8Array, length: number): Uint8Array {
  const copy = new Uint8Array(Math.max(0, length));
  copy.set(bytes.subarray(0, Math.min(copy.length, bytes.length)));
  return copy;
}

/**
 * Valid records with one kind of damage: a header field set to a small or
 * random value (data_size edits also resize the record, so that the
 * per-type payload rules are reached), a few bytes overwritten, or the
 * length changed.
 */
function mutatedRecord(direction: UlogDirection): fc.Arbitrary<Uint8Array> {
  const encoded = recordArbitrary(direction).map((record) =>
    encodeUlogRequest(record, { direction }),
  );
  const fieldEdit = fc
    .tuple(
      encoded,
      fc.constantFrom(140, 144, 148, 152, 156),
      fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 0xffff_ffff })),
    )
    .map(([bytes, offset, value]) => {
      const sized = offset === 156 && value <= 1000 ? resized(bytes, 160 + value) : bytes.slice();
      new DataView(sized.buffer).setUint32(offset, value, true);
      return sized;
    });
  const byteEdits = fc
    .tuple(
      encoded,
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
        minLength: 1,
        maxLength: 3,
      }),
    )
    .map(([bytes, edits]) => {
      const copy = bytes.slice();
      for (const [at, value] of edits) copy[at % copy.length] = value;
      return copy;
    });
  const lengthEdit = fc
    .tuple(encoded, fc.integer({ min: -200, max: 20 }))
    .map(([bytes, change]) => resized(bytes, bytes.length + (change === 0 ? 1 : change)));
  return fc.oneof(fieldEdit, byteEdits, lengthEdit);
}

function hostileBytes(direction: UlogDirection): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    fc.uint8Array({ maxLength: 1200 }),
    mutatedRecord(direction),
    recordArbitrary(direction).map((record) => encodeUlogRequest(record, { direction })),
  );
}

const DIRECTIONS = ['request', 'reply'] as const;

/** A cheap comparable key for a stream item: deep equality on byte arrays is slow. */
function itemKey(item: UlogStreamItem): string {
  if (item.kind === 'record') {
    const { data, luid, ...fields } = item.record;
    return `record ${JSON.stringify(fields)} ${luid} ${toHex(data)}`;
  }
  const { message, errno, seq, fatal } = item.error;
  return `error ${message} ${errno} ${seq} ${fatal}`;
}

describe('§1.5 hostile bytes', () => {
  for (const direction of DIRECTIONS) {
    it(`§1.5 the ${direction} decoder throws only UlogProtocolError and accepts only exact re-encodings`, () => {
      fc.assert(
        fc.property(hostileBytes(direction), (bytes) => {
          let decoded: ReturnType<typeof decodeUlogRequest>;
          try {
            decoded = decodeUlogRequest(bytes, { direction });
          } catch (error) {
            expect(error).toBeInstanceOf(UlogProtocolError);
            const protocolError = error as UlogProtocolError;
            expect(protocolError.errno).toBeLessThan(0);
            expect(protocolError.header === null).toBe(bytes.length < 160);
            return;
          }
          expect(decoded.data.length).toBeLessThanOrEqual(ulogPayloadBytesMax(direction));
          expect(toHex(encodeUlogRequest(decoded, { direction }))).toBe(toHex(bytes));
        }),
        { numRuns: 1500 },
      );
    });

    it(`§1.5 the ${direction} stream framer stays bounded, never throws, and is chunking-independent`, () => {
      const scenario = fc.record({
        parts: fc.array(hostileBytes(direction), { minLength: 1, maxLength: 5 }),
        cuts: fc.array(fc.nat(), { maxLength: 30 }),
      });
      fc.assert(
        fc.property(scenario, ({ parts, cuts }) => {
          const bytes = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
          let offset = 0;
          for (const part of parts) {
            bytes.set(part, offset);
            offset += part.length;
          }
          const limit = 160 + ulogPayloadBytesMax(direction);
          const chunked = new UlogStreamDecoder({ direction });
          const items: UlogStreamItem[] = [];
          const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort(
            (a, b) => a - b,
          );
          let start = 0;
          for (const end of [...points, bytes.length]) {
            items.push(...chunked.push(bytes.subarray(start, end)));
            expect(chunked.bufferedBytes).toBeLessThanOrEqual(limit);
            start = end;
          }
          const whole = new UlogStreamDecoder({ direction }).push(bytes);
          expect(items.map(itemKey)).toEqual(whole.map(itemKey));
          // Accepted records re-encode to exactly the bytes consumed for them, in order.
          let consumed = 0;
          for (const item of items) {
            if (item.kind === 'record') {
              const encoded = encodeUlogRequest(item.record, { direction });
              expect(toHex(bytes.subarray(consumed, consumed + encoded.length))).toBe(
                toHex(encoded),
              );
              consumed += encoded.length;
            } else {
              expect(item.error).toBeInstanceOf(UlogProtocolError);
              expect(item.error.header).not.toBeNull();
              if (item.error.fatal) break;
              const dataSize = new DataView(bytes.buffer, consumed).getUint32(156, true);
              consumed += 160 + dataSize;
            }
          }
          const fatal = items.some((item) => item.kind === 'error' && item.error.fatal);
          if (!fatal) expect(chunked.bufferedBytes).toBe(bytes.length - consumed);
        }),
        { numRuns: 600 },
      );
    });
  }
});
