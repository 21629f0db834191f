import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EAGAIN, EINVAL, ENOSPC } from '../../../src/errno.js';
import {
  decodeUlogRequest,
  encodeUlogCtrReply,
  encodeUlogCtrRequest,
  encodeUlogRegionSync,
  encodeUlogRegions,
  encodeUlogRemoteRecovering,
  encodeUlogRequest,
  encodeUlogResyncWork,
  encodeUlogS64,
  encodeUlogStatus,
  encodeUlogU64,
  UlogRequestType as T,
  ULOG_HEADER_BYTES,
  type UlogDirection,
  type UlogRequestTypeCode,
} from '../../../src/log/userspace/index.js';
import {
  expectProtocolError,
  hex,
  makeRequest,
  recordArbitrary,
  toHex,
  zeros,
} from './ulog-test-helpers.js';

// Written by hand from the §1.2 table: every field little-endian at its offset.
const MARK_HEX = [
  '88 77 66 55 44 33 22 11', // luid 0x1122334455667788 @0
  `4c 56 4d 2d 61 62 63 ${zeros(122)}`, // uuid "LVM-abc", NUL-padded to 129 bytes @8
  '00 00 00', // padding @137
  '03 00 00 00', // version 3 @140
  '00 00 00 00', // error 0 @144
  '07 00 00 00', // seq 7 @148
  '0a 00 00 00', // request_type 10 = MARK_REGION @152
  '10 00 00 00', // data_size 16 @156
  '01 00 00 00 00 00 00 00', // region 1 @160
  '00 00 00 00 00 01 00 00', // region 2^40 @168
].join(' ');

const MARK_REQUEST = makeRequest(T.MARK_REGION, encodeUlogRegions([1n, 2n ** 40n]), {
  luid: 0x1122334455667788n,
  uuid: 'LVM-abc',
  seq: 7,
});

/** Header with luid 1, uuid "u", version 3, seq 0x01020304 and the given raw fields. */
function headerHex(type: string, dataSize: string, error = '00 00 00 00'): string {
  return [
    '01 00 00 00 00 00 00 00',
    `75 ${zeros(128)}`,
    '00 00 00',
    '03 00 00 00',
    error,
    '04 03 02 01',
    type,
    dataSize,
  ].join(' ');
}

function shaped(type: UlogRequestTypeCode, data: Uint8Array, error = 0) {
  return makeRequest(type, data, { luid: 1n, uuid: 'u', seq: 0x01020304, error });
}

/** Offsets of header fields, to corrupt one at a time. */
function withU32(bytes: Uint8Array, offset: number, value: number): Uint8Array {
  const copy = bytes.slice();
  new DataView(copy.buffer).setUint32(offset, value, true);
  return copy;
}

describe('§1.2 header layout', () => {
  it('§1.2 encodes MARK_REGION [1, 2^40] seq 7 byte for byte', () => {
    const bytes = encodeUlogRequest(MARK_REQUEST);
    expect(bytes.length).toBe(176);
    expect(toHex(bytes)).toBe(toHex(hex(MARK_HEX)));
  });

  it('§1.2 decodes the hand-written MARK_REGION record back to its fields', () => {
    const request = decodeUlogRequest(hex(MARK_HEX));
    expect(request).toEqual(MARK_REQUEST);
    expect(request.data).toEqual(hex('01 00 00 00 00 00 00 00 00 00 00 00 00 01 00 00'));
  });

  it('§1.2 the header is 160 bytes and a 128-character uuid keeps its NUL at byte 136', () => {
    const uuid = 'x'.repeat(128);
    const bytes = encodeUlogRequest(makeRequest(T.DTR, new Uint8Array(0), { uuid }));
    expect(ULOG_HEADER_BYTES).toBe(160);
    expect(bytes.length).toBe(160);
    expect(bytes[8 + 127]).toBe(0x78);
    expect(bytes[136]).toBe(0);
    expect(decodeUlogRequest(bytes).uuid).toBe(uuid);
  });

  it('§1.2 writes a negative error as s32 and the full u32 range of seq', () => {
    const reply = makeRequest(T.FLUSH, new Uint8Array(0), { error: -22, seq: 0xffff_ffff });
    const bytes = encodeUlogRequest(reply, { direction: 'reply' });
    expect(toHex(bytes.subarray(144, 152))).toBe('eaffffffffffffff');
    expect(decodeUlogRequest(bytes, { direction: 'reply' })).toEqual(reply);
  });
});

