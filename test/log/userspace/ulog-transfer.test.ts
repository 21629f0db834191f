import { describe, expect, it } from 'vitest';
import { World } from '../../../sim/world.js';
import { type Blocking, spawn } from '../../../src/concurrency/blocking.js';
import { EAGAIN, EINVAL, EIO, ENOSPC, ESRCH } from '../../../src/errno.js';
import {
  DM_ULOG_RETRY_TIMEOUT_TICKS,
  decodeUlogRequest,
  encodeUlogCtrRequest,
  encodeUlogRequest,
  encodeUlogU64,
  ULOG_LOAD_ATTEMPTS_MAX,
  ULOG_LOAD_EAGAIN_RESENDS_MAX,
  ULOG_REQUEST_PAYLOAD_BYTES_MAX,
  type UlogChannel,
  type UlogChannelEndpoint,
  type UlogConsultResult,
  type UlogRequest,
  UlogRequestType,
  type UlogRoundTrip,
  UlogTransfer,
} from '../../../src/log/userspace/index.js';
import { invariantMessage } from '../../assert-test-kit.js';
import { UserspaceHarness } from './userspace-test-kit.js';

const LUID = 7n;

function request(type: number, data?: Uint8Array, replyBytesMax = 0) {
  return {
    uuid: 'transfer-test-uuid',
    luid: LUID,
    requestType: type as (typeof UlogRequestType)[keyof typeof UlogRequestType],
    ...(data === undefined ? {} : { data }),
    replyBytesMax,
  };
}

