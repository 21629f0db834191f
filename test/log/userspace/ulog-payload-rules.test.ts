import { describe, expect, it } from 'vitest';
import { EINVAL, ENOSPC } from '../../../src/errno.js';
import {
  checkUlogPayload,
  DM_NAME_LEN,
  DM_ULOG_PREALLOCED_SIZE,
  DM_ULOG_REQUEST_MASK,
  DM_ULOG_REQUEST_SIZE,
  DM_ULOG_REQUEST_VERSION,
  DM_UUID_LEN,
  describeUlogPayloadRule,
  isUlogPayloadSizeAllowed,
  isUlogRequestTypeCode,
  MAX_FLUSH_GROUP_COUNT,
  UlogRequestType as T,
  ULOG_HEADER_BYTES,
  ULOG_HEADER_OFFSETS,
  ULOG_REPLY_PAYLOAD_BYTES_MAX,
  ULOG_REQUEST_PAYLOAD_BYTES_MAX,
  ULOG_REQUEST_TYPE_CODES,
  ULOG_TYPE_RULES,
  UlogProtocolError,
  type UlogRequestTypeCode,
  ulogPayloadBytesMax,
  ulogPayloadRule,
  ulogRequestTypeName,
} from '../../../src/log/userspace/index.js';
import { hex } from './ulog-test-helpers.js';

describe('§1.2 and §3 constants', () => {
  it('§1.2/§3 pins the sizes and limits of the protocol', () => {
    expect(DM_ULOG_REQUEST_VERSION).toBe(3);
    expect(DM_UUID_LEN).toBe(129);
    expect(DM_NAME_LEN).toBe(128);
    expect(DM_ULOG_REQUEST_MASK).toBe(0xff);
    expect(ULOG_HEADER_BYTES).toBe(160);
    expect(DM_ULOG_PREALLOCED_SIZE).toBe(512);
    expect(ULOG_REQUEST_PAYLOAD_BYTES_MAX).toBe(332);
    expect(DM_ULOG_REQUEST_SIZE).toBe(1024);
    expect(ULOG_REPLY_PAYLOAD_BYTES_MAX).toBe(864);
    expect(MAX_FLUSH_GROUP_COUNT).toBe(32);
    expect(ulogPayloadBytesMax('request')).toBe(332);
    expect(ulogPayloadBytesMax('reply')).toBe(864);
    expect(ULOG_HEADER_OFFSETS).toEqual({
      luid: 0,
      uuid: 8,
      padding: 137,
      version: 140,
      error: 144,
      seq: 148,
      requestType: 152,
      dataSize: 156,
      data: 160,
    });
  });
});

describe('§1.4 request types', () => {
  it('§1.4 names the 17 codes as the kernel does', () => {
    expect(ULOG_REQUEST_TYPE_CODES).toEqual(Array.from({ length: 17 }, (_, index) => index + 1));
    expect(ULOG_REQUEST_TYPE_CODES.map(ulogRequestTypeName)).toEqual([
      'DM_ULOG_CTR',
      'DM_ULOG_DTR',
      'DM_ULOG_PRESUSPEND',
      'DM_ULOG_POSTSUSPEND',
      'DM_ULOG_RESUME',
      'DM_ULOG_GET_REGION_SIZE',
      'DM_ULOG_IS_CLEAN',
      'DM_ULOG_IN_SYNC',
      'DM_ULOG_FLUSH',
      'DM_ULOG_MARK_REGION',
      'DM_ULOG_CLEAR_REGION',
      'DM_ULOG_GET_RESYNC_WORK',
      'DM_ULOG_SET_REGION_SYNC',
      'DM_ULOG_GET_SYNC_COUNT',
      'DM_ULOG_STATUS_INFO',
      'DM_ULOG_STATUS_TABLE',
      'DM_ULOG_IS_REMOTE_RECOVERING',
    ]);
    expect(ulogRequestTypeName(21)).toBe('unknown request type 21');
    expect(isUlogRequestTypeCode(0)).toBe(false);
    expect(isUlogRequestTypeCode(18)).toBe(false);
  });

  it('§1.4 the payload table gives each type its request and reply sizes', () => {
    // [code, request "min-max/multiple", reply "min-max/multiple"], written from the §1.4 table.
    const expected: [number, string, string][] = [
      [1, '1-332/1', '0-128/1'],
      [2, '0-0/1', '0-0/1'],
      [3, '0-0/1', '0-0/1'],
      [4, '0-0/1', '0-0/1'],
      [5, '0-0/1', '0-0/1'],
      [6, '0-0/1', '8-8/1'],
      [7, '8-8/1', '8-8/1'],
      [8, '8-8/1', '8-8/1'],
      [9, '0-256/8', '0-0/1'],
      [10, '8-256/8', '0-0/1'],
      [11, '8-256/8', '0-0/1'],
      [12, '0-0/1', '16-16/1'],
      [13, '16-16/1', '0-0/1'],
      [14, '0-0/1', '8-8/1'],
      [15, '0-0/1', '1-864/1'],
      [16, '0-0/1', '1-864/1'],
      [17, '8-8/1', '16-16/1'],
    ];
    const actual = [...ULOG_TYPE_RULES].map(([code, rules]) => [
      code,
      `${rules.request.bytesMin}-${rules.request.bytesMax}/${rules.request.bytesMultiple}`,
      `${rules.reply.bytesMin}-${rules.reply.bytesMax}/${rules.reply.bytesMultiple}`,
    ]);
    expect(actual).toEqual(expected);
  });

  it('§1.4 rules name their shapes and describe themselves', () => {
    expect(ulogPayloadRule(1, 'request').shape).toBe('ctr-string');
    expect(ulogPayloadRule(1, 'reply').shape).toBe('device-name');
    expect(ulogPayloadRule(12, 'reply').shape).toBe('resync-work');
    expect(ulogPayloadRule(13, 'request').shape).toBe('region-sync');
    expect(ulogPayloadRule(17, 'reply').shape).toBe('remote-recovering');
    expect(ulogPayloadRule(7, 'reply').shape).toBe('s64');
    expect(ulogPayloadRule(15, 'reply').shape).toBe('status-text');
    expect(describeUlogPayloadRule(ulogPayloadRule(2, 'request'))).toBe('no payload');
    expect(describeUlogPayloadRule(ulogPayloadRule(7, 'request'))).toBe('exactly 8 bytes');
    expect(describeUlogPayloadRule(ulogPayloadRule(10, 'request'))).toBe(
      'a multiple of 8 from 8 to 256 bytes',
    );
    expect(describeUlogPayloadRule(ulogPayloadRule(1, 'reply'))).toBe('from 0 to 128 bytes');
    const mark = ulogPayloadRule(10, 'request');
    expect([0, 8, 12, 256, 264].map((size) => isUlogPayloadSizeAllowed(mark, size))).toEqual([
      false,
      true,
      false,
      true,
      false,
    ]);
  });
});

