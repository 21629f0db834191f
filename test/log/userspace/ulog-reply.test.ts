import { describe, expect, it } from 'vitest';
import { EAGAIN, EINVAL, EIO, ENOSPC } from '../../../src/errno.js';
import {
  buildUlogErrorReply,
  buildUlogReply,
  decodeUlogRequest,
  encodeUlogCtrReply,
  encodeUlogRequest,
  encodeUlogResyncWork,
  encodeUlogS64,
  encodeUlogStatus,
  encodeUlogU64,
  UlogRequestType as T,
  UlogProtocolError,
} from '../../../src/log/userspace/index.js';
import { expectProtocolError, hex, makeRequest, toHex, zeros } from './ulog-test-helpers.js';

function replyBytes(
  type: number,
  data: Uint8Array,
  options: { error?: number; version?: number } = {},
) {
  // A reply record built by hand, so that the decoder's checks are what is under test.
  const bytes = new Uint8Array(160 + data.length);
  bytes.set(encodeUlogRequest(makeRequest(T.DTR, new Uint8Array(0), { seq: 11 })));
  const view = new DataView(bytes.buffer);
  view.setUint32(140, options.version ?? 3, true);
  view.setInt32(144, options.error ?? 0, true);
  view.setUint32(152, type, true);
  view.setUint32(156, data.length, true);
  bytes.set(data, 160);
  return bytes;
}

describe('§1.5 full replies', () => {
  it('§1.5 a reply keeps the header and seq and fills the data', () => {
    const request = makeRequest(T.GET_RESYNC_WORK, new Uint8Array(0), { seq: 0xdead, luid: 5n });
    const reply = buildUlogReply(request, {
      data: encodeUlogResyncWork({ result: 1, region: 42 }),
    });
    expect(reply).toEqual({ ...request, data: encodeUlogResyncWork({ result: 1, region: 42 }) });
    const bytes = encodeUlogRequest(reply, { direction: 'reply' });
    expect(toHex(bytes.subarray(140, 176))).toBe(
      toHex(
        hex(
          `03 00 00 00  00 00 00 00  ad de 00 00  0c 00 00 00  10 00 00 00 01 ${zeros(7)} 2a ${zeros(7)}`,
        ),
      ),
    );
  });

  it('§1.5 an error reply drops its data, as cmirrord clears data_size on error', () => {
    const request = makeRequest(T.IS_CLEAN, encodeUlogU64(3), { seq: 4 });
    const reply = buildUlogReply(request, { error: EIO, data: encodeUlogS64(1) });
    expect(reply.error).toBe(EIO);
    expect(reply.seq).toBe(4);
    expect(reply.data.length).toBe(0);
    const bytes = encodeUlogRequest(reply, { direction: 'reply' });
    expect(toHex(bytes.subarray(144, 160))).toBe('fbffffff040000000700000000000000');
  });

  it('§1.5 a reply payload over 864 bytes is -ENOSPC, answered as an error with no data', () => {
    const request = makeRequest(T.STATUS_TABLE, new Uint8Array(0), { seq: 8 });
    const tooBig = new Uint8Array(865).fill(0x61);
    const error = expectProtocolError(() => buildUlogReply(request, { data: tooBig }), {
      errno: ENOSPC,
      message: /data_size 865 exceeds the 864-byte reply payload limit/,
    });
    const reply = buildUlogReply(request, { error: error.errno });
    expect(reply).toEqual({ ...request, error: ENOSPC, data: new Uint8Array(0) });
  });

  it('§1.5 a reply payload bigger than the kernel buffer of its type is -ENOSPC', () => {
    const request = makeRequest(T.IS_CLEAN, encodeUlogU64(3));
    expectProtocolError(() => buildUlogReply(request, { data: new Uint8Array(16) }), {
      errno: ENOSPC,
      message: /DM_ULOG_IS_CLEAN reply payload is 16 bytes: expected exactly 8 bytes/,
    });
    expectProtocolError(() => buildUlogReply(request, { data: new Uint8Array(4) }), {
      errno: EINVAL,
      message: /DM_ULOG_IS_CLEAN reply payload is 4 bytes: expected exactly 8 bytes/,
    });
  });

  it('§1.5 a reply error must be 0 or a negative errno', () => {
    const request = makeRequest(T.FLUSH);
    expect(() => buildUlogReply(request, { error: 5 })).toThrow(
      /Reply error 5 is not 0 or a negative errno/,
    );
    expect(() => buildUlogReply(request, { error: -1.5 })).toThrow(RangeError);
  });

  it('§1.2 a reply error fits the s32 field: -2^31 is accepted, one less and 1 are refused', () => {
    const request = makeRequest(T.IS_CLEAN, encodeUlogU64(3), { seq: 4 });
    const lowest = buildUlogReply(request, { error: -(2 ** 31), data: encodeUlogS64(1) });
    expect(lowest).toEqual({ ...request, error: -(2 ** 31), data: new Uint8Array(0) });
    const bytes = encodeUlogRequest(lowest, { direction: 'reply' });
    expect(toHex(bytes.subarray(144, 160))).toBe('00000080040000000700000000000000');
    expect(() => buildUlogReply(request, { error: -(2 ** 31) - 1 })).toThrow(
      new RangeError('Reply error -2147483649 is not 0 or a negative errno'),
    );
    expect(() => buildUlogReply(request, { error: 1 })).toThrow(
      new RangeError('Reply error 1 is not 0 or a negative errno'),
    );
  });

  it('§1.3 a CTR reply may carry a device name from version 2 on', () => {
    const request = makeRequest(T.CTR, hex('38 20 63 6f 72 65 00'));
    const reply = buildUlogReply(request, { data: encodeUlogCtrReply('253:2') });
    expect(
      decodeUlogRequest(encodeUlogRequest(reply, { direction: 'reply' }), { direction: 'reply' }),
    ).toEqual(reply);
    expectProtocolError(
      () => buildUlogReply({ ...request, version: 1 }, { data: encodeUlogCtrReply('253:2') }),
      {
        errno: EINVAL,
        message: /carries a device name in a version 1 reply: expected version 2 or later/,
      },
    );
  });
});