describe('dm_consult_userspace (§3)', () => {
  it('§3 the global seq advances on every send, across logs, and the record carries version 3', () => {
    const harness = new UserspaceHarness();
    harness.channel.script = () => ({ error: 0 });
    harness.run(harness.transfer.consult(request(UlogRequestType.PRESUSPEND)));
    harness.run(harness.transfer.consult({ ...request(UlogRequestType.RESUME), luid: 99n }));
    const seen = harness.channel.seen.map((s) => s.request);
    expect(seen.map((r) => r.seq)).toEqual([0, 1]);
    expect(seen.map((r) => r.version)).toEqual([3, 3]);
    expect(seen.map((r) => r.luid)).toEqual([LUID, 99n]);
    expect(harness.transfer.nextSeq).toBe(2);
  });

  it('§3 a request with no reply in 15 s is resent with a new seq, without a retry limit', () => {
    const harness = new UserspaceHarness();
    harness.channel.script = (_request, index) => (index < 3 ? 'drop' : { error: 0 });
    const result = harness.run(harness.transfer.consult(request(UlogRequestType.FLUSH)));
    expect(result.error).toBe(0);
    const seen = harness.channel.seen;
    expect(seen.map((s) => s.request.seq)).toEqual([0, 1, 2, 3]);
    expect(seen.map((s) => s.timeTicks)).toEqual([
      0,
      DM_ULOG_RETRY_TIMEOUT_TICKS,
      2 * DM_ULOG_RETRY_TIMEOUT_TICKS,
      3 * DM_ULOG_RETRY_TIMEOUT_TICKS,
    ]);
    expect(harness.transfer.stats.timeouts).toBe(3);
    expect(harness.transfer.messages.count('Request timed out: [DM_ULOG_FLUSH/0] - retrying')).toBe(
      1,
    );
  });

  it('§1.5 a late reply to a seq that was resent is dropped silently; the resend’s reply counts', () => {
    const harness = new UserspaceHarness();
    harness.channel.script = (_request, index) =>
      index === 0
        ? { error: 0, data: encodeUlogU64(111), delayTicks: DM_ULOG_RETRY_TIMEOUT_TICKS + 5 }
        : { error: 0, data: encodeUlogU64(222) };
    const result = harness.run(
      harness.transfer.consult(request(UlogRequestType.GET_SYNC_COUNT, undefined, 8)),
    );
    expect([...result.data]).toEqual([...encodeUlogU64(222)]);
    expect(harness.transfer.stats.lateReplies).toBe(1);
    expect(harness.transfer.stats.repliesMatched).toBe(1);
    expect(harness.transfer.waiting).toBe(0);
  });

  it('§1.5 an -EAGAIN reply is resent at once with a new seq', () => {
    const harness = new UserspaceHarness();
    harness.channel.script = (_request, index) => ({ error: index < 2 ? EAGAIN : 0 });
    const result = harness.run(harness.transfer.consult(request(UlogRequestType.FLUSH)));
    expect(result.error).toBe(0);
    expect(harness.channel.seen.map((s) => s.request.seq)).toEqual([0, 1, 2]);
    expect(harness.transfer.stats.eagainResends).toBe(2);
    expect(harness.world.scheduler.now()).toBeLessThan(1000);
  });

  it('§3 with no daemon listening the send fails with -ESRCH at once, and is not retried', () => {
    const harness = new UserspaceHarness();
    harness.channel.script = () => 'no-listener';
    const result = harness.run(harness.transfer.consult(request(UlogRequestType.FLUSH)));
    expect(result.error).toBe(ESRCH);
    expect(harness.channel.seen).toHaveLength(1);
    expect(harness.transfer.waiting).toBe(0);
    expect(harness.world.scheduler.now()).toBe(0);
  });

  it('§3 a payload over 332 bytes fails with -EINVAL without being sent', () => {
    const harness = new UserspaceHarness();
    const result = harness.run(
      harness.transfer.consult(request(UlogRequestType.CTR, new Uint8Array(333).fill(0x41))),
    );
    expect(result.error).toBe(EINVAL);
    expect(harness.channel.seen).toHaveLength(0);
    expect(harness.transfer.messages.count('Size of tfr exceeds preallocated size')).toBe(1);
  });

  it('§1.5 reply data bigger than the caller’s buffer gives -ENOSPC and no data', () => {
    const harness = new UserspaceHarness();
    harness.channel.script = () => ({ error: 0, data: encodeUlogU64(5) });
    const result = harness.run(
      harness.transfer.consult(request(UlogRequestType.GET_SYNC_COUNT, undefined, 4)),
    );
    expect(result).toEqual({ error: ENOSPC, data: new Uint8Array(0) });
  });

  it('§3 replies are matched on seq alone: many waiters at once, answered out of order', () => {
    const harness = new UserspaceHarness();
    // The first request is answered last.
    harness.channel.script = (_request, index) => ({
      error: 0,
      data: encodeUlogU64(index),
      delayTicks: 100 - index * 10,
    });
    const probes = [0, 1, 2].map(() =>
      harness.start(
        harness.transfer.consult(request(UlogRequestType.GET_SYNC_COUNT, undefined, 8)),
      ),
    );
    expect(harness.transfer.waiting).toBe(3);
    harness.world.scheduler.runUntilIdle();
    const values = probes.map((probe) => [...(probe.value as UlogConsultResult).data][0]);
    expect(values).toEqual([0, 1, 2]);
  });

  it('§3 a reply is matched even when its uuid and type differ from the request (seq only)', () => {
    const harness = new UserspaceHarness();
    const probe = harness.start(harness.transfer.consult(request(UlogRequestType.FLUSH)));
    const reply = encodeUlogRequest(
      {
        luid: 1n,
        uuid: 'someone-else',
        version: 3,
        error: -5,
        seq: 0,
        requestType: UlogRequestType.DTR,
        data: new Uint8Array(0),
      },
      { direction: 'reply' },
    );
    harness.transfer.receive(reply);
    harness.world.scheduler.runUntilIdle();
    expect(probe.value).toEqual({ error: -5, data: new Uint8Array(0) });
  });

  it('§3 the seq is a u32: it wraps from 2^32-1 to 0', () => {
    const harness = new UserspaceHarness();
    harness.channel.script = () => ({ error: 0 });
    for (let index = 0; index < 3; index++) {
      harness.run(harness.transfer.consult(request(UlogRequestType.FLUSH)));
    }
    // Jump the counter near the wrap through the private field, then send twice more.
    (harness.transfer as unknown as { seqNext: number }).seqNext = 0xffff_ffff;
    harness.run(harness.transfer.consult(request(UlogRequestType.FLUSH)));
    harness.run(harness.transfer.consult(request(UlogRequestType.FLUSH)));
    expect(harness.channel.seen.map((s) => s.request.seq)).toEqual([0, 1, 2, 0xffff_ffff, 0]);
  });

  it('the table-load path gives up with -ESRCH after its bounded number of lost attempts', () => {
    const harness = new UserspaceHarness();
    harness.channel.script = () => 'drop';
    const result = harness.transfer.consultNow(request(UlogRequestType.GET_REGION_SIZE));
    expect(result.error).toBe(ESRCH);
    expect(harness.channel.seen).toHaveLength(ULOG_LOAD_ATTEMPTS_MAX);
    expect(harness.channel.seen.map((s) => s.request.seq)).toEqual([0, 1, 2]);
  });

  it('a reply the codec refuses still answers its seq, with the codec’s errno', () => {
    const harness = new UserspaceHarness();
    const probe = harness.start(
      harness.transfer.consult(request(UlogRequestType.GET_SYNC_COUNT, undefined, 8)),
    );
    const bad = encodeUlogRequest(
      {
        luid: LUID,
        uuid: 'x',
        version: 3,
        error: 0,
        seq: 0,
        requestType: UlogRequestType.GET_SYNC_COUNT,
        data: encodeUlogU64(1),
      },
      { direction: 'reply' },
    );
    bad[137] = 1; // a padding byte that must be zero
    harness.transfer.receive(bad);
    harness.world.scheduler.runUntilIdle();
    expect((probe.value as UlogConsultResult).error).toBe(EINVAL);
    expect(harness.transfer.stats.malformedReplies).toBe(1);
  });
});