describe('§1.4 checking a payload against its rule', () => {
  const NAME_RULE = 'expected a NUL-terminated device name of printable ASCII without spaces';

  it('§1.4 a code outside the table has no rules', () => {
    for (const code of [0, 18, 21]) {
      expect(() => ulogPayloadRule(code as UlogRequestTypeCode, 'request')).toThrow(
        new RangeError(`Request type ${code} has no payload rules`),
      );
    }
  });

  it('§2.1 a CTR reply device name is checked for content, not only for size', () => {
    expect(() => checkUlogPayload(T.CTR, 'reply', hex('32 35 33'), 3)).toThrow(
      new UlogProtocolError(
        `DM_ULOG_CTR reply payload: CTR reply device name ends in byte 0x33: ${NAME_RULE}`,
      ),
    );
    expect(() => checkUlogPayload(T.CTR, 'reply', hex('32 20 33 00'), 3)).toThrow(
      new UlogProtocolError(
        `DM_ULOG_CTR reply payload: CTR reply device name "2 3" has character 0x20 at 1: ${NAME_RULE}`,
      ),
    );
    expect(checkUlogPayload(T.CTR, 'reply', hex('32 35 33 3a 32 00'), 3)).toBeUndefined();
  });

  it('§1.5/§3 bytesMax passes; one byte more is -ENOSPC in a reply, -EINVAL in a request', () => {
    const name = new Uint8Array(128).fill(0x64);
    name[127] = 0;
    expect(checkUlogPayload(T.CTR, 'reply', name, 3)).toBeUndefined();
    const longName = new Uint8Array(129).fill(0x64);
    longName[128] = 0;
    const replyTooBig = 'DM_ULOG_CTR reply payload is 129 bytes: expected from 0 to 128 bytes';
    expect(() => checkUlogPayload(T.CTR, 'reply', longName, 3)).toThrow(
      new UlogProtocolError(replyTooBig, { errno: ENOSPC }),
    );
    expect(checkUlogPayload(T.CTR, 'request', new Uint8Array(332).fill(0x78), 3)).toBeUndefined();
    const requestTooBig = 'DM_ULOG_CTR request payload is 333 bytes: expected from 1 to 332 bytes';
    expect(() => checkUlogPayload(T.CTR, 'request', new Uint8Array(333).fill(0x78), 3)).toThrow(
      new UlogProtocolError(requestTooBig, { errno: EINVAL }),
    );
    expect(checkUlogPayload(T.MARK_REGION, 'request', new Uint8Array(256), 3)).toBeUndefined();
    expect(() => checkUlogPayload(T.MARK_REGION, 'request', new Uint8Array(264), 3)).toThrow(
      new UlogProtocolError(
        'DM_ULOG_MARK_REGION request payload is 264 bytes: expected a multiple of 8 from 8 to 256 bytes',
      ),
    );
  });
});
