import { describe, expect, it } from 'vitest';
import { EINVAL, ENOSPC } from '../../../src/errno.js';
import {
  decodeUlogCtrReply,
  decodeUlogCtrRequest,
  decodeUlogRegionSync,
  decodeUlogRegions,
  decodeUlogRemoteRecovering,
  decodeUlogResyncWork,
  decodeUlogS64,
  decodeUlogStatus,
  decodeUlogU64,
  encodeUlogCtrReply,
  encodeUlogCtrRequest,
  encodeUlogRegionSync,
  encodeUlogRegions,
  encodeUlogRemoteRecovering,
  encodeUlogResyncWork,
  encodeUlogS64,
  encodeUlogStatus,
  encodeUlogU64,
  UlogProtocolError,
} from '../../../src/log/userspace/index.js';
import { expectProtocolError, hex, toHex } from './ulog-test-helpers.js';

describe('§1.4 binary payloads', () => {
  it('§1.4 u64 covers 0 to 2^64-1 little-endian and refuses anything else', () => {
    expect(toHex(encodeUlogU64(0))).toBe('0000000000000000');
    expect(toHex(encodeUlogU64((1n << 64n) - 1n))).toBe('ffffffffffffffff');
    expect(decodeUlogU64(hex('00 00 00 00 00 00 00 80'))).toBe(1n << 63n);
    expect(() => encodeUlogU64(-1)).toThrow(
      /u64 value -1 is out of range: expected 0 to 18446744073709551615/,
    );
    expect(() => encodeUlogU64(1n << 64n)).toThrow(RangeError);
    expect(() => encodeUlogU64(1.5)).toThrow(/u64 value 1.5 is not a safe integer/);
    expect(() => encodeUlogU64(2 ** 53)).toThrow(RangeError);
  });

  it('§1.4 s64 covers -2^63 to 2^63-1 in two’s complement', () => {
    expect(toHex(encodeUlogS64(-1))).toBe('ffffffffffffffff');
    expect(toHex(encodeUlogS64(-(1n << 63n)))).toBe('0000000000000080');
    expect(decodeUlogS64(hex('fe ff ff ff ff ff ff ff'))).toBe(-2n);
    expect(() => encodeUlogS64(1n << 63n)).toThrow(/s64 value 9223372036854775808 is out of range/);
  });

  it('§1.4 a single u64 or s64 payload must be exactly 8 bytes', () => {
    expectProtocolError(() => decodeUlogU64(new Uint8Array(4)), {
      errno: EINVAL,
      seq: null,
      message: /u64 payload is 4 bytes: expected exactly 8/,
    });
    expectProtocolError(() => decodeUlogS64(new Uint8Array(9)), {
      errno: EINVAL,
      message: /s64 payload is 9 bytes: expected exactly 8/,
    });
  });

  it('§2.2 a region list holds 0 to 32 u64s', () => {
    const regions = Array.from({ length: 32 }, (_, index) => BigInt(index) << 33n);
    const data = encodeUlogRegions(regions);
    expect(data.length).toBe(256);
    expect(decodeUlogRegions(data)).toEqual(regions);
    expect(decodeUlogRegions(new Uint8Array(0))).toEqual([]);
    expectProtocolError(() => encodeUlogRegions([...regions, 1n]), {
      errno: EINVAL,
      message: /Region list has 33 entries: expected at most 32/,
    });
    expect(() => encodeUlogRegions([1, -1])).toThrow(/Region \[1\] -1 is out of range/);
  });

  it('§2.2 a region list payload is a multiple of 8 bytes and at most 32 regions', () => {
    expectProtocolError(() => decodeUlogRegions(new Uint8Array(12)), {
      errno: EINVAL,
      message: /Region list payload is 12 bytes: expected a multiple of 8/,
    });
    expectProtocolError(() => decodeUlogRegions(new Uint8Array(264)), {
      errno: EINVAL,
      message: /Region list payload holds 33 regions: expected at most 32/,
    });
  });

  it('§1.4 GET_RESYNC_WORK reply is {s64 i; u64 r}', () => {
    const data = encodeUlogResyncWork({ result: -1n, region: 7 });
    expect(toHex(data)).toBe('ffffffffffffffff0700000000000000');
    expect(decodeUlogResyncWork(data)).toEqual({ result: -1n, region: 7n });
    expectProtocolError(() => decodeUlogResyncWork(new Uint8Array(8)), {
      errno: EINVAL,
      message: /GET_RESYNC_WORK reply payload is 8 bytes: expected exactly 16/,
    });
  });

  it('§1.4 SET_REGION_SYNC request is {u64 region; s64 in_sync}, the opposite order', () => {
    const data = encodeUlogRegionSync({ region: 7, inSync: 0 });
    expect(toHex(data)).toBe('07000000000000000000000000000000');
    expect(decodeUlogRegionSync(hex('07 00 00 00 00 00 00 00 01 00 00 00 00 00 00 00'))).toEqual({
      region: 7n,
      inSync: 1n,
    });
    expectProtocolError(() => decodeUlogRegionSync(new Uint8Array(17)), {
      errno: EINVAL,
      message: /SET_REGION_SYNC request payload is 17 bytes: expected exactly 16/,
    });
  });

  it('§1.4 IS_REMOTE_RECOVERING reply is {s64 is_recovering; u64 in_sync_hint}', () => {
    const data = encodeUlogRemoteRecovering({ isRecovering: 1, inSyncHint: 0x1_0000_0000n });
    expect(toHex(data)).toBe('01000000000000000000000001000000');
    expect(decodeUlogRemoteRecovering(data)).toEqual({ isRecovering: 1n, inSyncHint: 1n << 32n });
    expectProtocolError(() => decodeUlogRemoteRecovering(new Uint8Array(0)), {
      errno: EINVAL,
      message: /IS_REMOTE_RECOVERING reply payload is 0 bytes: expected exactly 16/,
    });
  });
});