describe('§1.5 decoding replies', () => {
  it('§1.5 a reply payload larger than the kernel expects is -ENOSPC (fill_pkg)', () => {
    expectProtocolError(
      () => decodeUlogRequest(replyBytes(T.IS_CLEAN, new Uint8Array(16)), { direction: 'reply' }),
      { errno: ENOSPC, seq: 11, message: /DM_ULOG_IS_CLEAN reply payload is 16 bytes/ },
    );
    expectProtocolError(
      () => decodeUlogRequest(replyBytes(T.CTR, new Uint8Array(129)), { direction: 'reply' }),
      {
        errno: ENOSPC,
        seq: 11,
        message: /DM_ULOG_CTR reply payload is 129 bytes: expected from 0 to 128/,
      },
    );
  });

  it('§1.5 a reply payload smaller than its type needs is -EINVAL', () => {
    expectProtocolError(
      () =>
        decodeUlogRequest(replyBytes(T.GET_SYNC_COUNT, new Uint8Array(0)), { direction: 'reply' }),
      {
        errno: EINVAL,
        message: /DM_ULOG_GET_SYNC_COUNT reply payload is 0 bytes: expected exactly 8/,
      },
    );
  });

  it('§1.5 a status reply with a NUL is refused: cmirrord sends strlen bytes', () => {
    expectProtocolError(
      () =>
        decodeUlogRequest(replyBytes(T.STATUS_INFO, hex('31 20 61 00')), { direction: 'reply' }),
      {
        errno: EINVAL,
        message: /DM_ULOG_STATUS_INFO reply payload: Status text has a NUL at byte 3/,
      },
    );
    const ok = decodeUlogRequest(replyBytes(T.STATUS_INFO, encodeUlogStatus('1 a')), {
      direction: 'reply',
    });
    expect(ok.data).toEqual(hex('31 20 61'));
  });

  it('§1.5 an error reply is held only to the size limit, as fill_pkg copies its data blindly', () => {
    const bytes = replyBytes(T.IS_CLEAN, new Uint8Array(3), { error: EIO });
    const reply = decodeUlogRequest(bytes, { direction: 'reply' });
    expect(reply.error).toBe(EIO);
    expect(reply.data.length).toBe(3);
    expect(encodeUlogRequest(reply, { direction: 'reply' })).toEqual(bytes);
  });
});

