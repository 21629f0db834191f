/** Framing of transmission requests (reference nbd.md §3.1, pitfalls §5.6, §5.8). */
import { describe, expect, it } from 'vitest';
import { ByteQueue } from '../../../host/nbd/protocol/byte-queue.js';
import { NbdRequestParser } from '../../../host/nbd/protocol/request-parser.js';
import { concat, request, u32 } from './nbd-test-kit.js';

function parseAll(bytes: Uint8Array, chunkBytes = bytes.length) {
  const parser = new NbdRequestParser();
  const queue = new ByteQueue();
  const results = [];
  for (let at = 0; at < bytes.length; at += chunkBytes) {
    queue.push(bytes.slice(at, at + chunkBytes));
    for (let item = parser.next(queue); item !== null; item = parser.next(queue)) {
      results.push(item);
      if ('fatal' in item) return { results, parser, queue };
    }
  }
  return { results, parser, queue };
}

describe('NbdRequestParser', () => {
  it('reads the header fields, keeps the cookie as its two halves, and collects a WRITE payload', () => {
    const payload = new Uint8Array(1024).map((_, index) => index & 0xff);
    const bytes = concat(
      request({ type: 1, flags: 1, cookie: 7, offset: 2 ** 40, payload }),
      request({ type: 0, cookie: 8, offset: 512, length: 4096 }),
    );
    const { results } = parseAll(bytes);
    expect(results).toEqual([
      {
        flags: 1,
        type: 1,
        cookieHigh: 0x5eed0000,
        cookieLow: 7,
        offset: 2 ** 40,
        length: 1024,
        payload,
      },
      {
        flags: 0,
        type: 0,
        cookieHigh: 0x5eed0000,
        cookieLow: 8,
        offset: 512,
        length: 4096,
        payload: null,
      },
    ]);
  });

  it('gives the same requests when the stream arrives one byte at a time', () => {
    const bytes = concat(
      request({ type: 1, cookie: 1, payload: new Uint8Array(600).fill(9) }),
      request({ type: 3, cookie: 2 }),
    );
    expect(parseAll(bytes, 1).results).toEqual(parseAll(bytes).results);
  });

  it('waits in the middle of a payload, and says so', () => {
    const parser = new NbdRequestParser();
    const queue = new ByteQueue();
    const bytes = request({ type: 1, payload: new Uint8Array(100) });
    queue.push(bytes.slice(0, 60));
    expect(parser.next(queue)).toBeNull();
    expect(parser.midPayload).toBe(true);
    expect(queue.length, 'the partial payload was buffered, not left queued').toBe(0);
    queue.push(bytes.slice(60));
    expect(parser.next(queue)).toMatchObject({ type: 1, length: 100 });
    expect(parser.midPayload).toBe(false);
  });

  it('marks an offset beyond 2^53 as -1 (always out of range)', () => {
    const bytes = concat(
      u32(0x25609513),
      u32(0),
      u32(0),
      u32(1),
      u32(0x00200000),
      u32(0),
      u32(512),
    );
    expect(parseAll(bytes).results[0]).toMatchObject({ offset: -1 });
  });

  it('drops a payload over 32 MiB but stays in step; one over 64 MiB is fatal (§5.6)', () => {
    const header = request({ type: 1, cookie: 3, length: 33 * 1024 * 1024 });
    const parser = new NbdRequestParser();
    const queue = new ByteQueue();
    queue.push(header);
    queue.push(new Uint8Array(33 * 1024 * 1024));
    queue.push(request({ type: 3, cookie: 4 }));
    expect(parser.next(queue)).toMatchObject({
      cookieLow: 3,
      payload: null,
      length: 33 * 1024 * 1024,
    });
    expect(parser.next(queue)).toMatchObject({ cookieLow: 4, type: 3 });
    const fatal = parseAll(request({ type: 1, length: 64 * 1024 * 1024 + 1 }));
    expect(fatal.results).toEqual([
      { fatal: 'WRITE payload of 67108865 bytes: more than 67108864 cannot be skipped' },
    ]);
  });

  it('a bad magic is fatal: the stream cannot be resynchronised (§3.9)', () => {
    const { results } = parseAll(request({ type: 0, magic: 0x67446698 }));
    expect(results).toEqual([{ fatal: 'request magic 0x67446698 is not 0x25609513' }]);
  });
});