describe('§1.4 exact bytes of each payload shape', () => {
  const cases: {
    title: string;
    direction: UlogDirection;
    request: ReturnType<typeof shaped>;
    expected: string;
  }[] = [
    {
      title: 'no payload (DTR request)',
      direction: 'request',
      request: shaped(T.DTR, new Uint8Array(0)),
      expected: headerHex('02 00 00 00', '00 00 00 00'),
    },
    {
      title: 'u64 region (IS_CLEAN request)',
      direction: 'request',
      request: shaped(T.IS_CLEAN, encodeUlogU64(0x0102030405060708n)),
      expected: `${headerHex('07 00 00 00', '08 00 00 00')} 08 07 06 05 04 03 02 01`,
    },
    {
      title: 'u64 region (IS_REMOTE_RECOVERING request)',
      direction: 'request',
      request: shaped(T.IS_REMOTE_RECOVERING, encodeUlogU64(255)),
      expected: `${headerHex('11 00 00 00', '08 00 00 00')} ff 00 00 00 00 00 00 00`,
    },
    {
      title: 's64 answer (IN_SYNC reply)',
      direction: 'reply',
      request: shaped(T.IN_SYNC, encodeUlogS64(1)),
      expected: `${headerHex('08 00 00 00', '08 00 00 00')} 01 00 00 00 00 00 00 00`,
    },
    {
      title: 'u64[] marks (FLUSH with marks, version 3)',
      direction: 'request',
      request: shaped(T.FLUSH, encodeUlogRegions([5, 6])),
      expected: `${headerHex('09 00 00 00', '10 00 00 00')} 05${zeros(7)} 06${zeros(7)}`,
    },
    {
      title: 'u64[] regions (CLEAR_REGION request)',
      direction: 'request',
      request: shaped(T.CLEAR_REGION, encodeUlogRegions([0x100])),
      expected: `${headerHex('0b 00 00 00', '08 00 00 00')} 00 01${zeros(6)}`,
    },
    {
      title: '{s64 i; u64 r} (GET_RESYNC_WORK reply)',
      direction: 'reply',
      request: shaped(T.GET_RESYNC_WORK, encodeUlogResyncWork({ result: 1, region: 300 })),
      expected: `${headerHex('0c 00 00 00', '10 00 00 00')} 01${zeros(7)} 2c 01${zeros(6)}`,
    },
    {
      title: '{u64 region; s64 in_sync}, region first (SET_REGION_SYNC request)',
      direction: 'request',
      request: shaped(T.SET_REGION_SYNC, encodeUlogRegionSync({ region: 300, inSync: 1 })),
      expected: `${headerHex('0d 00 00 00', '10 00 00 00')} 2c 01${zeros(6)} 01${zeros(7)}`,
    },
    {
      title: 'u64 count (GET_SYNC_COUNT reply)',
      direction: 'reply',
      request: shaped(T.GET_SYNC_COUNT, encodeUlogU64(1000)),
      expected: `${headerHex('0e 00 00 00', '08 00 00 00')} e8 03${zeros(6)}`,
    },
    {
      title: 'u64 region size (GET_REGION_SIZE reply)',
      direction: 'reply',
      request: shaped(T.GET_REGION_SIZE, encodeUlogU64(1024)),
      expected: `${headerHex('06 00 00 00', '08 00 00 00')} 00 04${zeros(6)}`,
    },
    {
      title: '{s64 is_recovering; u64 in_sync_hint} (IS_REMOTE_RECOVERING reply)',
      direction: 'reply',
      request: shaped(
        T.IS_REMOTE_RECOVERING,
        encodeUlogRemoteRecovering({ isRecovering: 0, inSyncHint: 32 }),
      ),
      expected: `${headerHex('11 00 00 00', '10 00 00 00')} ${zeros(8)} 20${zeros(7)}`,
    },
    {
      title: 'CTR string with its NUL (CTR request)',
      direction: 'request',
      request: shaped(T.CTR, encodeUlogCtrRequest('8 core 2')),
      expected: `${headerHex('01 00 00 00', '09 00 00 00')} 38 20 63 6f 72 65 20 32 00`,
    },
    {
      title: 'NUL-terminated device name (CTR reply)',
      direction: 'reply',
      request: shaped(T.CTR, encodeUlogCtrReply('253:2')),
      expected: `${headerHex('01 00 00 00', '06 00 00 00')} 32 35 33 3a 32 00`,
    },
    {
      title: 'ASCII status without NUL (STATUS_INFO reply)',
      direction: 'reply',
      request: shaped(T.STATUS_INFO, encodeUlogStatus('1 clustered-core')),
      expected: `${headerHex('0f 00 00 00', '10 00 00 00')} 31 20 63 6c 75 73 74 65 72 65 64 2d 63 6f 72 65`,
    },
    {
      title: 'error reply with no data (-EINVAL)',
      direction: 'reply',
      request: shaped(T.IS_CLEAN, new Uint8Array(0), EINVAL),
      expected: headerHex('07 00 00 00', '00 00 00 00', 'ea ff ff ff'),
    },
  ];

  for (const { title, direction, request, expected } of cases) {
    it(`§1.4 ${title}`, () => {
      const bytes = encodeUlogRequest(request, { direction });
      expect(toHex(bytes)).toBe(toHex(hex(expected)));
      expect(decodeUlogRequest(bytes, { direction })).toEqual(request);
    });
  }
});