const U64_RANGE = 'expected 0 to 18446744073709551615';
const S64_RANGE = 'expected -9223372036854775808 to 9223372036854775807';

describe('§1.4 binary payloads at the edges of their fields', () => {
  it('§1.4 u64 above 2^63 and negative s64 are written little-endian byte for byte', () => {
    expect(toHex(encodeUlogU64((1n << 63n) + 0x0102n))).toBe('0201000000000080');
    expect(toHex(encodeUlogU64(0xfedc_ba98_7654_3210n))).toBe('1032547698badcfe');
    expect(toHex(encodeUlogS64(-2))).toBe('feffffffffffffff');
    expect(toHex(encodeUlogS64(-0x0102_0304_0506_0708n))).toBe('f8f8f9fafbfcfdfe');
    expect(toHex(encodeUlogS64((1n << 63n) - 1n))).toBe('ffffffffffffff7f');
  });

  it('§1.4 a single u64 or s64 out of range names its field and the range', () => {
    expect(() => encodeUlogU64(1n << 64n)).toThrow(
      new RangeError(`u64 value 18446744073709551616 is out of range: ${U64_RANGE}`),
    );
    expect(() => encodeUlogS64(-(1n << 63n) - 1n)).toThrow(
      new RangeError(`s64 value -9223372036854775809 is out of range: ${S64_RANGE}`),
    );
  });

  it('§1.4 GET_RESYNC_WORK {s64 i; u64 r} holds both extremes of each field', () => {
    expect(toHex(encodeUlogResyncWork({ result: -(1n << 63n), region: (1n << 64n) - 1n }))).toBe(
      '0000000000000080ffffffffffffffff',
    );
    expect(toHex(encodeUlogResyncWork({ result: -2, region: (1n << 63n) + 1n }))).toBe(
      'feffffffffffffff0100000000000080',
    );
    expect(() => encodeUlogResyncWork({ result: 1n << 63n, region: 0 })).toThrow(
      new RangeError(`Resync work result 9223372036854775808 is out of range: ${S64_RANGE}`),
    );
    expect(() => encodeUlogResyncWork({ result: 1, region: -1 })).toThrow(
      new RangeError(`Resync work region -1 is out of range: ${U64_RANGE}`),
    );
    expect(() => encodeUlogResyncWork({ result: 1, region: 2 ** 53 })).toThrow(
      new RangeError('Resync work region 9007199254740992 is not a safe integer'),
    );
  });

  it('§1.4 SET_REGION_SYNC {u64 region; s64 in_sync} holds both extremes of each field', () => {
    expect(toHex(encodeUlogRegionSync({ region: (1n << 64n) - 1n, inSync: -(1n << 63n) }))).toBe(
      'ffffffffffffffff0000000000000080',
    );
    expect(toHex(encodeUlogRegionSync({ region: 1n << 63n, inSync: -1 }))).toBe(
      '0000000000000080ffffffffffffffff',
    );
    expect(() => encodeUlogRegionSync({ region: 1n << 64n, inSync: 0 })).toThrow(
      new RangeError(`Region sync region 18446744073709551616 is out of range: ${U64_RANGE}`),
    );
    expect(() => encodeUlogRegionSync({ region: 0, inSync: -(1n << 63n) - 1n })).toThrow(
      new RangeError(`Region sync in_sync -9223372036854775809 is out of range: ${S64_RANGE}`),
    );
  });

  it('§1.4 IS_REMOTE_RECOVERING {s64 is_recovering; u64 in_sync_hint} holds both extremes', () => {
    expect(
      toHex(encodeUlogRemoteRecovering({ isRecovering: -1, inSyncHint: (1n << 63n) + 2n })),
    ).toBe('ffffffffffffffff0200000000000080');
    expect(() => encodeUlogRemoteRecovering({ isRecovering: 1n << 63n, inSyncHint: 0 })).toThrow(
      new RangeError(`is_recovering 9223372036854775808 is out of range: ${S64_RANGE}`),
    );
    expect(() => encodeUlogRemoteRecovering({ isRecovering: 0, inSyncHint: -1n })).toThrow(
      new RangeError(`in_sync_hint -1 is out of range: ${U64_RANGE}`),
    );
  });
});

