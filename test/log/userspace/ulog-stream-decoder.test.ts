import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EAGAIN, EINVAL, ENOSPC } from '../../../src/errno.js';
import {
  encodeUlogCtrRequest,
  encodeUlogRegions,
  encodeUlogRequest,
  encodeUlogStatus,
  encodeUlogU64,
  UlogRequestType as T,
  type UlogDirection,
  UlogStreamDecoder,
  type UlogStreamItem,
} from '../../../src/log/userspace/index.js';
import { makeRequest, recordArbitrary, toHex } from './ulog-test-helpers.js';

const RECORDS = [
  makeRequest(T.CTR, encodeUlogCtrRequest('2048 clustered-core 1024'), { seq: 1 }),
  makeRequest(T.RESUME, new Uint8Array(0), { seq: 2 }),
  makeRequest(T.MARK_REGION, encodeUlogRegions([1, 2 ** 40]), { seq: 3 }),
  makeRequest(T.IN_SYNC, encodeUlogU64(9), { seq: 4 }),
];

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  return bytes;
}

/** Feeds `bytes` cut at `cuts`, checking the buffer bound after every push. */
function feed(
  direction: UlogDirection,
  bytes: Uint8Array,
  cuts: readonly number[],
): UlogStreamItem[] {
  const decoder = new UlogStreamDecoder({ direction });
  const limit = 160 + (direction === 'request' ? 332 : 864);
  const items: UlogStreamItem[] = [];
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  let start = 0;
  for (const end of [...points, bytes.length]) {
    items.push(...decoder.push(bytes.subarray(start, end)));
    expect(decoder.bufferedBytes).toBeLessThanOrEqual(limit);
    start = end;
  }
  return items;
}

/** A record item as hex of its re-encoding: deep equality on byte arrays is slow. */
function recordHex(item: UlogStreamItem): string {
  if (item.kind === 'error') return `error ${item.error.message}`;
  const { data, luid, ...fields } = item.record;
  return `${JSON.stringify(fields)} ${luid} ${toHex(data)}`;
}

/** A comparable summary of stream items. */
function summary(items: readonly UlogStreamItem[]) {
  return items.map((item) =>
    item.kind === 'record'
      ? { record: item.record }
      : {
          error: item.error.message,
          errno: item.error.errno,
          seq: item.error.seq,
          fatal: item.error.fatal,
        },
  );
}

