/**
 * The fixed-newstyle handshake as a pure state machine (reference nbd.md
 * §2, pitfalls §5.1–§5.5, §5.7), fed byte queues directly: no socket.
 */
import { describe, expect, it } from 'vitest';
import { ByteQueue } from '../../../host/nbd/protocol/byte-queue.js';
import type { NbdExportProfile } from '../../../host/nbd/protocol/export-profile.js';
import { type HandshakeAction, NbdHandshake } from '../../../host/nbd/protocol/handshake.js';
import {
  concat,
  goData,
  metaData,
  type OptionReply,
  option,
  takeOptionReply,
  text,
  u32,
} from './nbd-test-kit.js';

const PROFILE: NbdExportProfile = {
  name: 'mirror',
  description: 'a test mirror',
  sizeBytes: 4 * 1024 * 1024,
  multiConn: true,
};

const ACK = 1;
const SERVER = 2;
const INFO = 3;
const META_CONTEXT = 4;
const ERR_UNSUP = 0x80000001;
const ERR_INVALID = 0x80000003;
const ERR_UNKNOWN = 0x80000006;
const ERR_TOO_BIG = 0x80000009;

interface Outcome {
  readonly replies: OptionReply[];
  readonly sent: Uint8Array;
  readonly last: HandshakeAction | undefined;
  readonly actions: HandshakeAction[];
}

/** Feeds client flags (3 unless given) and `frames`, optionally one byte at a time. */
function run(
  frames: Uint8Array,
  options: { flags?: number; byByte?: boolean } = {},
): Outcome & { rest: number } {
  const handshake = new NbdHandshake(PROFILE);
  const queue = new ByteQueue();
  const actions: HandshakeAction[] = [];
  const input = concat(u32(options.flags ?? 3), frames);
  if (options.byByte === true) {
    for (const byte of input) {
      queue.push(Uint8Array.of(byte));
      actions.push(...handshake.receive(queue));
    }
  } else {
    queue.push(input);
    actions.push(...handshake.receive(queue));
  }
  const sent = concat(
    ...actions.flatMap((action) => (action.kind === 'send' ? [action.bytes] : [])),
  );
  const replies: OptionReply[] = [];
  const replyQueue = new ByteQueue();
  replyQueue.push(sent);
  // EXPORT_NAME's answer is not an option reply: stop at the first bytes without the reply magic.
  while (replyQueue.length >= 8 && replyQueue.peekUint32(0) === 0x0003e889) {
    const reply = takeOptionReply(replyQueue);
    if (reply === null) break;
    replies.push(reply);
  }
  return { replies, sent, actions, last: actions.at(-1), rest: queue.length };
}

function word(bytes: Uint8Array, offset: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset).getUint32(offset);
}

function half(bytes: Uint8Array, offset: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset).getUint16(offset);
}

describe('NbdHandshake greeting and client flags (§2.1)', () => {
  it('greets with NBDMAGIC, IHAVEOPT and the flags FIXED_NEWSTYLE | NO_ZEROES, as nbdkit does [obs]', () => {
    const greeting = new NbdHandshake(PROFILE).greeting();
    expect(Buffer.from(greeting).toString('hex')).toBe(
      '4e42444d41474943' + '49484156454f5054' + '0003',
    );
  });

  it('drops the connection when the client sets a flag the server did not advertise', () => {
    const outcome = run(new Uint8Array(0), { flags: 0x7 });
    expect(outcome.last).toMatchObject({ kind: 'close' });
    expect((outcome.last as { reason: string }).reason).toMatch(/client flags 0x7/);
  });

  it('waits for all four bytes of the client flags', () => {
    const handshake = new NbdHandshake(PROFILE);
    const queue = new ByteQueue();
    queue.push(Uint8Array.of(0, 0, 0));
    expect(handshake.receive(queue)).toEqual([]);
    expect(queue.length).toBe(3);
    queue.push(Uint8Array.of(3));
    expect(handshake.receive(queue)).toEqual([]);
    expect(handshake.finished).toBe(false);
  });
});