const NO_DATA = new Uint8Array(0);

/** A channel driven by hand: it records each request and answers as `onSend`/`onRoundTrip` say. */
class HandChannel implements UlogChannel {
  readonly sent: UlogRequest[] = [];
  endpoint: UlogChannelEndpoint | null = null;
  /** What `send` returns; by default 0 with no reply ever (a lost request). */
  onSend: (request: UlogRequest) => number = () => 0;
  onRoundTrip: (request: UlogRequest, index: number) => UlogRoundTrip = () => ({ kind: 'lost' });

  attach(endpoint: UlogChannelEndpoint): void {
    this.endpoint = endpoint;
  }

  send(record: Uint8Array): number {
    const request = decodeUlogRequest(record);
    this.sent.push(request);
    return this.onSend(request);
  }

  roundTripNow(record: Uint8Array): UlogRoundTrip {
    const request = decodeUlogRequest(record);
    this.sent.push(request);
    return this.onRoundTrip(request, this.sent.length - 1);
  }
}

/** The reply record to `sent`: its header echoed, with no data unless `fields` say otherwise. */
function replyTo(sent: UlogRequest, fields: Partial<UlogRequest> = {}): Uint8Array {
  return encodeUlogRequest({ ...sent, data: NO_DATA, ...fields }, { direction: 'reply' });
}

/** A transfer layer over a {@link HandChannel}; `traced` keeps the scheduler's recent trace. */
function handRig(traced = false) {
  const world = new World({ seed: 1, ...(traced ? { traceRecentCapacity: 256 } : {}) });
  const channel = new HandChannel();
  const transfer = new UlogTransfer({ scheduler: world.scheduler, channel });
  return { world, channel, transfer };
}

/** Runs a consult to completion on `world` and returns its result. */
function finish(world: World, task: Blocking<UlogConsultResult>): UlogConsultResult {
  let result: UlogConsultResult | undefined;
  spawn(task, (value) => {
    result = value;
  });
  world.scheduler.runUntilIdle();
  expect(result, 'the consult finished').toBeDefined();
  return result as UlogConsultResult;
}

function noop(): void {}