describe('§1.4 round trips of every request type', () => {
  for (const direction of ['request', 'reply'] as const) {
    it(`§1.4 every valid ${direction} decodes to itself and re-encodes to the same bytes`, () => {
      fc.assert(
        fc.property(recordArbitrary(direction), (record) => {
          const bytes = encodeUlogRequest(record, { direction });
          expect(bytes.length).toBe(160 + record.data.length);
          const decoded = decodeUlogRequest(bytes, { direction });
          expect({ ...decoded, data: toHex(decoded.data) }).toEqual({
            ...record,
            data: toHex(record.data),
          });
          expect(toHex(encodeUlogRequest(decoded, { direction }))).toBe(toHex(bytes));
        }),
        { numRuns: 400 },
      );
    });
  }

  it('§1.3 versions 1 to 3 are accepted from a kernel', () => {
    for (const version of [1, 2, 3]) {
      const bytes = encodeUlogRequest(makeRequest(T.RESUME, new Uint8Array(0), { version }));
      expect(decodeUlogRequest(bytes).version).toBe(version);
    }
  });

  it('§1.2 the decoded payload is a copy, not a view of the input', () => {
    const bytes = encodeUlogRequest(MARK_REQUEST);
    const decoded = decodeUlogRequest(bytes);
    bytes.fill(0xee, 160);
    expect(decoded.data[0]).toBe(1);
  });
});

