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