describe('dm_consult_userspace: counters, trace and messages (§3)', () => {
  it('the counters start at zero, with one per-type slot for each code 0–17', () => {
    const { transfer } = handRig();
    expect(transfer.stats).toEqual({
      requestsSent: 0,
      requestsByType: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
      timeouts: 0,
      eagainResends: 0,
      noListener: 0,
      repliesMatched: 0,
      lateReplies: 0,
      malformedReplies: 0,
    });
  });

  it('§3 §1.5 every send counts, resends included: two lost FLUSHes, then an -EAGAIN', () => {
    const harness = new UserspaceHarness();
    harness.channel.script = (_request, index) => {
      if (index < 2) return 'drop';
      if (index === 2) return { error: 0 };
      if (index === 3) return { error: EAGAIN };
      return { error: 0, data: encodeUlogU64(42) };
    };
    harness.run(harness.transfer.consult(request(UlogRequestType.FLUSH)));
    const count = harness.run(
      harness.transfer.consult(request(UlogRequestType.GET_SYNC_COUNT, undefined, 8)),
    );
    expect(count).toEqual({ error: 0, data: encodeUlogU64(42) });
    const byType = new Array<number>(18).fill(0);
    byType[UlogRequestType.FLUSH] = 3;
    byType[UlogRequestType.GET_SYNC_COUNT] = 2;
    expect(harness.transfer.stats).toEqual({
      requestsSent: 5,
      requestsByType: byType,
      timeouts: 2,
      eagainResends: 1,
      noListener: 0,
      repliesMatched: 3,
      lateReplies: 0,
      malformedReplies: 0,
    });
  });

  it('§3 §1.5 the trace shows each send with its type, the 15 s timeout and the late reply dropped', () => {
    const { world, channel, transfer } = handRig(true);
    const firstReplyAt = DM_ULOG_RETRY_TIMEOUT_TICKS + 5;
    channel.onSend = (sent) => {
      const bytes = replyTo(sent, { data: encodeUlogU64(sent.seq) });
      world.scheduler.schedule(sent.seq === 0 ? firstReplyAt : 10, 'test.reply', () =>
        channel.endpoint?.receive(bytes),
      );
      return 0;
    };
    const result = finish(
      world,
      transfer.consult(request(UlogRequestType.GET_SYNC_COUNT, undefined, 8)),
    );
    expect(result).toEqual({ error: 0, data: encodeUlogU64(1) });
    const ulogTrace = world.scheduler.traceLog
      .recent()
      .filter((entry) => entry.label.startsWith('ulog.'))
      .map(({ timeTicks, label, detail, isEvent }) => ({ timeTicks, label, detail, isEvent }));
    expect(ulogTrace).toEqual([
      { timeTicks: 0, label: 'ulog.send', detail: UlogRequestType.GET_SYNC_COUNT, isEvent: false },
      { timeTicks: DM_ULOG_RETRY_TIMEOUT_TICKS, label: 'ulog.timeout', detail: 0, isEvent: true },
      {
        timeTicks: DM_ULOG_RETRY_TIMEOUT_TICKS,
        label: 'ulog.send',
        detail: UlogRequestType.GET_SYNC_COUNT,
        isEvent: false,
      },
      { timeTicks: firstReplyAt, label: 'ulog.reply_dropped', detail: 0, isEvent: false },
    ]);
    expect(transfer.stats.lateReplies).toBe(1);
  });

  it.each([
    ['abcdefg', 'abcdefg'],
    ['abcdefgh', 'abcdefgh'],
    ['abcdefghi', 'bcdefghi'],
  ])('§3 the timeout warning of uuid %s names its last 8 characters: [%s]', (uuid, tail) => {
    const harness = new UserspaceHarness();
    harness.channel.script = (_request, index) => (index === 0 ? 'drop' : { error: 0 });
    harness.run(harness.transfer.consult({ ...request(UlogRequestType.FLUSH), uuid }));
    expect(harness.transfer.messages.all).toEqual([
      {
        timeTicks: DM_ULOG_RETRY_TIMEOUT_TICKS,
        level: 'warning',
        text: `[${tail}] Request timed out: [DM_ULOG_FLUSH/0] - retrying`,
      },
    ]);
  });

  it('§1.5 too much reply data is logged as "Insufficient space to receive package (8 vs 4)"', () => {
    const harness = new UserspaceHarness();
    harness.channel.script = () => ({ error: 0, data: encodeUlogU64(5) });
    harness.run(harness.transfer.consult(request(UlogRequestType.GET_SYNC_COUNT, undefined, 4)));
    expect(harness.transfer.messages.all).toEqual([
      { timeTicks: 10, level: 'error', text: 'Insufficient space to receive package (8 vs 4)' },
    ]);
  });

  it('§1.5 a reply with an error returns that error and no data, even if it carries data', () => {
    const harness = new UserspaceHarness();
    const probe = harness.start(
      harness.transfer.consult(request(UlogRequestType.GET_SYNC_COUNT, undefined, 8)),
    );
    const [sent] = harness.channel.seen;
    expect(sent).toBeDefined();
    harness.transfer.receive(
      replyTo(sent?.request as UlogRequest, { error: EIO, data: encodeUlogU64(9) }),
    );
    harness.world.scheduler.runUntilIdle();
    expect(probe.value).toEqual({ error: EIO, data: NO_DATA });
  });

  it('a malformed reply is logged with the codec’s reason', () => {
    const harness = new UserspaceHarness();
    harness.start(harness.transfer.consult(request(UlogRequestType.FLUSH)));
    const [sent] = harness.channel.seen;
    const bad = replyTo(sent?.request as UlogRequest);
    bad[138] = 2; // a padding byte that must be zero
    harness.transfer.receive(bad);
    expect(harness.transfer.messages.all).toEqual([
      {
        timeTicks: 0,
        level: 'error',
        text: 'Malformed reply from userspace: padding byte 138 is 0x02: expected 0',
      },
    ]);
  });
});

