import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkpointBitmapBytes,
  decodeClogCheckpoint,
  encodeClogCheckpoint,
} from '../../../src/log/cluster/clog-checkpoint.js';
import {
  CLOG_MULTICAST_TYPES,
  CLOG_RESPONSE_TYPES,
  type ClogRequest,
  clogRequestTypeName,
  decodeClogRequest,
  encodeClogRequest,
} from '../../../src/log/cluster/clog-request.js';
import { ClogRequestError } from '../../../src/log/cluster/clog-request-error.js';
import {
  COMPAT_OFFSET,
  DM_ULOG_CHECKPOINT_READY,
  DM_ULOG_MEMBER_JOIN,
  RECOVERING_REGION_NONE,
} from '../../../src/log/cluster/cluster-constants.js';
import {
  encodeUlogRegionSync,
  encodeUlogRegions,
  encodeUlogRemoteRecovering,
  encodeUlogResyncWork,
  encodeUlogS64,
  encodeUlogStatus,
  encodeUlogU64,
  UlogRequestType,
} from '../../../src/log/userspace/index.js';

const MARK: ClogRequest = {
  originator: 3,
  pitServer: 0,
  luid: 0n,
  uuid: 'LVM-abc',
  version: 2,
  error: 0,
  seq: 0x01020304,
  requestType: UlogRequestType.MARK_REGION,
  response: false,
  data: encodeUlogRegions([0x0a0b]),
};

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

function errorOf(run: () => unknown): ClogRequestError {
  try {
    run();
  } catch (error) {
    if (error instanceof ClogRequestError) return error;
    throw error;
  }
  throw new Error('expected a ClogRequestError');
}

/** A valid message of every shape cmirrord multicasts. */
const messageArbitrary: fc.Arbitrary<ClogRequest> = fc
  .record({
    originator: fc.nat(0xffff_ffff),
    pitServer: fc.nat(0xffff_ffff),
    uuid: fc.stringMatching(/^[!-~]{1,128}$/),
    version: fc.integer({ min: 1, max: 3 }),
    seq: fc.nat(0xffff_ffff),
    shape: fc.nat(20),
    regions: fc.array(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), {
      minLength: 1,
      maxLength: 32,
    }),
    value: fc.bigInt({ min: 0n, max: (1n << 63n) - 1n }),
    error: fc.integer({ min: -(2 ** 31), max: -1 }),
    words: fc.integer({ min: 1, max: 8 }),
  })
  .map(({ shape, regions, value, error, words, ...header }): ClogRequest => {
    const base = { ...header, luid: 0n, error: 0, response: false };
    const type = UlogRequestType;
    const shapes: [number, boolean, Uint8Array][] = [
      [type.MARK_REGION, false, encodeUlogRegions(regions)],
      [type.CLEAR_REGION, false, encodeUlogRegions(regions)],
      [type.FLUSH, false, new Uint8Array(0)],
      [type.IS_CLEAN, false, encodeUlogU64(value)],
      [type.IS_REMOTE_RECOVERING, false, encodeUlogU64(value)],
      [type.SET_REGION_SYNC, false, encodeUlogRegionSync({ region: value, inSync: 1 })],
      [type.GET_RESYNC_WORK, false, new Uint8Array(0)],
      [type.RESUME, false, new Uint8Array(0)],
      [type.POSTSUSPEND, false, new Uint8Array(0)],
      [type.STATUS_INFO, false, new Uint8Array(0)],
      [type.IS_CLEAN, true, encodeUlogS64(value % 2n)],
      [type.GET_RESYNC_WORK, true, encodeUlogResyncWork({ result: 1, region: value })],
      [
        type.IS_REMOTE_RECOVERING,
        true,
        encodeUlogRemoteRecovering({ isRecovering: 1, inSyncHint: value }),
      ],
      [type.STATUS_INFO, true, encodeUlogStatus('3 clustered-disk 253:2 A')],
      [type.MARK_REGION, true, new Uint8Array(0)],
      [type.SET_REGION_SYNC, true, new Uint8Array(0)],
      [type.FLUSH, true, new Uint8Array(0)],
    ];
    if (shape === 17)
      return {
        ...base,
        requestType: type.MARK_REGION,
        response: true,
        error,
        data: new Uint8Array(0),
      };
    if (shape >= 18) {
      const bitmap = new Uint8Array(words * 4).map((_, index) => (index * 37 + words) & 0xff);
      return {
        ...base,
        version: 0,
        requestType: DM_ULOG_CHECKPOINT_READY,
        data: encodeClogCheckpoint({
          syncBits: bitmap,
          cleanBits: bitmap.map((byte) => byte ^ 0xff),
          recoveringRegion: shape === 18 ? RECOVERING_REGION_NONE : value,
          recoverer: header.originator,
        }),
      };
    }
    const [requestType, response, data] = shapes[shape % shapes.length]!;
    return { ...base, requestType, response, data };
  });