describe('NbdHandshake GO and INFO (§2.3, §2.4)', () => {
  it('GO answers INFO_EXPORT, INFO_BLOCK_SIZE and ACK, then enters transmission with no padding', () => {
    const outcome = run(concat(option(8), option(7, goData('', [3])), Uint8Array.of(0xee)));
    const [structured, exportInfo, blockSize, ack] = outcome.replies;
    expect(structured).toMatchObject({ code: 8, type: ACK, payload: new Uint8Array(0) });
    expect(exportInfo).toMatchObject({ code: 7, type: INFO });
    expect(exportInfo!.payload.length).toBe(12);
    expect(half(exportInfo!.payload, 0)).toBe(0);
    expect(word(exportInfo!.payload, 6)).toBe(PROFILE.sizeBytes);
    // HAS_FLAGS|FLUSH|FUA|TRIM|WRITE_ZEROES (0x6D) + DF with structured replies + MULTI_CONN.
    expect(half(exportInfo!.payload, 10)).toBe(0x01ed);
    expect(blockSize).toMatchObject({ code: 7, type: INFO });
    expect([...blockSize!.payload]).toEqual([
      0,
      3,
      ...u32(512),
      ...u32(4096),
      ...u32(32 * 1024 * 1024),
    ]);
    expect(ack).toMatchObject({ code: 7, type: ACK, payload: new Uint8Array(0) });
    expect(outcome.last).toEqual({
      kind: 'transmission',
      session: {
        structuredReplies: true,
        baseAllocation: false,
        transmissionFlags: 0x01ed,
        enteredBy: 'GO',
      },
    });
    expect(outcome.rest, 'the byte after GO stays for the request parser').toBe(1);
  });

  it('sends INFO_EXPORT even when the client asks for nothing (qemu needs it), and no DF without structured replies', () => {
    const outcome = run(option(7, goData('mirror', [])));
    expect(outcome.replies.map((reply) => reply.type)).toEqual([INFO, INFO, ACK]);
    expect(half(outcome.replies[0]!.payload, 10)).toBe(0x016d);
  });

  it('INFO answers NAME and DESCRIPTION on request, ignores unknown codes, and negotiation goes on', () => {
    const outcome = run(option(6, goData('', [1, 2, 0x7777, 1])));
    const infos = outcome.replies
      .filter((reply) => reply.type === INFO)
      .map((reply) => half(reply.payload, 0));
    expect(infos).toEqual([0, 1, 2, 3]);
    const name = outcome.replies.find(
      (reply) => reply.type === INFO && half(reply.payload, 0) === 1,
    )!;
    expect(new TextDecoder().decode(name.payload.subarray(2))).toBe('mirror');
    expect(outcome.last?.kind).toBe('send');
  });

  it('an unknown export name gets ERR_UNKNOWN; malformed lengths get ERR_INVALID; negotiation continues (nbdkit checks)', () => {
    const outcome = run(
      concat(
        option(7, goData('other', [])),
        option(7, Uint8Array.of(0, 0, 0, 0, 0)),
        option(7, concat(u32(10), Uint8Array.of(0, 0))),
        option(7, concat(goData('', [3]), Uint8Array.of(9))),
        option(6, concat(u32(5000), new Uint8Array(5000), Uint8Array.of(0, 0))),
        option(7, concat(u32(2), Uint8Array.of(0x61, 0), Uint8Array.of(0, 0))),
      ),
    );
    expect(outcome.replies.map((reply) => reply.type)).toEqual([
      ERR_UNKNOWN,
      ERR_INVALID,
      ERR_INVALID,
      ERR_INVALID,
      ERR_TOO_BIG,
      ERR_INVALID,
    ]);
    expect(outcome.replies.every((reply) => reply.code === 7 || reply.code === 6)).toBe(true);
    expect(new TextDecoder().decode(outcome.replies[0]!.payload)).toMatch(
      /no export named "other"/,
    );
    expect(outcome.last?.kind).toBe('send');
  });
});

describe('NbdHandshake EXPORT_NAME, ABORT, LIST, STARTTLS and unknown options', () => {
  it('EXPORT_NAME answers size and flags then 124 zero bytes unless NO_ZEROES was agreed (§2.3, §5.1)', () => {
    const padded = run(option(1, text('mirror')), { flags: 1 });
    expect(padded.sent.length).toBe(8 + 2 + 124);
    expect(word(padded.sent, 4)).toBe(PROFILE.sizeBytes);
    expect(half(padded.sent, 8)).toBe(0x016d);
    expect(padded.sent.subarray(10).every((byte) => byte === 0)).toBe(true);
    expect(padded.last).toMatchObject({
      kind: 'transmission',
      session: { enteredBy: 'EXPORT_NAME' },
    });
    expect(run(option(1)).sent.length, 'NO_ZEROES: no padding').toBe(10);
  });

  it('EXPORT_NAME of an unknown export can only disconnect (§2.3)', () => {
    const outcome = run(option(1, text('nope')));
    expect(outcome.sent.length).toBe(0);
    expect(outcome.last).toMatchObject({ kind: 'close' });
  });

  it('ABORT is acknowledged, then the connection closes (§2.3, pitfall §5.3)', () => {
    const outcome = run(concat(option(2, text('ignored')), option(8)));
    expect(outcome.replies).toEqual([{ code: 2, type: ACK, payload: new Uint8Array(0) }]);
    expect(outcome.last).toMatchObject({ kind: 'close', reason: 'the client sent ABORT' });
  });

  it('LIST gives one REP_SERVER with a correct name length and the description, then ACK; data gets ERR_INVALID', () => {
    const outcome = run(concat(option(3), option(3, Uint8Array.of(1))));
    const [server, ack, invalid] = outcome.replies;
    expect(server!.type).toBe(SERVER);
    expect(word(server!.payload, 0)).toBe(6);
    expect(new TextDecoder().decode(server!.payload.subarray(4))).toBe('mirrora test mirror');
    expect(ack!.type).toBe(ACK);
    expect(invalid!.type).toBe(ERR_INVALID);
  });

  it('refuses STARTTLS without ever sending TLS_REQD (NOTLS mode, §2.8), and unknown options with ERR_UNSUP after consuming their data (§5.2)', () => {
    const outcome = run(
      concat(
        option(5),
        option(11),
        option(4, text('peek')),
        option(0x12345, new Uint8Array(300)),
        option(3),
      ),
    );
    expect(outcome.replies.map((reply) => [reply.code, reply.type])).toEqual([
      [5, ERR_UNSUP],
      [11, ERR_UNSUP],
      [4, ERR_UNSUP],
      [0x12345, ERR_UNSUP],
      [3, SERVER],
      [3, ACK],
    ]);
  });

  it('STRUCTURED_REPLY with data gets ERR_INVALID and structured replies stay off', () => {
    const outcome = run(concat(option(8, Uint8Array.of(1)), option(7, goData(''))));
    expect(outcome.replies[0]!.type).toBe(ERR_INVALID);
    expect(outcome.last).toMatchObject({ session: { structuredReplies: false } });
  });
});