describe('dm_consult_userspace: payload limit and send errors (§3)', () => {
  it('§3 a payload of exactly 332 bytes fills the 512-byte buffer and is sent, on both paths', () => {
    const harness = new UserspaceHarness();
    harness.channel.script = () => ({ error: 0 });
    const ctr = encodeUlogCtrRequest('A'.repeat(ULOG_REQUEST_PAYLOAD_BYTES_MAX - 1));
    expect(ctr).toHaveLength(332);
    const ok = { error: 0, data: NO_DATA };
    expect(harness.run(harness.transfer.consult(request(UlogRequestType.CTR, ctr)))).toEqual(ok);
    expect(harness.transfer.consultNow(request(UlogRequestType.CTR, ctr))).toEqual(ok);
    expect(harness.channel.seen.map((seen) => seen.request.data.length)).toEqual([332, 332]);
    expect(harness.transfer.messages.all).toEqual([]);
  });

  it('§3 the table-load path refuses a 333-byte payload with -EINVAL and sends nothing', () => {
    const harness = new UserspaceHarness();
    harness.channel.script = () => ({ error: 0 });
    const oversize = new Uint8Array(333).fill(0x41);
    expect(harness.transfer.consultNow(request(UlogRequestType.CTR, oversize))).toEqual({
      error: EINVAL,
      data: NO_DATA,
    });
    expect(harness.channel.seen).toHaveLength(0);
    expect(harness.transfer.stats.requestsSent).toBe(0);
    expect(harness.transfer.messages.all).toEqual([
      { timeTicks: 0, level: 'info', text: 'Size of tfr exceeds preallocated size (333 bytes)' },
    ]);
  });

  it.each([
    [ESRCH, 1],
    [EIO, 0],
  ])(
    '§3 a send error %i returns at once with its message; noListener counts %i',
    (sendError, noListener) => {
      const { world, channel, transfer } = handRig();
      channel.onSend = () => sendError;
      const result = finish(world, transfer.consult(request(UlogRequestType.FLUSH)));
      expect(result).toEqual({ error: sendError, data: NO_DATA });
      expect(transfer.stats.noListener).toBe(noListener);
      expect(transfer.stats.requestsSent).toBe(1);
      expect(transfer.waiting).toBe(0);
      expect(world.scheduler.now()).toBe(0);
      expect(transfer.messages.all).toEqual([
        {
          timeTicks: 0,
          level: 'error',
          text: `Unable to send log request [9] to userspace: ${sendError}`,
        },
      ]);
    },
  );

  it('a reply delivered inside a failing send still answers the request: the reply stands', () => {
    const { world, channel, transfer } = handRig();
    channel.onSend = (sent) => {
      channel.endpoint?.receive(replyTo(sent, { data: encodeUlogU64(7) }));
      return ESRCH;
    };
    const result = finish(
      world,
      transfer.consult(request(UlogRequestType.GET_SYNC_COUNT, undefined, 8)),
    );
    expect(result).toEqual({ error: 0, data: encodeUlogU64(7) });
    expect(transfer.stats).toMatchObject({ requestsSent: 1, repliesMatched: 1, noListener: 0 });
    expect(transfer.messages.all).toEqual([]);
    expect(transfer.waiting).toBe(0);
  });
});