describe('§1.5 error replies for records that failed validation', () => {
  it('§1.5 echoes the bad header with error set and no data, under the same seq', () => {
    const bytes = replyBytes(T.MARK_REGION, new Uint8Array(12));
    let caught: unknown;
    try {
      decodeUlogRequest(bytes);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(UlogProtocolError);
    const answer = buildUlogErrorReply(caught as UlogProtocolError);
    expect(answer.answerable).toBe(true);
    if (!answer.answerable) return;
    expect(answer.seq).toBe(11);
    const expected = bytes.slice(0, 160);
    new DataView(expected.buffer).setInt32(144, EINVAL, true);
    new DataView(expected.buffer).setUint32(156, 0, true);
    expect(answer.bytes).toEqual(expected);
    const decoded = decodeUlogRequest(answer.bytes, { direction: 'reply' });
    expect(decoded).toMatchObject({ seq: 11, error: EINVAL, requestType: T.MARK_REGION });
  });

  it('§1.5 answers request_type 0 with -EAGAIN under its seq', () => {
    const bytes = replyBytes(0, new Uint8Array(0));
    const error = expectProtocolError(() => decodeUlogRequest(bytes), {
      errno: EAGAIN,
      seq: 11,
      message: /request_type 0/,
    });
    const answer = buildUlogErrorReply(error);
    expect(answer.answerable && toHex(answer.bytes.subarray(144, 148))).toBe('f5ffffff');
  });

  it('§1.5 says so when not even the header was readable', () => {
    const error = expectProtocolError(() => decodeUlogRequest(new Uint8Array(100)), {
      errno: EINVAL,
      seq: null,
      message: /Record is 100 bytes/,
    });
    const answer = buildUlogErrorReply(error);
    expect(answer).toEqual({
      answerable: false,
      reason:
        "No reply is possible: the record's header was not readable (Record is 100 bytes: expected at least the 160-byte header)",
    });
  });

  it('§1.5 building the error reply leaves the error’s own header untouched', () => {
    const bytes = replyBytes(T.MARK_REGION, new Uint8Array(12));
    const error = expectProtocolError(() => decodeUlogRequest(bytes), {
      errno: EINVAL,
      seq: 11,
      message: /MARK_REGION/,
    });
    const headerBefore = toHex(error.header ?? new Uint8Array(0));
    expect(headerBefore).toBe(toHex(bytes.subarray(0, 160)));
    const first = buildUlogErrorReply(error);
    const second = buildUlogErrorReply(error);
    expect(toHex(error.header ?? new Uint8Array(0))).toBe(headerBefore);
    expect(second).toEqual(first);
    expect(first.answerable).toBe(true);
    if (!first.answerable) return;
    expect(first.bytes).not.toBe(error.header);
    // error -EINVAL, seq 11, request_type 10 (MARK_REGION), data_size 0.
    expect(toHex(first.bytes.subarray(144, 160))).toBe('eaffffff0b0000000a00000000000000');
  });

  it('§1.5 the error keeps its own copy of the header', () => {
    const bytes = replyBytes(T.MARK_REGION, new Uint8Array(12));
    const error = expectProtocolError(() => decodeUlogRequest(bytes), {
      errno: EINVAL,
      message: /MARK_REGION/,
    });
    bytes.fill(0xff);
    expect(error.seq).toBe(11);
    expect(error.header?.[148]).toBe(11);
  });
});

describe('§1.5 UlogProtocolError', () => {
  it('§1.5 defaults to -EINVAL without a header, and refuses a non-negative errno', () => {
    const error = new UlogProtocolError('Something is wrong');
    expect([error.errno, error.seq, error.header, error.fatal, error.name]).toEqual([
      EINVAL,
      null,
      null,
      false,
      'UlogProtocolError',
    ]);
    expect(() => new UlogProtocolError('x', { errno: 5 })).toThrow(
      /UlogProtocolError errno 5 is not a negative integer/,
    );
    expect(() => new UlogProtocolError('x', { errno: 0 })).toThrow(
      new RangeError(
        'UlogProtocolError errno 0 is not a negative integer that fits an s32 (>= -2147483648)',
      ),
    );
    expect(() => new UlogProtocolError('x', { errno: -1.5 })).toThrow(/errno -1.5 is not/);
    // §1.2: the reply's error field is an s32, so the errno must fit one.
    expect(() => new UlogProtocolError('x', { errno: -0x8000_0001 })).toThrow(
      /errno -2147483649 is not a negative integer that fits an s32/,
    );
    expect(new UlogProtocolError('x', { errno: -1 }).errno).toBe(-1);
    expect(new UlogProtocolError('x', { errno: -0x8000_0000 }).errno).toBe(-0x8000_0000);
    expect(() => new UlogProtocolError('x', { header: new Uint8Array(10) })).toThrow(
      /UlogProtocolError header is 10 bytes: expected 160/,
    );
  });
});
