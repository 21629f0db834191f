import { describe, expect, it } from 'vitest';
import { EAGAIN, EINVAL, ENOSPC, ESRCH } from '../../../src/errno.js';
import {
  DM_ULOG_RETRY_TIMEOUT_TICKS,
  encodeUlogRequest,
  encodeUlogU64,
  ULOG_LOAD_ATTEMPTS_MAX,
  type UlogConsultResult,
  UlogRequestType,
} from '../../../src/log/userspace/index.js';
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