describe('the table-load path (consultNow, §3)', () => {
  it('§3 returns -ESRCH at once when nobody listens, without counting a lost attempt', () => {
    const harness = new UserspaceHarness();
    harness.channel.script = () => 'no-listener';
    expect(
      harness.transfer.consultNow(request(UlogRequestType.GET_REGION_SIZE, undefined, 8)),
    ).toEqual({ error: ESRCH, data: NO_DATA });
    expect(harness.channel.seen).toHaveLength(1);
    expect(harness.transfer.stats).toMatchObject({ noListener: 1, timeouts: 0, requestsSent: 1 });
    expect(harness.transfer.messages.all).toEqual([]);
  });

  it('§3 a reply to another seq is a lost attempt: it warns and resends with a new seq', () => {
    const { channel, transfer } = handRig();
    channel.onRoundTrip = (sent, index) => ({
      kind: 'reply',
      reply: replyTo(
        sent,
        index === 0
          ? { seq: sent.seq + 1, data: encodeUlogU64(111) }
          : { data: encodeUlogU64(222) },
      ),
    });
    const result = transfer.consultNow(request(UlogRequestType.GET_REGION_SIZE, undefined, 8));
    expect(result).toEqual({ error: 0, data: encodeUlogU64(222) });
    expect(channel.sent.map((sent) => sent.seq)).toEqual([0, 1]);
    expect(transfer.stats).toMatchObject({ requestsSent: 2, timeouts: 1, repliesMatched: 1 });
    expect(transfer.messages.all.map((message) => message.text)).toEqual([
      '[est-uuid] Request timed out: [DM_ULOG_GET_REGION_SIZE/0] - retrying',
    ]);
  });

  it('§1.5 an -EAGAIN reply is resent with a new seq and is not one of the lost attempts', () => {
    const harness = new UserspaceHarness();
    harness.channel.script = (_request, index) =>
      index < ULOG_LOAD_ATTEMPTS_MAX ? { error: EAGAIN } : { error: 0, data: encodeUlogU64(1024) };
    const result = harness.transfer.consultNow(
      request(UlogRequestType.GET_REGION_SIZE, undefined, 8),
    );
    expect(result).toEqual({ error: 0, data: encodeUlogU64(1024) });
    expect(harness.channel.seen.map((seen) => seen.request.seq)).toEqual([0, 1, 2, 3]);
    expect(harness.transfer.stats).toMatchObject({
      requestsSent: 4,
      eagainResends: 3,
      repliesMatched: 4,
      timeouts: 0,
    });
  });
});

