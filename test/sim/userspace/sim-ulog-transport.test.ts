import { describe, expect, it } from 'vitest';
import {
  resolveSimUlogFaults,
  type SimUlogFaults,
} from '../../../sim/userspace/sim-ulog-faults.js';
import { UlogMachine, ulogMachineOf } from '../../../sim/userspace/ulog-machine.js';
import { World } from '../../../sim/world.js';
import { fixedLatency } from '../../../src/block/latency.js';
import { spawn } from '../../../src/concurrency/blocking.js';
import { ESRCH } from '../../../src/errno.js';
import '../../../src/log/builtin-logs.js';
import { readDiskLogImage } from '../../../src/log/disk-log-format.js';
import {
  DM_ULOG_RETRY_TIMEOUT_TICKS,
  decodeUlogRequest,
  decodeUlogU64,
  encodeUlogCtrRequest,
  encodeUlogRegions,
  type UlogConsultResult,
  UlogRequestType,
  type UlogRequestTypeCode,
} from '../../../src/log/userspace/index.js';
import { TICKS_PER_SECOND } from '../../../src/world/scheduler.js';

const UUID = 'link-test';

/** A machine with its in-process daemon, one log `core` (or `disk log0`) built and resumed. */
function setup(faults: SimUlogFaults = {}, backing = '8192 core 512', seed = 1) {
  const world = new World({ seed });
  const machine = ulogMachineOf(world, {
    faults,
    deviceDefaults: { latency: { write: fixedLatency(500), flush: fixedLatency(500) } },
  });
  const transfer = machine.transfer();
  const consult = (requestType: UlogRequestTypeCode, data?: Uint8Array, replyBytesMax = 0) => {
    let result: UlogConsultResult | undefined;
    spawn(
      transfer.consult({
        uuid: UUID,
        luid: 1n,
        requestType,
        ...(data === undefined ? {} : { data }),
        replyBytesMax,
      }),
      (value) => {
        result = value;
      },
    );
    return () => result;
  };
  const run = (requestType: UlogRequestTypeCode, data?: Uint8Array, replyBytesMax = 0) => {
    const probe = consult(requestType, data, replyBytesMax);
    world.scheduler.runUntil(() => probe() !== undefined, { stepsMax: 100_000 });
    return probe() as UlogConsultResult;
  };
  const built = run(UlogRequestType.CTR, encodeUlogCtrRequest(backing));
  expect(built.error).toBe(0);
  expect(run(UlogRequestType.RESUME).error).toBe(0);
  return { world, machine, transfer, consult, run };
}

/** Records the seq of every request the daemon receives, in arrival order. */
function recordArrivals(machine: UlogMachine): number[] {
  const seqs: number[] = [];
  const daemon = machine.daemon!;
  const deliver = daemon.deliver.bind(daemon);
  daemon.deliver = (record, generation) => {
    seqs.push(decodeUlogRequest(record).seq);
    deliver(record, generation);
  };
  return seqs;
}