describe('struct clog_request (§4.4, compat.c)', () => {
  it('golden bytes of a little-endian sender: version words, originator, pit_server, u_rq, payload', () => {
    const bytes = encodeClogRequest(MARK);
    expect(bytes.length).toBe(184 + 8);
    expect(hex(bytes.subarray(0, 24))).toBe(
      '0500000000000000' + '0500000000000000' + '03000000' + '00000000',
    );
    expect(hex(bytes.subarray(24, 32))).toBe('0000000000000000');
    expect(new TextDecoder().decode(bytes.subarray(32, 39))).toBe('LVM-abc');
    expect(bytes.subarray(39, 164).every((byte) => byte === 0)).toBe(true);
    // version, error, seq, request_type, data_size, then the region.
    expect(hex(bytes.subarray(164, 192))).toBe(
      '02000000' + '00000000' + '04030201' + '0a000000' + '08000000' + '0b0a000000000000',
    );
    expect(decodeClogRequest(bytes)).toEqual({
      ...MARK,
      senderByteOrder: 'little',
      transferVersion: 5,
    });
  });

  it('golden bytes of a big-endian sender (v5_endian_to_network): converted fields little-endian, the rest native', () => {
    const message = {
      ...MARK,
      version: 3,
      pitServer: 7,
      requestType: UlogRequestType.FLUSH,
      data: encodeUlogRegions([0x0a0b]),
    };
    const bytes = encodeClogRequest(message, { senderByteOrder: 'big' });
    expect(hex(bytes.subarray(0, 24))).toBe(
      '0500000000000000' + '0000000000000005' + '03000000' + '00000007',
    );
    expect(hex(bytes.subarray(164, 184))).toBe(
      '00000003' + '00000000' + '04030201' + '09000000' + '08000000',
    );
    // compat.c does not convert a FLUSH payload: the marks stay in the sender's order.
    expect(hex(bytes.subarray(184))).toBe('0000000000000a0b');
    const decoded = decodeClogRequest(bytes);
    expect(decoded.senderByteOrder).toBe('big');
    expect({ ...decoded, data: hex(decoded.data) }).toMatchObject({
      pitServer: 7,
      version: 3,
      seq: 0x01020304,
      originator: 3,
      data: '0000000000000a0b',
    });
    // Converted payloads (a MARK's regions) arrive little-endian and read right.
    const mark = encodeClogRequest(MARK, { senderByteOrder: 'big' });
    expect(decodeClogRequest(mark).data).toEqual(MARK.data);
  });

  it('DM_ULOG_RESPONSE (0x1000) is OR-ed into request_type of a server reply', () => {
    const reply = { ...MARK, response: true, data: new Uint8Array(0) };
    const bytes = encodeClogRequest(reply);
    expect(hex(bytes.subarray(176, 180))).toBe('0a100000');
    expect(decodeClogRequest(bytes)).toMatchObject({ requestType: 10, response: true });
  });

  it('CHECKPOINT_READY: sync bits, clean bits, then the 64-byte "<recovering_region> <recoverer>" section', () => {
    expect([0, 31, 32, 33, 64].map(checkpointBitmapBytes)).toEqual([4, 4, 8, 8, 12]);
    const data = encodeClogCheckpoint({
      syncBits: Uint8Array.of(1, 2, 3, 4),
      cleanBits: Uint8Array.of(5, 6, 7, 8),
      recoveringRegion: RECOVERING_REGION_NONE,
      recoverer: 2,
    });
    expect(data.length).toBe(72);
    expect(hex(data.subarray(0, 8))).toBe('0102030405060708');
    expect(new TextDecoder().decode(data.subarray(8, 30))).toBe('18446744073709551615 2');
    expect(data.subarray(30).every((byte) => byte === 0)).toBe(true);
    expect(decodeClogCheckpoint(data)).toEqual({
      syncBits: Uint8Array.of(1, 2, 3, 4),
      cleanBits: Uint8Array.of(5, 6, 7, 8),
      recoveringRegion: RECOVERING_REGION_NONE,
      recoverer: 2,
      bitmapBytes: 4,
    });
    const message: ClogRequest = {
      ...MARK,
      originator: 4,
      seq: 1,
      version: 0,
      requestType: DM_ULOG_CHECKPOINT_READY,
      data,
    };
    expect(decodeClogRequest(encodeClogRequest(message)).data).toEqual(data);
    // A big-endian sender's bitmap words are raw: they read garbled here, as on a real member.
    const garbled = decodeClogRequest(encodeClogRequest(message, { senderByteOrder: 'big' }));
    expect(hex(garbled.data.subarray(0, 8))).toBe('0403020108070605');
  });

  it('versions 2–4 (RHEL 5) carry the version-5 struct at COMPAT_OFFSET; others are "Incompatible version"', () => {
    const inner = encodeClogRequest(MARK);
    for (const version of [2, 3, 4]) {
      const old = new Uint8Array(COMPAT_OFFSET + inner.length);
      new DataView(old.buffer).setBigUint64(0, BigInt(version), true);
      old.set(inner, COMPAT_OFFSET);
      expect(decodeClogRequest(old)).toEqual({
        ...MARK,
        senderByteOrder: 'little',
        transferVersion: version,
      });
      expect(errorOf(() => decodeClogRequest(old.subarray(0, 300))).message).toBe(
        `clog_request length is 300 bytes in a version ${version} message: expected at least 440 (the version-5 struct at COMPAT_OFFSET 256)`,
      );
    }
    for (const version of [0n, 1n, 6n, 1n << 40n]) {
      const bytes = encodeClogRequest(MARK);
      new DataView(bytes.buffer).setBigUint64(0, version, true);
      expect(errorOf(() => decodeClogRequest(bytes)).field).toBe('version[0]');
    }
  });

  it('refuses what cmirrord never multicasts, naming the field and what was expected', () => {
    const cases: [Partial<ClogRequest>, string, string][] = [
      [
        { luid: 5n },
        'u_rq.luid',
        'clog_request u_rq.luid is 5: expected 0 (cluster_send clears it: "the luid loses all its meaning")',
      ],
      [
        { requestType: DM_ULOG_MEMBER_JOIN, data: new Uint8Array(0) },
        'u_rq.request_type',
        'clog_request u_rq.request_type is DM_ULOG_MEMBER_JOIN: expected a multicast type: MEMBER_JOIN only waits in a startup list',
      ],
      [{ requestType: UlogRequestType.IN_SYNC }, 'u_rq.request_type', ''],
      [{ requestType: 99 }, 'u_rq.request_type', ''],
      [
        { requestType: UlogRequestType.RESUME, response: true, data: new Uint8Array(0) },
        'u_rq.request_type',
        'clog_request u_rq.request_type is a response to DM_ULOG_RESUME: expected a type the server answers',
      ],
      [{ error: -22 }, 'u_rq.error', 'clog_request u_rq.error is -22 in a request: expected 0'],
      [
        { response: true, error: -5 },
        'u_rq.data_size',
        'clog_request u_rq.data_size is 8 in an error response: expected 0 (do_request clears it)',
      ],
      [
        { version: 4 },
        'u_rq.version',
        'clog_request u_rq.version is 4: expected a kernel protocol version from 1 to 3',
      ],
      [{ data: new Uint8Array(12) }, 'u_rq.data', ''],
    ];
    for (const [change, field, message] of cases) {
      const error = errorOf(() => encodeClogRequest({ ...MARK, ...change }));
      expect(
        error.field,
        JSON.stringify(change, (_, v) => (typeof v === 'bigint' ? `${v}` : v)),
      ).toBe(field);
      if (message !== '') expect(error.message).toBe(message);
    }
    expect(() => encodeClogRequest({ ...MARK, seq: -1 })).toThrow(RangeError);
  });

  it('a truncated message, a data_size that disagrees, a bad uuid or version[1] are refused by field', () => {
    const bytes = encodeClogRequest(MARK);
    expect(errorOf(() => decodeClogRequest(bytes.subarray(0, 10))).field).toBe('length');
    expect(errorOf(() => decodeClogRequest(bytes.subarray(0, 100))).field).toBe('length');
    expect(errorOf(() => decodeClogRequest(bytes.subarray(0, 190))).message).toBe(
      'clog_request u_rq.data_size is 8 with 6 payload bytes present: expected them equal',
    );
    const badUuid = bytes.slice();
    badUuid[33] = 0x20;
    expect(errorOf(() => decodeClogRequest(badUuid)).field).toBe('u_rq');
    const badVersion = bytes.slice();
    badVersion[9] = 1;
    expect(errorOf(() => decodeClogRequest(badVersion)).field).toBe('version[1]');
  });

  it('the checkpoint payload is refused when its size cannot hold two bitmaps or its section is not "<u64> <u32>"', () => {
    expect(errorOf(() => decodeClogCheckpoint(new Uint8Array(70))).field).toBe(
      'checkpoint data_size',
    );
    expect(errorOf(() => decodeClogCheckpoint(new Uint8Array(64))).field).toBe(
      'checkpoint data_size',
    );
    const good = encodeClogCheckpoint({
      syncBits: new Uint8Array(4),
      cleanBits: new Uint8Array(4),
      recoveringRegion: 7n,
      recoverer: 1,
    });
    for (const text of ['', '7', '07 1', '7 1 ', '18446744073709551616 1', '7 4294967296', 'x y']) {
      const data = good.slice();
      data.fill(0, 8);
      for (let index = 0; index < text.length; index++) data[8 + index] = text.charCodeAt(index);
      expect(errorOf(() => decodeClogCheckpoint(data)).field, text).toBe(
        'checkpoint recovering_region',
      );
    }
    const trailing = good.slice();
    trailing[71] = 1;
    expect(errorOf(() => decodeClogCheckpoint(trailing)).message).toBe(
      'clog_request checkpoint recovering_region has bytes after its NUL: expected NUL padding',
    );
    expect(() =>
      encodeClogCheckpoint({
        syncBits: new Uint8Array(4),
        cleanBits: new Uint8Array(8),
        recoveringRegion: 0n,
        recoverer: 0,
      }),
    ).toThrow(RangeError);
  });

  it('names the types: the cluster-only ones and the ulog ones', () => {
    expect(clogRequestTypeName(21)).toBe('DM_ULOG_CHECKPOINT_READY');
    expect(clogRequestTypeName(22)).toBe('DM_ULOG_MEMBER_JOIN');
    expect(clogRequestTypeName(10)).toBe('DM_ULOG_MARK_REGION');
    expect([...CLOG_RESPONSE_TYPES].every((type) => CLOG_MULTICAST_TYPES.has(type))).toBe(true);
  });

  it('property: every valid message round-trips from a little-endian sender, and from a big-endian one where compat.c converts', () => {
    fc.assert(
      fc.property(
        messageArbitrary,
        fc.constantFrom('little' as const, 'big' as const),
        (message, order) => {
          const decoded = decodeClogRequest(encodeClogRequest(message, { senderByteOrder: order }));
          expect(decoded.senderByteOrder).toBe(order);
          const raw =
            message.requestType === DM_ULOG_CHECKPOINT_READY ||
            message.requestType === UlogRequestType.FLUSH;
          if (order === 'little' || !raw || message.data.length === 0) {
            expect(decoded).toEqual({ ...message, senderByteOrder: order, transferVersion: 5 });
          }
        },
      ),
    );
  });

  it('property: arbitrary bytes decode to a message that re-encodes to them, or throw one ClogRequestError', () => {
    const valid = messageArbitrary.map((message) => encodeClogRequest(message));
    const mutated = fc
      .tuple(valid, fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 4 }), fc.nat(300))
      .map(([bytes, flips, cut]) => {
        const copy = bytes.slice(0, Math.max(0, bytes.length - (cut % 3 === 0 ? cut % 40 : 0)));
        for (const [at, value] of flips) if (copy.length > 0) copy[at % copy.length] = value;
        return copy;
      });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 400 }), mutated), (bytes) => {
        let decoded: ReturnType<typeof decodeClogRequest>;
        try {
          decoded = decodeClogRequest(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(ClogRequestError);
          expect((error as ClogRequestError).message).toMatch(/^clog_request \S+.* expected /);
          return;
        }
        if (decoded.transferVersion === 5) {
          expect(encodeClogRequest(decoded, { senderByteOrder: decoded.senderByteOrder })).toEqual(
            bytes,
          );
        }
      }),
      { numRuns: 800 },
    );
  });
});
