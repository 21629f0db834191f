/** The accumulating input queue the NBD parsers read from (pitfall §5.8: frames split or merged). */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { ByteQueue } from '../../../host/nbd/protocol/byte-queue.js';
import { invariantMessage } from '../../assert-test-kit.js';

describe('ByteQueue', () => {
  it('reads big-endian fields across chunk boundaries', () => {
    const queue = new ByteQueue();
    queue.push(Uint8Array.of(0x25));
    queue.push(Uint8Array.of(0x60, 0x95));
    queue.push(new Uint8Array(0));
    queue.push(Uint8Array.of(0x13, 0xab, 0xcd));
    expect(queue.length).toBe(6);
    expect(queue.peekUint32(0)).toBe(0x25609513);
    expect(queue.peekUint16(4)).toBe(0xabcd);
    expect(queue.peekUint32(2)).toBe(0x9513abcd);
    expect(queue.peekByte(5)).toBe(0xcd);
  });

  it('takes, copies into a target and skips, keeping the rest in order', () => {
    const queue = new ByteQueue();
    queue.push(Uint8Array.of(1, 2, 3));
    queue.push(Uint8Array.of(4, 5, 6, 7));
    expect([...queue.take(2)]).toEqual([1, 2]);
    const target = new Uint8Array(5);
    queue.takeInto(target, 1, 3);
    expect([...target]).toEqual([0, 3, 4, 5, 0]);
    queue.skip(1);
    expect(queue.length).toBe(1);
    expect(queue.peekByte(0)).toBe(7);
    queue.clear();
    expect(queue.length).toBe(0);
  });

  it('refuses to read past what it holds', () => {
    const queue = new ByteQueue();
    queue.push(Uint8Array.of(1, 2));
    expect(invariantMessage(() => queue.peekByte(2))).toBe('peek at 2 past 2');
    expect(invariantMessage(() => queue.take(3))).toBe('take of 3 from 2 bytes');
    expect(invariantMessage(() => queue.skip(3))).toBe('skip of 3 from 2 bytes');
    expect(invariantMessage(() => queue.takeInto(new Uint8Array(1), 0, 2))).toBe(
      'take target too small',
    );
  });

  test.prop([fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.array(fc.nat(200))])(
    'any split of a stream reads back the same bytes and words',
    (bytes, cuts) => {
      const queue = new ByteQueue();
      const points = [...new Set(cuts.filter((cut) => cut < bytes.length))].sort((a, b) => a - b);
      let start = 0;
      for (const point of [...points, bytes.length]) {
        queue.push(bytes.slice(start, point));
        start = point;
      }
      if (bytes.length >= 4) {
        const view = new DataView(bytes.buffer, bytes.byteOffset);
        expect(queue.peekUint32(bytes.length - 4)).toBe(view.getUint32(bytes.length - 4));
        expect(queue.peekUint16(0)).toBe(view.getUint16(0));
      }
      expect([...queue.take(bytes.length)]).toEqual([...bytes]);
    },
  );
});