describe('the simulated kernel ⇄ daemon link', () => {
  it('§1.1 requests reach the daemon in send order even when latencies are drawn at random', () => {
    const { world, machine, consult, transfer } = setup({
      requestLatency: { kind: 'exponential', minimumTicks: 1, meanTicks: 2000 },
    });
    const arrivals = recordArrivals(machine);
    const first = transfer.nextSeq;
    const probes = Array.from({ length: 30 }, (_, index) =>
      consult(UlogRequestType.MARK_REGION, encodeUlogRegions([index % 16])),
    );
    world.scheduler.runUntilIdle();
    expect(probes.every((probe) => probe()?.error === 0)).toBe(true);
    expect(arrivals).toEqual(Array.from({ length: 30 }, (_, index) => first + index));
  });

  it('§3 a lost request is resent with a new seq after 15 s', () => {
    const { world, machine, run, transfer } = setup();
    machine.transport!.dropNextRequest();
    const start = world.scheduler.now();
    expect(run(UlogRequestType.FLUSH).error).toBe(0);
    expect(world.scheduler.now() - start).toBeGreaterThanOrEqual(DM_ULOG_RETRY_TIMEOUT_TICKS);
    expect(transfer.stats.timeouts).toBe(1);
    expect(machine.transport!.stats.requestsLost).toBe(1);
  });

  it('§3 a lost reply is recovered the same way; the duplicate request it causes is harmless', () => {
    const { machine, run, transfer } = setup();
    machine.transport!.dropNextReply();
    expect(run(UlogRequestType.MARK_REGION, encodeUlogRegions([3])).error).toBe(0);
    expect(transfer.stats.timeouts).toBe(1);
    expect(machine.daemon!.stats.handled).toBeGreaterThanOrEqual(4);
  });

  it('§1.5 a reply delayed past the timeout arrives after the resend’s and is dropped silently', () => {
    const { machine, run, transfer } = setup();
    machine.transport!.delayNextReply(DM_ULOG_RETRY_TIMEOUT_TICKS + TICKS_PER_SECOND);
    const result = run(UlogRequestType.GET_SYNC_COUNT, undefined, 8);
    expect(decodeUlogU64(result.data)).toBe(0n);
    // Let the late reply arrive.
    machine.world.scheduler.runUntilIdle();
    expect(transfer.stats.lateReplies).toBe(1);
    expect(machine.transport!.stats.repliesLate).toBe(1);
  });

  it('a duplicated request is handled twice in a row; the second reply is a late one', () => {
    const { machine, run, transfer, world } = setup();
    const arrivals = recordArrivals(machine);
    machine.transport!.duplicateNextRequest();
    expect(run(UlogRequestType.MARK_REGION, encodeUlogRegions([2])).error).toBe(0);
    world.scheduler.runUntilIdle();
    expect(arrivals).toHaveLength(2);
    expect(arrivals[0]).toBe(arrivals[1]);
    expect(transfer.stats.lateReplies).toBe(1);
  });

  it('seeded faults: loss, duplication and late replies all happen, and every request still completes', () => {
    const { machine, run } = setup({
      requestLossProbability: 0.2,
      replyLossProbability: 0.2,
      requestDuplicateProbability: 0.2,
      replyDuplicateProbability: 0.2,
      lateReplyProbability: 0.2,
    });
    for (let index = 0; index < 40; index++) {
      expect(run(UlogRequestType.MARK_REGION, encodeUlogRegions([index % 16])).error).toBe(0);
    }
    const stats = machine.transport!.stats;
    expect(stats.requestsLost).toBeGreaterThan(0);
    expect(stats.repliesLost).toBeGreaterThan(0);
    expect(stats.requestsDuplicated).toBeGreaterThan(0);
    expect(stats.repliesDuplicated).toBeGreaterThan(0);
    expect(stats.repliesLate).toBeGreaterThan(0);
  });

  it('the same seed gives the same run; another seed another', () => {
    const faults: SimUlogFaults = {
      requestLatency: { kind: 'exponential', minimumTicks: 5, meanTicks: 50 },
      requestLossProbability: 0.1,
      replyDuplicateProbability: 0.1,
      lateReplyProbability: 0.1,
    };
    const hash = (seed: number) => {
      const { world, run } = setup(faults, '8192 core 512', seed);
      for (let index = 0; index < 20; index++)
        run(UlogRequestType.FLUSH, encodeUlogRegions([index % 16]));
      return world.scheduler.traceHash();
    };
    expect(hash(7)).toBe(hash(7));
    expect(hash(7)).not.toBe(hash(8));
  });

  it('fault probabilities outside [0, 1] and bad ranges are refused', () => {
    expect(() => resolveSimUlogFaults({ replyLossProbability: 2 })).toThrow(RangeError);
    expect(() =>
      resolveSimUlogFaults({ daemonRestartDelay: { minTicks: 5, maxTicks: 1 } }),
    ).toThrow(/daemonRestartDelay/);
  });
});