describe('§1.5 decode validation errors', () => {
  const good = encodeUlogRequest(MARK_REQUEST);

  it('§1.2 a truncated header is -EINVAL with no seq to answer', () => {
    for (const length of [0, 1, 159]) {
      const error = expectProtocolError(() => decodeUlogRequest(good.subarray(0, length)), {
        errno: EINVAL,
        seq: null,
        message: new RegExp(`Record is ${length} bytes: expected at least the 160-byte header`),
      });
      expect(error.header).toBeNull();
    }
  });

  it('§1.2 data_size larger than the bytes present is -EINVAL with the seq', () => {
    expectProtocolError(() => decodeUlogRequest(good.subarray(0, 170)), {
      errno: EINVAL,
      seq: 7,
      message: /data_size 16 disagrees with the 10 payload bytes present/,
    });
  });

  it('§1.2 bytes beyond data_size are -EINVAL', () => {
    const longer = new Uint8Array(good.length + 8);
    longer.set(good);
    expectProtocolError(() => decodeUlogRequest(longer), {
      errno: EINVAL,
      seq: 7,
      message: /data_size 16 disagrees with the 24 payload bytes present/,
    });
  });

  it('§3 data_size over the 332-byte request limit is -EINVAL, checked before the payload', () => {
    // Only the header is present: a hostile size must be refused without reading or allocating it.
    const header = withU32(good.subarray(0, 160), 156, 0xffff_ffff);
    expectProtocolError(() => decodeUlogRequest(header), {
      errno: EINVAL,
      seq: 7,
      message: /data_size 4294967295 exceeds the 332-byte request payload limit/,
    });
    expectProtocolError(() => decodeUlogRequest(withU32(header, 156, 333)), {
      errno: EINVAL,
      message: /data_size 333 exceeds the 332-byte request payload limit/,
    });
  });

  it('§1.5 data_size over the 864-byte reply limit is -ENOSPC', () => {
    const header = withU32(good.subarray(0, 160), 156, 865);
    expectProtocolError(() => decodeUlogRequest(header, { direction: 'reply' }), {
      errno: ENOSPC,
      seq: 7,
      message: /data_size 865 exceeds the 864-byte reply payload limit/,
    });
  });

  it('§1.5 request_type 0 is answered -EAGAIN so the kernel resends', () => {
    expectProtocolError(() => decodeUlogRequest(withU32(good, 152, 0)), {
      errno: EAGAIN,
      seq: 7,
      message: /request_type 0 is not a request: expected 1 to 17/,
    });
  });

  it('§1.4 request_type 18 and 255 are unknown: -EINVAL', () => {
    for (const type of [18, 21, 255]) {
      expectProtocolError(() => decodeUlogRequest(withU32(good, 152, type)), {
        errno: EINVAL,
        seq: 7,
        message: new RegExp(`request_type ${type} is unknown: expected 1 to 17`),
      });
    }
  });

  it('§1.2 reserved upper bits of request_type are -EINVAL, even with a valid low byte', () => {
    for (const type of [0x10a, 0x100_000a, 0x1000 | 10]) {
      expectProtocolError(() => decodeUlogRequest(withU32(good, 152, type)), {
        errno: EINVAL,
        message: new RegExp(`request_type 0x${type.toString(16)} has reserved upper bits set`),
      });
    }
  });

  it('§1.3 versions 0 and 4 are refused', () => {
    for (const version of [0, 4, 0xffff_ffff]) {
      expectProtocolError(() => decodeUlogRequest(withU32(good, 140, version)), {
        errno: EINVAL,
        seq: 7,
        message: new RegExp(`version ${version} is not supported: expected 1 to 3`),
      });
    }
  });

  it('§1.2 a uuid field without a NUL in its 129 bytes is refused', () => {
    const bytes = good.slice();
    bytes.fill(0x41, 8, 137);
    expectProtocolError(() => decodeUlogRequest(bytes), {
      errno: EINVAL,
      seq: 7,
      message: /uuid field has no NUL within its 129 bytes/,
    });
  });

  it('§1.2 an empty uuid is refused', () => {
    const bytes = good.slice();
    bytes.fill(0, 8, 137);
    expectProtocolError(() => decodeUlogRequest(bytes), {
      errno: EINVAL,
      message: /uuid is empty/,
    });
  });

  it('§1.2 a uuid with a control character or a space is refused', () => {
    for (const [byte, shown] of [
      [0x01, '0x01'],
      [0x20, '0x20'],
      [0xc3, '0xc3'],
    ] as const) {
      const bytes = good.slice();
      bytes[9] = byte;
      expectProtocolError(() => decodeUlogRequest(bytes), {
        errno: EINVAL,
        message: new RegExp(`uuid .* has character ${shown} at 1: expected printable ASCII`),
      });
    }
  });

  it('§1.2 a uuid whose very first character is bad is refused too (at 0)', () => {
    const bytes = good.slice();
    bytes[8] = 0x20;
    expectProtocolError(() => decodeUlogRequest(bytes), {
      errno: EINVAL,
      message: /uuid "[^"]*" has character 0x20 at 0: expected printable ASCII without spaces/,
    });
  });

  it('§1.2 bytes after the uuid NUL must be NUL padding', () => {
    const bytes = good.slice();
    bytes[100] = 0x5a;
    expectProtocolError(() => decodeUlogRequest(bytes), {
      errno: EINVAL,
      message: /uuid field byte 92 is 0x5a after the NUL at 7: expected NUL padding/,
    });
  });

  it('§1.2 the 3 padding bytes must be zero', () => {
    const bytes = good.slice();
    bytes[139] = 1;
    expectProtocolError(() => decodeUlogRequest(bytes), {
      errno: EINVAL,
      message: /padding byte 139 is 0x01: expected 0/,
    });
  });

  it('§3 a request with error set is refused: the kernel zeroes every request', () => {
    expectProtocolError(() => decodeUlogRequest(withU32(good, 144, 0xffff_fffb)), {
      errno: EINVAL,
      message: /error field is -5 in a request: expected 0/,
    });
  });
});

