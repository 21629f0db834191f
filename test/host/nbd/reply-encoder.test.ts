/** Transmission replies byte for byte (reference nbd.md §3.4, §3.5, with nbdkit's observed bytes). */
import { describe, expect, it } from 'vitest';
import {
  encodeBlockStatusChunk,
  encodeErrorChunk,
  encodeReadPrefix,
  encodeSimpleReply,
} from '../../../host/nbd/protocol/reply-encoder.js';
import { invariantMessage } from '../../assert-test-kit.js';

const COOKIE = { cookieHigh: 0x000055f3, cookieLow: 0x9d5f6030 };
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('reply encoders', () => {
  it('a simple reply echoes the cookie byte for byte (§3.4 [obs])', () => {
    expect(hex(encodeSimpleReply(0, COOKIE))).toBe('67446698' + '00000000' + '000055f39d5f6030');
    expect(hex(encodeSimpleReply(5, COOKIE))).toBe('67446698' + '00000005' + '000055f39d5f6030');
  });

  it('a READ is one OFFSET_DATA chunk marked DONE with structured replies, a simple reply without (§3.5 [obs])', () => {
    expect(hex(encodeReadPrefix(true, COOKIE, 4096, 8))).toBe(
      '668e33ef' + '0001' + '0001' + '000055f39d5f6030' + '00000010' + '0000000000001000',
    );
    expect(hex(encodeReadPrefix(false, COOKIE, 4096, 8))).toBe(hex(encodeSimpleReply(0, COOKIE)));
  });

  it('an ERROR chunk carries the error, the message length and the message', () => {
    const chunk = encodeErrorChunk(22, COOKIE, 'bad');
    expect(hex(chunk)).toBe(
      '668e33ef' +
        '0001' +
        '8001' +
        '000055f39d5f6030' +
        '00000009' +
        '00000016' +
        '0003' +
        '626164',
    );
    const long = encodeErrorChunk(5, COOKIE, 'x'.repeat(5000));
    expect(long.length).toBe(20 + 6 + 1024);
    expect(invariantMessage(() => encodeErrorChunk(0 as 5, COOKIE, 'x'))).toBe(
      'an error chunk carries a nonzero error (§3.5)',
    );
  });

  it('a BLOCK_STATUS chunk carries the context ID and the descriptors (§3.5 [obs])', () => {
    const chunk = encodeBlockStatusChunk(COOKIE, 1, [
      { lengthBytes: 0x8000, flags: 0 },
      { lengthBytes: 0x8000, flags: 3 },
    ]);
    expect(hex(chunk)).toBe(
      '668e33ef' +
        '0001' +
        '0005' +
        '000055f39d5f6030' +
        '00000014' +
        '00000001' +
        '00008000' +
        '00000000' +
        '00008000' +
        '00000003',
    );
    expect(invariantMessage(() => encodeBlockStatusChunk(COOKIE, 1, []))).toBe(
      'a BLOCK_STATUS chunk carries at least one descriptor (§3.5)',
    );
  });
});