describe('NbdHandshake meta contexts (§2.3, pitfall §5.5)', () => {
  it('SET_META_CONTEXT before STRUCTURED_REPLY gets ERR_INVALID', () => {
    const outcome = run(option(10, metaData('', ['base:allocation'])));
    expect(outcome.replies.map((reply) => reply.type)).toEqual([ERR_INVALID]);
  });

  it('SET selects base:allocation with context ID 1 and ignores unknown queries; LIST answers with ID 0', () => {
    const outcome = run(
      concat(
        option(8),
        option(9, metaData('', [])),
        option(9, metaData('mirror', ['base:'])),
        option(10, metaData('', ['qemu:dirty-bitmap:x', 'base:allocation'])),
        option(7, goData('')),
      ),
    );
    const contexts = outcome.replies.filter((reply) => reply.type === META_CONTEXT);
    expect(contexts.map((reply) => [reply.code, word(reply.payload, 0)])).toEqual([
      [9, 0],
      [9, 0],
      [10, 1],
    ]);
    expect(new TextDecoder().decode(contexts[2]!.payload.subarray(4))).toBe('base:allocation');
    expect(outcome.last).toMatchObject({ session: { baseAllocation: true } });
  });

  it('a later SET replaces the selection; zero queries select nothing', () => {
    const outcome = run(
      concat(
        option(8),
        option(10, metaData('', ['base:allocation'])),
        option(10, metaData('', [])),
        option(7, goData('')),
      ),
    );
    expect(outcome.last).toMatchObject({ session: { baseAllocation: false } });
  });

  it('malformed query lists get ERR_INVALID, too many queries ERR_TOO_BIG, an unknown export ERR_UNKNOWN', () => {
    const outcome = run(
      concat(
        option(8),
        option(10, Uint8Array.of(0, 0, 0)),
        option(10, concat(u32(0), u32(1), u32(50), text('base:allocation'))),
        option(10, concat(metaData('', ['base:allocation']), Uint8Array.of(0))),
        option(10, concat(u32(0), u32(100_000))),
        option(10, metaData('elsewhere', ['base:allocation'])),
      ),
    );
    expect(outcome.replies.slice(1).map((reply) => reply.type)).toEqual([
      ERR_INVALID,
      ERR_INVALID,
      ERR_INVALID,
      ERR_TOO_BIG,
      ERR_UNKNOWN,
    ]);
  });
});

describe('NbdHandshake robustness (pitfall §5.7, §5.8)', () => {
  it('gives the same replies whether the frames arrive whole or one byte at a time', () => {
    const frames = concat(
      option(3),
      option(8),
      option(9, metaData('', [])),
      option(6, goData('', [1, 2, 3])),
      option(7, goData('', [3])),
    );
    const whole = run(frames);
    const byByte = run(frames, { byByte: true });
    expect(byByte.sent).toEqual(whole.sent);
    expect(byByte.last).toEqual(whole.last);
  });

  it('closes the connection on a bad option magic, an option over 1 MiB, or more than 64 options', () => {
    const badMagic = run(concat(u32(0x12345678), u32(0), u32(3), u32(0)));
    expect(badMagic.last).toMatchObject({
      kind: 'close',
      reason: 'option request without the IHAVEOPT magic',
    });
    const huge = run(concat(option(3).subarray(0, 12), u32(1024 * 1024 + 1)));
    expect(huge.last).toMatchObject({ kind: 'close' });
    expect((huge.last as { reason: string }).reason).toMatch(
      /1048577 bytes: expected at most 1048576/,
    );
    const many = run(concat(...Array.from({ length: 65 }, () => option(99))));
    expect(many.replies.length).toBe(64);
    expect(many.last).toMatchObject({
      kind: 'close',
      reason: 'more than 64 options on one connection',
    });
  });

  it('reads nothing after the handshake finished', () => {
    const handshake = new NbdHandshake(PROFILE);
    const queue = new ByteQueue();
    queue.push(concat(u32(3), option(2)));
    expect(handshake.receive(queue).at(-1)?.kind).toBe('close');
    queue.push(option(3));
    expect(handshake.receive(queue)).toEqual([]);
    expect(handshake.options).toBe(1);
  });
});