describe('§1.4 payload size and content per type', () => {
  function request(type: UlogRequestTypeCode, data: Uint8Array, version = 3): Uint8Array {
    // Built by hand so that the encoder's own checks do not stop the bad record.
    const bytes = new Uint8Array(160 + data.length);
    bytes.set(encodeUlogRequest(makeRequest(T.DTR, new Uint8Array(0), { seq: 9, version })));
    const view = new DataView(bytes.buffer);
    view.setUint32(152, type, true);
    view.setUint32(156, data.length, true);
    bytes.set(data, 160);
    return bytes;
  }

  it('§1.4 MARK_REGION with 12 bytes is not a multiple of 8', () => {
    expectProtocolError(() => decodeUlogRequest(request(T.MARK_REGION, new Uint8Array(12))), {
      errno: EINVAL,
      seq: 9,
      message:
        /DM_ULOG_MARK_REGION request payload is 12 bytes: expected a multiple of 8 from 8 to 256 bytes/,
    });
  });

  it('§2.2 MARK_REGION with 33 regions is over the group limit of 32', () => {
    expectProtocolError(() => decodeUlogRequest(request(T.MARK_REGION, new Uint8Array(264))), {
      errno: EINVAL,
      message: /DM_ULOG_MARK_REGION request payload is 264 bytes: expected a multiple of 8/,
    });
  });

  it('§2.2 an empty MARK_REGION or CLEAR_REGION is refused: groups are never empty', () => {
    for (const type of [T.MARK_REGION, T.CLEAR_REGION]) {
      expectProtocolError(() => decodeUlogRequest(request(type, new Uint8Array(0))), {
        errno: EINVAL,
        message: /request payload is 0 bytes: expected a multiple of 8 from 8 to 256 bytes/,
      });
    }
  });

  it('§1.4 IS_CLEAN must carry exactly 8 bytes', () => {
    for (const size of [0, 4, 16]) {
      expectProtocolError(() => decodeUlogRequest(request(T.IS_CLEAN, new Uint8Array(size))), {
        errno: EINVAL,
        message: new RegExp(
          `DM_ULOG_IS_CLEAN request payload is ${size} bytes: expected exactly 8`,
        ),
      });
    }
  });

  it('§1.4 DTR and GET_RESYNC_WORK requests carry nothing', () => {
    for (const type of [T.DTR, T.GET_RESYNC_WORK]) {
      expectProtocolError(() => decodeUlogRequest(request(type, new Uint8Array(8))), {
        errno: EINVAL,
        message: /request payload is 8 bytes: expected no payload/,
      });
    }
  });

  it('§1.3 FLUSH with marks needs version 3; an empty FLUSH is fine at version 1', () => {
    expectProtocolError(() => decodeUlogRequest(request(T.FLUSH, new Uint8Array(8), 2)), {
      errno: EINVAL,
      message:
        /DM_ULOG_FLUSH request payload carries marks in a version 2 request: expected version 3/,
    });
    expect(decodeUlogRequest(request(T.FLUSH, new Uint8Array(0), 1)).requestType).toBe(T.FLUSH);
  });

  it('§1.4 a CTR string with a NUL before its end is refused', () => {
    const data = hex('38 00 63 00');
    expectProtocolError(() => decodeUlogRequest(request(T.CTR, data)), {
      errno: EINVAL,
      message: /DM_ULOG_CTR request payload: CTR string has a NUL at byte 1 of 3/,
    });
  });

  it('§1.4 a CTR string that is not printable ASCII is refused', () => {
    for (const byte of [0x80, 0x0a, 0xff]) {
      const data = Uint8Array.of(0x38, 0x20, byte, 0);
      expectProtocolError(() => decodeUlogRequest(request(T.CTR, data)), {
        errno: EINVAL,
        message: /CTR string .* has character 0x.. at 2: expected printable ASCII/,
      });
    }
  });

  it('§1.4 an empty CTR string (a lone NUL) is refused', () => {
    expectProtocolError(() => decodeUlogRequest(request(T.CTR, hex('00'))), {
      errno: EINVAL,
      message: /CTR string is empty/,
    });
  });

  it('§2.1 a CTR without its NUL is accepted: userspace_ctr sends strlen bytes, the reconnect strlen+1', () => {
    const record = decodeUlogRequest(request(T.CTR, hex('38 20 63 6f 72 65')));
    expect(record.data).toEqual(hex('38 20 63 6f 72 65'));
  });
});