describe('§1.4 text payloads', () => {
  it('§2.1 the CTR string is sent with its NUL (strlen+1) or without (strlen)', () => {
    expect(toHex(encodeUlogCtrRequest('8 core 2'))).toBe('3820636f7265203200');
    expect(toHex(encodeUlogCtrRequest('8 core 2', false))).toBe('3820636f72652032');
    expect(decodeUlogCtrRequest(hex('38 20 63 6f 72 65 20 32 00'))).toBe('8 core 2');
    expect(decodeUlogCtrRequest(hex('38 20 63 6f 72 65 20 32'))).toBe('8 core 2');
  });

  it('§3 the CTR string must fit the 332-byte request payload', () => {
    expect(encodeUlogCtrRequest('x'.repeat(331)).length).toBe(332);
    expect(encodeUlogCtrRequest('x'.repeat(332), false).length).toBe(332);
    expectProtocolError(() => encodeUlogCtrRequest('x'.repeat(332)), {
      errno: EINVAL,
      message: /CTR string "x+…" needs 333 bytes: expected at most 332/,
    });
    expectProtocolError(() => decodeUlogCtrRequest(new Uint8Array(333).fill(0x78)), {
      errno: EINVAL,
      message: /CTR request payload is 333 bytes: expected at most 332/,
    });
  });

  it('§1.4 the CTR string is non-empty printable ASCII', () => {
    expectProtocolError(() => encodeUlogCtrRequest(''), {
      errno: EINVAL,
      message: /CTR string is empty: expected printable ASCII/,
    });
    expectProtocolError(() => encodeUlogCtrRequest('8 caf\u00e9'), {
      errno: EINVAL,
      message: /CTR string "8 café" has character 0xe9 at 5: expected printable ASCII/,
    });
    expectProtocolError(() => encodeUlogCtrRequest('8\tcore'), {
      errno: EINVAL,
      message: /has character 0x09 at 1/,
    });
  });

  it('§2.1 the CTR reply is nothing or a NUL-terminated name within DM_NAME_LEN', () => {
    expect(encodeUlogCtrReply(null).length).toBe(0);
    expect(decodeUlogCtrReply(new Uint8Array(0))).toBeNull();
    expect(toHex(encodeUlogCtrReply('253:2'))).toBe('3235333a3200');
    expect(decodeUlogCtrReply(hex('32 35 33 3a 32 00'))).toBe('253:2');
    expect(encodeUlogCtrReply('d'.repeat(127)).length).toBe(128);
    expectProtocolError(() => encodeUlogCtrReply('d'.repeat(128)), {
      errno: ENOSPC,
      message: /CTR reply device name "d+…" needs 129 bytes: expected at most 128/,
    });
    expectProtocolError(() => encodeUlogCtrReply('my dev'), {
      errno: EINVAL,
      message: /CTR reply device name "my dev" has character 0x20 at 2/,
    });
  });

  it('§2.1 a CTR reply name must end in NUL, like the kernel checks', () => {
    expectProtocolError(() => decodeUlogCtrReply(hex('32 35 33')), {
      errno: EINVAL,
      message: /CTR reply device name ends in byte 0x33: expected a NUL-terminated device name/,
    });
    expectProtocolError(() => decodeUlogCtrReply(hex('32 00 33 00')), {
      errno: EINVAL,
      message: /CTR reply device name has a NUL at byte 1 of 3/,
    });
    expectProtocolError(() => decodeUlogCtrReply(hex('00')), {
      errno: EINVAL,
      message: /CTR reply device name is empty/,
    });
    expectProtocolError(() => decodeUlogCtrReply(new Uint8Array(129)), {
      errno: ENOSPC,
      message: /CTR reply payload is 129 bytes: expected at most 128/,
    });
  });

  it('§1.5 a status reply is ASCII without NUL, at most 864 bytes', () => {
    expect(toHex(encodeUlogStatus('3 clustered-disk 253:2 A'))).toBe(
      '3320636c757374657265642d6469736b203235333a322041',
    );
    expect(decodeUlogStatus(hex('31 20 63 6f 72 65'))).toBe('1 core');
    expect(encodeUlogStatus('s'.repeat(864)).length).toBe(864);
    expectProtocolError(() => encodeUlogStatus('s'.repeat(865)), {
      errno: ENOSPC,
      message: /Status text "s+…" is 865 bytes: expected at most 864/,
    });
    expectProtocolError(() => decodeUlogStatus(hex('31 09')), {
      errno: EINVAL,
      message:
        /^Status text "1.*" has character 0x09 at 1: expected non-empty printable ASCII without NUL$/,
    });
    expectProtocolError(() => decodeUlogStatus(hex('31 00')), {
      errno: EINVAL,
      message: /Status text has a NUL at byte 1 of 2/,
    });
    expectProtocolError(() => decodeUlogStatus(new Uint8Array(0)), {
      errno: EINVAL,
      message: /Status text is empty/,
    });
    expectProtocolError(() => decodeUlogStatus(new Uint8Array(865).fill(0x73)), {
      errno: ENOSPC,
      message: /Status reply payload is 865 bytes: expected at most 864/,
    });
  });
});