describe('the simulated daemon process', () => {
  it('a crashed daemon does not listen (-ESRCH) until it restarts, and has forgotten its logs', () => {
    const { machine, run, world } = setup();
    machine.daemon!.crash({ restartAfterTicks: TICKS_PER_SECOND });
    expect(run(UlogRequestType.FLUSH).error).toBe(ESRCH);
    world.scheduler.runUntilTime(world.scheduler.now() + TICKS_PER_SECOND);
    expect(machine.daemon!.listening).toBe(true);
    expect(machine.daemon!.state.logCount).toBe(0);
    // The daemon answers for a log it does not know with -ESRCH too, so the kernel reconnects.
    expect(run(UlogRequestType.FLUSH).error).toBe(ESRCH);
  });

  it('a daemon that dies during a disk flush issues no I/O afterwards; what it acknowledged survives', () => {
    const { machine, run, consult, world } = setup({}, '8192 disk log0 512');
    run(UlogRequestType.FLUSH, encodeUlogRegions([1]));
    const device = world.device('log0');
    const probe = consult(UlogRequestType.FLUSH, encodeUlogRegions([2]));
    // The header write is in flight; the process dies before its completion and the log-device flush.
    world.scheduler.runUntil(() => device.inFlightWriteCount > 0);
    machine.daemon!.crash({ restartAfterTicks: null });
    const writes = device.stats.writes;
    const flushes = device.stats.flushes;
    world.scheduler.runUntilTime(world.scheduler.now() + 2 * DM_ULOG_RETRY_TIMEOUT_TICKS);
    expect(device.stats.writes).toBe(writes);
    expect(device.stats.flushes).toBe(flushes);
    // The kernel resent after 15 s and found nobody listening.
    expect(probe()?.error).toBe(ESRCH);
    expect(machine.daemon!.stats.lostAtCrash).toBe(1);
    const image = readDiskLogImage(device.durableContent, 16);
    expect(image.valid).toBe(true);
    expect(image.cleanBits.test(1)).toBe(0);
  });

  it('seeded daemon crashes happen and the daemon restarts after the drawn delay', () => {
    const { machine, run } = setup({
      daemonCrashProbability: 0.3,
      daemonRestartDelay: { minTicks: 1000, maxTicks: 5000 },
    });
    for (let index = 0; index < 20; index++) run(UlogRequestType.GET_SYNC_COUNT, undefined, 8);
    expect(machine.daemon!.stats.crashes).toBeGreaterThan(0);
    expect(machine.daemon!.stats.restarts).toBe(machine.daemon!.stats.crashes);
  });

  it('a machine reboot starts a new kernel (new seq space) and a fresh daemon; luids keep counting', () => {
    const { machine, transfer, world } = setup();
    const luidBefore = transfer.allocateLuid();
    expect(transfer.nextSeq).toBeGreaterThan(0);
    world.crash('none');
    machine.reboot();
    const kernel = machine.transfer();
    expect(kernel).not.toBe(transfer);
    expect(kernel.nextSeq).toBe(0);
    expect(kernel.allocateLuid()).toBe(luidBefore + 1n);
    expect(machine.daemon!.state.logCount).toBe(0);
    expect(machine.kernels).toHaveLength(2);
  });

  it('one machine per world; asking for it with a different external channel is an error', () => {
    const world = new World({ seed: 1 });
    const machine = ulogMachineOf(world);
    expect(ulogMachineOf(world)).toBe(machine);
    expect(() => ulogMachineOf(world, { channel: machine.channel })).not.toThrow();
    const other = new UlogMachine(new World({ seed: 2 }));
    expect(() => ulogMachineOf(world, { channel: other.channel })).toThrow(/different/);
  });
});

// Keeps the resolver's defaults visible: a fault-free link of 20 µs each way.
describe('defaults', () => {
  it('the default link is 20 µs each way and nothing goes wrong', () => {
    const faults = resolveSimUlogFaults();
    expect(faults.requestLatency).toEqual({ kind: 'fixed', ticks: 20 });
    expect(faults.replyLossProbability).toBe(0);
    expect(faults.daemonCrashProbability).toBe(0);
  });
});