describe('the table-load path against a daemon that always answers -EAGAIN (§3, beyond Linux)', () => {
  it('resends ULOG_LOAD_EAGAIN_RESENDS_MAX times, then returns the -EAGAIN answer instead of spinning', () => {
    const harness = new UserspaceHarness();
    harness.channel.script = () => ({ error: EAGAIN });
    const result = harness.transfer.consultNow(
      request(UlogRequestType.GET_REGION_SIZE, undefined, 8),
    );
    expect(result).toEqual({ error: EAGAIN, data: new Uint8Array(0) });
    expect(ULOG_LOAD_EAGAIN_RESENDS_MAX).toBe(16);
    expect(harness.channel.seen).toHaveLength(ULOG_LOAD_EAGAIN_RESENDS_MAX + 1);
    expect(harness.transfer.stats).toMatchObject({
      requestsSent: 17,
      eagainResends: 16,
      repliesMatched: 17,
      timeouts: 0,
    });
  });

  it('an answer after the last allowed resend still succeeds', () => {
    const harness = new UserspaceHarness();
    harness.channel.script = (_request, index) =>
      index < ULOG_LOAD_EAGAIN_RESENDS_MAX
        ? { error: EAGAIN }
        : { error: 0, data: encodeUlogU64(2048) };
    const result = harness.transfer.consultNow(
      request(UlogRequestType.GET_REGION_SIZE, undefined, 8),
    );
    expect(result).toEqual({ error: 0, data: encodeUlogU64(2048) });
    expect(harness.transfer.stats.eagainResends).toBe(16);
  });
});

describe('the transfer layer’s invariants', () => {
  it('allocateLuid counts from 1 by default and refuses a luid that is not positive', () => {
    const { transfer } = handRig();
    expect([transfer.allocateLuid(), transfer.allocateLuid()]).toEqual([1n, 2n]);
    for (const bad of [0n, -1n]) {
      const world = new World({ seed: 1 });
      const broken = new UlogTransfer({
        scheduler: world.scheduler,
        channel: new HandChannel(),
        allocateLuid: () => bad,
      });
      expect(invariantMessage(() => broken.allocateLuid())).toBe(`luid ${bad} is not positive`);
    }
  });

  it('a second waiter for the same seq is an invariant violation', () => {
    const { channel, transfer } = handRig();
    const waiters = (transfer as unknown as { waiters: Map<number, unknown> }).waiters;
    waiters.set(0, { seq: 0 });
    expect(
      invariantMessage(() => spawn(transfer.consult(request(UlogRequestType.FLUSH)), noop)),
    ).toBe('two waiters for seq 0');
    expect(channel.sent).toHaveLength(0);
  });

  it('a timeout whose waiter is gone is an invariant violation', () => {
    const { world, channel, transfer } = handRig();
    // The first send is lost; a resend (if the timeout went on) would find nobody listening.
    channel.onSend = () => (channel.sent.length === 1 ? 0 : ESRCH);
    spawn(transfer.consult(request(UlogRequestType.FLUSH)), noop);
    expect(transfer.waiting).toBe(1);
    (transfer as unknown as { waiters: Map<number, unknown> }).waiters.clear();
    expect(invariantMessage(() => world.scheduler.runUntilIdle())).toBe(
      'timeout of seq 0 without its waiter',
    );
  });

  it('a channel that sends again from inside send breaks the shared-buffer lock', () => {
    const { channel, transfer } = handRig();
    channel.onSend = () => {
      if (channel.sent.length === 1) spawn(transfer.consult(request(UlogRequestType.RESUME)), noop);
      return 0;
    };
    expect(
      invariantMessage(() => spawn(transfer.consult(request(UlogRequestType.PRESUSPEND)), noop)),
    ).toBe('a request was sent while the shared send buffer was in use');
    // The lock is released even so: the next send goes through.
    spawn(transfer.consult(request(UlogRequestType.FLUSH)), noop);
    expect(channel.sent.map((sent) => sent.requestType)).toEqual([
      UlogRequestType.PRESUSPEND,
      UlogRequestType.FLUSH,
    ]);
  });

  it('a channel send that returns neither 0 nor a negative errno is an invariant violation', () => {
    const { channel, transfer } = handRig();
    channel.onSend = () => 1;
    expect(
      invariantMessage(() => spawn(transfer.consult(request(UlogRequestType.FLUSH)), noop)),
    ).toBe('channel send returned 1: expected 0 or -errno');
  });
});