describe('§1.4 text payloads at their boundaries', () => {
  const CTR_RULE = 'expected printable ASCII, optionally ending in one NUL';
  const NAME_RULE = 'expected a NUL-terminated device name of printable ASCII without spaces';
  const STATUS_RULE = 'expected non-empty printable ASCII without NUL';
  /** A codec error with exactly this message, -EINVAL unless given, and no header. */
  const refusal = (message: string, errno = EINVAL) => new UlogProtocolError(message, { errno });

  it('§1.4 a bad character or a NUL at index 0 is found, not skipped', () => {
    expect(() => encodeUlogCtrReply(' dev')).toThrow(
      refusal(`CTR reply device name " dev" has character 0x20 at 0: ${NAME_RULE}`),
    );
    expect(() => decodeUlogCtrRequest(hex('0a 38 00'))).toThrow(
      refusal(`CTR string "\\n8" has character 0x0a at 0: ${CTR_RULE}`),
    );
    expect(() => decodeUlogStatus(hex('00 31'))).toThrow(
      refusal(`Status text has a NUL at byte 0 of 2: ${STATUS_RULE}`),
    );
    expect(() => decodeUlogCtrRequest(hex('00 38 00'))).toThrow(
      refusal(`CTR string has a NUL at byte 0 of 2: ${CTR_RULE}`),
    );
  });

  it('§1.5 an empty status text is refused with the status rule', () => {
    expect(() => encodeUlogStatus('')).toThrow(refusal(`Status text is empty: ${STATUS_RULE}`));
    expect(() => decodeUlogStatus(new Uint8Array(0))).toThrow(
      refusal(`Status text is empty: ${STATUS_RULE}`),
    );
  });

  it('§2.1 an empty CTR payload and a lone NUL are both an empty CTR string', () => {
    for (const data of [new Uint8Array(0), hex('00')]) {
      expect(() => decodeUlogCtrRequest(data)).toThrow(refusal(`CTR string is empty: ${CTR_RULE}`));
    }
  });

  it('§3 a CTR request payload of exactly 332 bytes decodes, with or without its NUL', () => {
    expect(decodeUlogCtrRequest(new Uint8Array(332).fill(0x78))).toBe('x'.repeat(332));
    const withNul = new Uint8Array(332).fill(0x78);
    withNul[331] = 0;
    expect(decodeUlogCtrRequest(withNul)).toBe('x'.repeat(331));
    expect(() => decodeUlogCtrRequest(new Uint8Array(333).fill(0x78))).toThrow(
      refusal('CTR request payload is 333 bytes: expected at most 332'),
    );
  });

  it('§2.1 a CTR reply of exactly DM_NAME_LEN bytes (127 characters and the NUL) decodes', () => {
    const data = new Uint8Array(128).fill(0x64);
    data[127] = 0;
    expect(decodeUlogCtrReply(data)).toBe('d'.repeat(127));
    expect(() => decodeUlogCtrReply(new Uint8Array(129).fill(0x64))).toThrow(
      refusal('CTR reply payload is 129 bytes: expected at most 128 (DM_NAME_LEN)', ENOSPC),
    );
  });

  it('§1.4 messages quote at most 40 characters of the offending text', () => {
    const exactly40 = `${'d'.repeat(39)} `;
    expect(() => encodeUlogCtrReply(exactly40)).toThrow(
      refusal(`CTR reply device name "${exactly40}" has character 0x20 at 39: ${NAME_RULE}`),
    );
    expect(() => encodeUlogCtrReply(`${'d'.repeat(40)} `)).toThrow(
      refusal(`CTR reply device name "${'d'.repeat(40)}…" has character 0x20 at 40: ${NAME_RULE}`),
    );
  });
});
