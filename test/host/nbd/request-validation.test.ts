/** Which requests are served and which get an error reply, as nbdkit's validate_request decides (§3.2, §3.3, §2.7). */
import { describe, expect, it } from 'vitest';
import type { NbdSession } from '../../../host/nbd/protocol/handshake.js';
import type { NbdRequest } from '../../../host/nbd/protocol/request-parser.js';
import { validateRequest } from '../../../host/nbd/protocol/request-validation.js';

const SIZE = 1024 * 1024;
const STRUCTURED: NbdSession = {
  structuredReplies: true,
  baseAllocation: true,
  transmissionFlags: 0x1ed,
  enteredBy: 'GO',
};
const SIMPLE: NbdSession = { ...STRUCTURED, structuredReplies: false, baseAllocation: false };

function check(spec: Partial<NbdRequest> & { type: number }, session = STRUCTURED) {
  const request: NbdRequest = {
    flags: 0,
    cookieHigh: 0,
    cookieLow: 1,
    offset: 0,
    length: 4096,
    payload: spec.type === 1 ? new Uint8Array(spec.length ?? 4096) : null,
    ...spec,
  };
  return validateRequest(request, session, SIZE);
}

describe('validateRequest', () => {
  it('serves well-formed READ, WRITE, FLUSH, TRIM, WRITE_ZEROES and BLOCK_STATUS', () => {
    expect(check({ type: 0, flags: 0x04 })).toBeNull();
    expect(check({ type: 1, flags: 0x01, offset: SIZE - 4096 })).toBeNull();
    expect(check({ type: 3, length: 0 })).toBeNull();
    expect(check({ type: 4, flags: 0x01 })).toBeNull();
    expect(check({ type: 6, flags: 0x03, length: SIZE })).toBeNull();
    expect(check({ type: 7, flags: 0x08, length: SIZE })).toBeNull();
  });

  it('refuses unknown and unadvertised commands with EINVAL (CACHE, RESIZE, 99)', () => {
    for (const type of [5, 8, 99]) expect(check({ type })).toMatchObject({ errno: 22 });
    expect(check({ type: 5 })?.message).toBe('unknown command CACHE');
  });

  it('refuses flags that are unknown, unadvertised or on the wrong command', () => {
    expect(check({ type: 1, flags: 0x10 })?.message).toBe('WRITE: unknown flags 0x10');
    expect(check({ type: 6, flags: 0x10 })?.message, 'FAST_ZERO is not advertised').toMatch(
      /unknown flags/,
    );
    expect(check({ type: 1, flags: 0x20 })?.message, 'PAYLOAD_LEN needs extended headers').toMatch(
      /unknown flags/,
    );
    expect(check({ type: 1, flags: 0x02 })?.message).toBe('WRITE: NO_HOLE needs WRITE_ZEROES');
    expect(check({ type: 1, flags: 0x04 })?.message).toBe('WRITE: DF needs READ');
    expect(check({ type: 0, flags: 0x04 }, SIMPLE)?.message).toBe(
      'READ: DF needs structured replies',
    );
    expect(check({ type: 0, flags: 0x08 })?.message).toBe('READ: REQ_ONE needs BLOCK_STATUS');
  });

  it('past the end: ENOSPC for WRITE and WRITE_ZEROES, EINVAL for the others (§3.6)', () => {
    expect(check({ type: 1, offset: SIZE })).toMatchObject({ errno: 28 });
    expect(check({ type: 6, offset: SIZE - 512, length: 1024 })).toMatchObject({ errno: 28 });
    expect(check({ type: 0, offset: SIZE - 512, length: 1024 })).toMatchObject({ errno: 22 });
    expect(check({ type: 4, offset: -1 })?.message).toBe(
      'TRIM: offset ≥ 2^53 and length 4096 run past the end of the export (1048576 bytes)',
    );
  });

  it('refuses zero lengths, requests not aligned to 512 bytes, and FLUSH with a range', () => {
    expect(check({ type: 0, length: 0 })?.message).toBe('READ: zero length');
    expect(check({ type: 0, offset: 100 })?.message).toMatch(/multiples of the 512-byte minimum/);
    expect(check({ type: 4, length: 513 })).toMatchObject({ errno: 22 });
    expect(check({ type: 3, offset: 512, length: 0 })?.message).toBe(
      'FLUSH: offset and length must be 0',
    );
  });

  it('refuses READ and WRITE over the 32 MiB maximum payload (§2.7), not TRIM or WRITE_ZEROES', () => {
    const big = 33 * 1024 * 1024;
    const session = STRUCTURED;
    const huge = (type: number) =>
      validateRequest(
        { flags: 0, type, cookieHigh: 0, cookieLow: 1, offset: 0, length: big, payload: null },
        session,
        64 * 1024 * 1024,
      );
    expect(huge(0)?.message).toBe('READ: 34603008 bytes exceed the 33554432-byte maximum payload');
    expect(huge(1)?.errno).toBe(22);
    expect(huge(4)).toBeNull();
    expect(huge(6)).toBeNull();
  });

  it('BLOCK_STATUS needs structured replies and a selected context (§5.5)', () => {
    expect(check({ type: 7 }, SIMPLE)?.message).toBe(
      'BLOCK_STATUS: structured replies were not negotiated',
    );
    expect(check({ type: 7 }, { ...STRUCTURED, baseAllocation: false })?.message).toBe(
      'BLOCK_STATUS: no metadata context was selected',
    );
  });
});