describe('§1.2 stream framing', () => {
  const stream = concat(RECORDS.map((record) => encodeUlogRequest(record)));

  it('§1.2 one whole chunk yields every record in order', () => {
    const items = new UlogStreamDecoder({ direction: 'request' }).push(stream);
    expect(items).toEqual(RECORDS.map((record) => ({ kind: 'record', record })));
  });

  it('§1.2 one-byte chunks yield the same records, each on its last byte', () => {
    const decoder = new UlogStreamDecoder({ direction: 'request' });
    const completedAt: number[] = [];
    const items: UlogStreamItem[] = [];
    for (let index = 0; index < stream.length; index++) {
      const got = decoder.push(stream.subarray(index, index + 1));
      if (got.length > 0) completedAt.push(index + 1);
      items.push(...got);
      expect(decoder.bufferedBytes).toBeLessThan(160 + 332);
    }
    expect(items).toEqual(RECORDS.map((record) => ({ kind: 'record', record })));
    const sizes = RECORDS.map((record) => 160 + record.data.length);
    expect(completedAt).toEqual(
      sizes.map((_, index) => sizes.slice(0, index + 1).reduce((a, b) => a + b)),
    );
    expect(decoder.bufferedBytes).toBe(0);
    expect(decoder.end()).toBeNull();
  });

  it('§1.2 buffered bytes count the header, then the payload, of the record in progress', () => {
    const decoder = new UlogStreamDecoder({ direction: 'request' });
    const mark = encodeUlogRequest(RECORDS[2]!);
    expect(decoder.push(mark.subarray(0, 100))).toEqual([]);
    expect(decoder.bufferedBytes).toBe(100);
    expect(decoder.push(mark.subarray(100, 170))).toEqual([]);
    expect(decoder.bufferedBytes).toBe(170);
    expect(decoder.push(mark.subarray(170))).toHaveLength(1);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('§1.2 any chunking of a stream of valid records yields the same records', () => {
    const scenario = fc.constantFrom<UlogDirection>('request', 'reply').chain((direction) =>
      fc.record({
        direction: fc.constant(direction),
        records: fc.array(recordArbitrary(direction), { minLength: 1, maxLength: 6 }),
        cuts: fc.array(fc.nat(), { maxLength: 40 }),
      }),
    );
    fc.assert(
      fc.property(scenario, ({ direction, records, cuts }) => {
        const bytes = concat(records.map((record) => encodeUlogRequest(record, { direction })));
        const items = feed(direction, bytes, cuts);
        expect(items.map(recordHex)).toEqual(
          records.map((record) => recordHex({ kind: 'record', record })),
        );
      }),
      { numRuns: 200 },
    );
  });
});

describe('§1.5 stream errors', () => {
  it('§1.5 a bad record with a sane data_size is reported and framing continues', () => {
    const bad = encodeUlogRequest(makeRequest(T.RESUME, new Uint8Array(0), { seq: 50 }));
    new DataView(bad.buffer).setUint32(152, 0, true); // request_type 0
    const wrongSize = encodeUlogRequest(makeRequest(T.FLUSH, new Uint8Array(0), { seq: 51 }));
    const padded = concat([wrongSize, new Uint8Array(12)]);
    new DataView(padded.buffer).setUint32(156, 12, true); // FLUSH with 12 bytes: not a multiple of 8
    const good = encodeUlogRequest(RECORDS[3]!);
    const items = new UlogStreamDecoder({ direction: 'request' }).push(concat([bad, padded, good]));
    expect(summary(items)).toEqual([
      {
        error: expect.stringMatching(/request_type 0 is not a request/),
        errno: EAGAIN,
        seq: 50,
        fatal: false,
      },
      {
        error: expect.stringMatching(/DM_ULOG_FLUSH request payload is 12 bytes/),
        errno: EINVAL,
        seq: 51,
        fatal: false,
      },
      { record: RECORDS[3] },
    ]);
  });

  it('§3 a data_size over the limit is fatal: reported with its seq, the rest ignored', () => {
    const decoder = new UlogStreamDecoder({ direction: 'request' });
    const hostile = encodeUlogRequest(makeRequest(T.RESUME, new Uint8Array(0), { seq: 77 }));
    new DataView(hostile.buffer).setUint32(156, 0x7fff_ffff, true);
    const items = decoder.push(
      concat([hostile, new Uint8Array(1000), encodeUlogRequest(RECORDS[1]!)]),
    );
    expect(summary(items)).toEqual([
      {
        error:
          'data_size 2147483647 exceeds the 332-byte request payload limit; the stream cannot be resynchronised after it',
        errno: EINVAL,
        seq: 77,
        fatal: true,
      },
    ]);
    expect(decoder.bufferedBytes).toBe(0);
    expect(decoder.fatalError?.seq).toBe(77);
    expect(decoder.push(encodeUlogRequest(RECORDS[1]!))).toEqual([]);
    expect(decoder.bufferedBytes).toBe(0);
    expect(decoder.end()).toBeNull();
  });

  it('§1.5 a reply stream allows 864 payload bytes and refuses 865 with -ENOSPC', () => {
    const status = makeRequest(T.STATUS_INFO, encodeUlogStatus('x'.repeat(864)), { seq: 3 });
    const decoder = new UlogStreamDecoder({ direction: 'reply' });
    expect(decoder.push(encodeUlogRequest(status, { direction: 'reply' }))).toEqual([
      { kind: 'record', record: status },
    ]);
    const header = encodeUlogRequest(
      makeRequest(T.STATUS_INFO, encodeUlogStatus('x'), { seq: 4 }),
      { direction: 'reply' },
    ).slice(0, 160);
    new DataView(header.buffer).setUint32(156, 865, true);
    const [item] = decoder.push(header);
    expect(item?.kind === 'error' && [item.error.errno, item.error.fatal, item.error.seq]).toEqual([
      ENOSPC,
      true,
      4,
    ]);
  });

  it('§1.2 a stream that ends inside a record says how far it got', () => {
    const decoder = new UlogStreamDecoder({ direction: 'request' });
    const mark = encodeUlogRequest(RECORDS[2]!);
    decoder.push(mark.subarray(0, 50));
    const early = decoder.end();
    expect(early?.message).toBe('Stream ended 50 bytes into a record: expected 160 bytes');
    expect(early?.seq).toBeNull();
    decoder.push(mark.subarray(0, 170));
    const late = decoder.end();
    expect(late?.message).toBe('Stream ended 170 bytes into a record: expected 176 bytes');
    expect(late?.seq).toBe(3);
    expect(decoder.bufferedBytes).toBe(0);
    expect(decoder.push(mark)).toEqual([{ kind: 'record', record: RECORDS[2] }]);
  });

  it('§1.2 a stream that ends exactly at the 160-byte header boundary keeps the header', () => {
    const decoder = new UlogStreamDecoder({ direction: 'request' });
    const mark = encodeUlogRequest(RECORDS[2]!);
    expect(decoder.push(mark.subarray(0, 159))).toEqual([]);
    const short = decoder.end();
    expect([short?.message, short?.header, short?.seq]).toEqual([
      'Stream ended 159 bytes into a record: expected 160 bytes',
      null,
      null,
    ]);
    expect(decoder.push(mark.subarray(0, 160))).toEqual([]);
    expect(decoder.push(new Uint8Array(0))).toEqual([]);
    expect(decoder.bufferedBytes).toBe(160);
    const atHeader = decoder.end();
    expect(atHeader?.message).toBe('Stream ended 160 bytes into a record: expected 176 bytes');
    expect(atHeader?.seq).toBe(3);
    expect(toHex(atHeader?.header ?? new Uint8Array(0))).toBe(toHex(mark.subarray(0, 160)));
  });

  it('§1.2 a record with no payload completes on the last byte of its header', () => {
    const decoder = new UlogStreamDecoder({ direction: 'request' });
    const resume = encodeUlogRequest(RECORDS[1]!);
    expect(resume.length).toBe(160);
    expect(decoder.push(resume.subarray(0, 159))).toEqual([]);
    expect(decoder.push(resume.subarray(159))).toEqual([{ kind: 'record', record: RECORDS[1] }]);
    expect(decoder.bufferedBytes).toBe(0);
    expect(decoder.end()).toBeNull();
  });
});