describe('§1.2 encoder checks', () => {
  it('§1.2 fields the wire cannot hold are RangeErrors', () => {
    expect(() => encodeUlogRequest({ ...MARK_REQUEST, luid: -1n })).toThrow(
      /luid -1 is out of range: expected 0 to 18446744073709551615/,
    );
    expect(() => encodeUlogRequest({ ...MARK_REQUEST, luid: 1n << 64n })).toThrow(RangeError);
    expect(() => encodeUlogRequest({ ...MARK_REQUEST, seq: 2 ** 32 })).toThrow(
      /seq 4294967296 is not an integer from 0 to 4294967295/,
    );
    expect(() => encodeUlogRequest({ ...MARK_REQUEST, seq: 0.5 })).toThrow(RangeError);
    expect(() =>
      encodeUlogRequest({ ...MARK_REQUEST, error: -(2 ** 31) - 1 }, { direction: 'reply' }),
    ).toThrow(/error -2147483649 is not an integer from -2147483648 to 2147483647/);
  });

  it('§1.2 a version or request_type the u32 field cannot hold is a RangeError naming it', () => {
    expect(() => encodeUlogRequest({ ...MARK_REQUEST, version: 2 ** 32 })).toThrow(
      new RangeError('version 4294967296 is not an integer from 0 to 4294967295'),
    );
    expect(() => encodeUlogRequest({ ...MARK_REQUEST, version: 2.5 })).toThrow(
      new RangeError('version 2.5 is not an integer from 0 to 4294967295'),
    );
    expect(() =>
      encodeUlogRequest({ ...MARK_REQUEST, requestType: (2 ** 32) as UlogRequestTypeCode }),
    ).toThrow(new RangeError('request_type 4294967296 is not an integer from 0 to 4294967295'));
    expect(() =>
      encodeUlogRequest({ ...MARK_REQUEST, requestType: -1 as UlogRequestTypeCode }),
    ).toThrow(new RangeError('request_type -1 is not an integer from 0 to 4294967295'));
  });

  it('§1.2 the encoder refuses what the decoder refuses', () => {
    expectProtocolError(() => encodeUlogRequest({ ...MARK_REQUEST, uuid: 'u'.repeat(129) }), {
      errno: EINVAL,
      seq: null,
      message: /uuid "u+…" is 129 characters: expected at most 128/,
    });
    expectProtocolError(() => encodeUlogRequest({ ...MARK_REQUEST, uuid: '' }), {
      errno: EINVAL,
      message: /uuid is empty/,
    });
    expectProtocolError(() => encodeUlogRequest({ ...MARK_REQUEST, error: -5 }), {
      errno: EINVAL,
      message: /error field is -5 in a request/,
    });
    expectProtocolError(() => encodeUlogRequest({ ...MARK_REQUEST, version: 4 }), {
      errno: EINVAL,
      message: /version 4 is not supported/,
    });
    expectProtocolError(
      () => encodeUlogRequest({ ...MARK_REQUEST, requestType: 0 as UlogRequestTypeCode }),
      { errno: EAGAIN, message: /request_type 0 is not a request/ },
    );
    expectProtocolError(() => encodeUlogRequest({ ...MARK_REQUEST, data: new Uint8Array(400) }), {
      errno: EINVAL,
      message: /data_size 400 exceeds the 332-byte request payload limit/,
    });
    expectProtocolError(() => encodeUlogRequest({ ...MARK_REQUEST, data: new Uint8Array(12) }), {
      errno: EINVAL,
      message: /DM_ULOG_MARK_REGION request payload is 12 bytes/,
    });
  });
});
