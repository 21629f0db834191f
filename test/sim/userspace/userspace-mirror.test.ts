import { describe, expect, it } from 'vitest';
import { MirrorStack } from '../../../sim/mirror-stack.js';
import { buildTable, compareLegs, runScenario } from '../../../sim/scenario/run-scenario.js';
import { ulogMachineOf } from '../../../sim/userspace/ulog-machine.js';
import { World } from '../../../sim/world.js';
import { fixedLatency } from '../../../src/block/latency.js';
import { SECTOR_SIZE_BYTES } from '../../../src/block/sector.js';
import { readDiskLogImage } from '../../../src/log/disk-log-format.js';
import {
  UlogRequestType,
  USERSPACE_LOG_DEFAULT_UUID,
  type UserspaceLog,
} from '../../../src/log/userspace/index.js';
import { TICKS_PER_SECOND } from '../../../src/world/scheduler.js';
import { expectConverged, runUserspaceScenario, settle } from './userspace-scenario.js';

const TABLE = '0 131072 mirror userspace 4 mirror-uuid-1 disk log0 1024 2 leg0 0 leg1 0';
const TABLE_INTEGRATED =
  '0 131072 mirror userspace 5 mirror-uuid-1 integrated_flush disk log0 1024 2 leg0 0 leg1 0';
const LEG_LATENCY = { read: fixedLatency(20), write: fixedLatency(40), flush: fixedLatency(60) };
const LOG_LATENCY = { read: fixedLatency(10), write: fixedLatency(30), flush: fixedLatency(50) };

function stackOf(table: string, options: { legWriteCache?: boolean; seed?: number } = {}) {
  const world = new World({ seed: options.seed ?? 1 });
  const stack = new MirrorStack({
    world,
    table,
    legDefaults: { latency: LEG_LATENCY, writeCache: options.legWriteCache ?? false },
    logDeviceDefaults: { latency: LOG_LATENCY, writeCache: false },
  });
  stack.activate();
  settle(world, stack.mirror);
  return { world, stack, machine: ulogMachineOf(world), log: stack.mirror.log as UserspaceLog };
}

/** Writes one 4 KiB block at `sector` through the mirror and returns a probe of its completion. */
function write(stack: MirrorStack, sector: number, fill = 0x5a) {
  const probe = { done: false, error: null as unknown };
  stack.device.write(
    { sector, data: new Uint8Array(8 * SECTOR_SIZE_BYTES).fill(fill) },
    (error) => {
      probe.done = true;
      probe.error = error;
    },
  );
  return probe;
}

/** Calls `onWrite(region)` at the instant the mirror issues a data write to all legs, or to one. */
function onDataWrite(world: World, onWrite: (region: number, nosync: boolean) => void): void {
  const scheduler = world.scheduler;
  const trace = scheduler.trace.bind(scheduler);
  scheduler.trace = (label: string, detail?: number) => {
    if (label === 'mirror.write' || label === 'mirror.write_nosync') {
      onWrite(detail ?? -1, label === 'mirror.write_nosync');
    }
    trace(label, detail);
  };
}

describe('a mirror over a userspace log, end to end', () => {
  it('§2.8 the table of the issue builds, reaches sync, and reports its status', () => {
    const { stack, log, machine } = stackOf(TABLE);
    expect(stack.mirror.inSync).toBe(true);
    expect(log.typeName).toBe('userspace');
    expect(stack.status('info')).toBe('2 leg0 leg1 128/128 1 AA 3 disk log0 A');
    expect(stack.status('table')).toBe('userspace 4 mirror-uuid-1 disk log0 1024 2 leg0 0 leg1 0');
    expect(machine.daemon!.state.findLog('mirror-uuid-1', log.luid)?.backing.typeName).toBe('disk');
  });

  it('runScenario: write, crash, reboot and recover with legs identical and the oracle satisfied', () => {
    for (const table of [TABLE, TABLE_INTEGRATED]) {
      for (const seed of [1, 2]) {
        const result = runScenario({
          seed,
          table,
          logType: 'userspace',
          legCount: 2,
          regionSizeSectors: 1024,
          sizeSectors: 131072,
          workload: 'randwrite',
          ops: 400,
          depth: 8,
          blockSizeSectors: 8,
          crash: { kind: 'random' },
          crashState: 'random',
          flushEveryWrites: 32,
          legLatency: LEG_LATENCY,
          logLatency: LOG_LATENCY,
          writeCache: false,
        });
        expect(result.oracle, `${table} seed ${seed}: ${result.violations.join('; ')}`).toBe('ok');
        expect(result.legsIdentical).toBe(true);
        expect(result.logType).toBe('userspace');
      }
    }
  });

  it('--log userspace builds a table over a disk log on log0 with a fixed uuid', () => {
    const table = buildTable({
      logType: 'userspace',
      legCount: 2,
      regionSizeSectors: 1024,
      sizeSectors: 131072,
    });
    expect(table).toBe(
      `0 131072 mirror userspace 4 ${USERSPACE_LOG_DEFAULT_UUID} disk log0 1024 2 leg0 0 leg1 0`,
    );
  });

  it('§2.4 every read goes through kmirrord, which asks the daemon with IN_SYNC', () => {
    const { world, stack, machine } = stackOf(TABLE);
    const kernel = machine.transfer();
    const before = kernel.stats.requestsByType[UlogRequestType.IN_SYNC]!;
    let done = false;
    stack.device.read({ sector: 3 * 1024, sectorCount: 8 }, () => {
      done = true;
    });
    world.scheduler.runUntilIdle();
    expect(done).toBe(true);
    expect(kernel.stats.requestsByType[UlogRequestType.IN_SYNC]).toBe(before + 1);
  });

  it('§2.5 a write reaches the legs only after its mark is durable in the daemon’s disk log', () => {
    for (const table of [TABLE, TABLE_INTEGRATED]) {
      const { world, stack } = stackOf(table);
      const cleanAtWrite: number[] = [];
      onDataWrite(world, (region) => {
        cleanAtWrite.push(
          readDiskLogImage(world.device('log0').durableContent, 128).cleanBits.test(region),
        );
      });
      const probes = [5, 9, 77].map((region) => write(stack, region * 1024 + 16));
      world.scheduler.runUntilIdle();
      expect(probes.every((probe) => probe.done && probe.error === null)).toBe(true);
      expect(cleanAtWrite).toEqual([0, 0, 0]);
    }
  });

  it('two mirrors on one machine share one transfer layer: one seq space, one rate-limit deadline', () => {
    const world = new World({ seed: 1 });
    const options = {
      legDefaults: { latency: LEG_LATENCY },
      logDeviceDefaults: { latency: LOG_LATENCY },
    };
    const first = new MirrorStack({ world, table: TABLE, ...options });
    const second = new MirrorStack({
      world,
      table: '0 8192 mirror userspace 3 other-uuid core 1024 2 leg2 0 leg3 0',
      ...options,
      name: 'second',
    });
    expect((first.mirror.log as UserspaceLog).transfer).toBe(
      (second.mirror.log as UserspaceLog).transfer,
    );
    expect(ulogMachineOf(world).kernels).toHaveLength(1);
    first.activate();
    second.activate();
    settle(world, first.mirror);
    settle(world, second.mirror);
    expect(second.status('info')).toBe('2 leg2 leg3 8/8 1 AA 1 core');
  });

  it('a machine crash restarts the in-process daemon: the rebooted stack registers its log anew', () => {
    const { world, stack, machine, log } = stackOf(TABLE_INTEGRATED);
    world.crash('none');
    const rebooted = stack.reboot();
    rebooted.activate();
    settle(world, rebooted.mirror);
    const fresh = rebooted.mirror.log as UserspaceLog;
    expect(fresh.luid).not.toBe(log.luid);
    expect(machine.daemon!.state.logCount).toBe(1);
    expect(machine.daemon!.stats.restarts).toBe(1);
    expect(rebooted.status('info')).toBe('2 leg0 leg1 128/128 1 AA 3 disk log0 A');
  });
});

describe('what a daemon restart costs (§2.5, §2.7): found by the simulator', () => {
  it('§2.7 after a daemon restart the mirror reconnects; regions dirty at the crash resync only at the next resume (in_sync_hint)', () => {
    const { world, stack, machine, log } = stackOf(TABLE_INTEGRATED);
    const probes = [3, 4].map((region) => write(stack, region * 1024));
    world.scheduler.runUntil(() => probes.every((probe) => probe.done));
    // Writes are in flight to region 5 when the daemon dies.
    const inFlight = write(stack, 5 * 1024);
    world.scheduler.runUntil(() => machine.transfer().waiting === 0 && stack.mirror.idle === false);
    machine.daemon!.crash({ restartAfterTicks: TICKS_PER_SECOND });
    const later = [5, 6, 7].map((region) => write(stack, region * 1024 + 8, 0x77));
    world.scheduler.runUntilIdle();
    expect(inFlight.done && later.every((probe) => probe.done)).toBe(true);
    expect(log.stats.reconnects).toBeGreaterThanOrEqual(1);
    expect(log.inSyncHint).toBe(log.regionCount);
    // A reload (suspend + resume) resets the hint and lets recovery run.
    stack.suspend();
    stack.resume();
    settle(world, stack.mirror);
    expect(compareLegs(stack.mirror)).toBe(true);
    expect(stack.status('info')).toBe('2 leg0 leg1 128/128 1 AA 3 disk log0 A');
  });

  it('§2.2 §2.7 without integrated flush a daemon crash between MARK and FLUSH loses the mark: the write reaches the legs while the log says clean', () => {
    const cleanAtWrite = (table: string, markType: number) => {
      const { world, stack, machine } = stackOf(table);
      const seen: number[] = [];
      onDataWrite(world, (region) => {
        if (region === 9)
          seen.push(readDiskLogImage(world.device('log0').durableContent, 128).cleanBits.test(9));
      });
      machine.daemon!.onHandled = (type) => {
        if (type !== markType) return;
        machine.daemon!.onHandled = null;
        machine.daemon!.crash({ restartAfterTicks: TICKS_PER_SECOND / 2 });
      };
      const probe = write(stack, 9 * 1024);
      world.scheduler.runUntilIdle();
      expect(probe.done).toBe(true);
      return seen;
    };
    // Separate MARK then FLUSH: the mark lived only in the dead daemon's memory.
    expect(cleanAtWrite(TABLE, UlogRequestType.MARK_REGION)).toEqual([1]);
    // Marks inside the FLUSH are durable before its reply: nothing to lose.
    expect(cleanAtWrite(TABLE_INTEGRATED, UlogRequestType.FLUSH)).toEqual([0]);
  });

  it('§2.6 §2.7 a reconnect whose RESUME fails makes in_sync answer 0: the region goes nosync in the kernel only, and the legs diverge for good', () => {
    const { world, stack, machine } = stackOf(TABLE_INTEGRATED);
    // A write's FLUSH-with-marks commits the whole bitmap: every other region is clean on disk.
    const first = write(stack, 2 * 1024);
    world.scheduler.runUntilIdle();
    expect(first.done).toBe(true);
    const daemon = machine.daemon!;
    daemon.crash({ restartAfterTicks: TICKS_PER_SECOND });
    daemon.onHandled = (type) => {
      // The restarted daemon dies again right after the reconnect's CTR, before its RESUME.
      if (type !== UlogRequestType.CTR) return;
      daemon.onHandled = null;
      daemon.crash({ restartAfterTicks: TICKS_PER_SECOND / 2 });
    };
    const nosync: number[] = [];
    onDataWrite(world, (region, isNosync) => {
      if (isNosync) nosync.push(region);
    });
    const probe = write(stack, 11 * 1024);
    world.scheduler.runUntilIdle();
    expect(probe.done).toBe(true);
    expect(nosync).toEqual([11]);
    expect(machine.transfer().messages.count('Error trying to resume userspace log')).toBe(1);
    stack.suspend();
    stack.resume();
    settle(world, stack.mirror);
    // The daemon's log says every region is in sync, so nothing repairs region 11.
    expect(stack.status('info')).toBe('2 leg0 leg1 128/128 1 AA 3 disk log0 A');
    expect(compareLegs(stack.mirror)).toBe(false);
  });

  it('§2.3 (inference) with integrated flush the initial resync’s clean bits are never committed: every clear-only flush cancels the one before', () => {
    const commitAfterResync = (table: string) => {
      const { world, log } = stackOf(table);
      const image = readDiskLogImage(world.device('log0').durableContent, 128);
      return { clean: image.cleanBits.countOnesBelow(128), stats: log.stats };
    };
    const integrated = commitAfterResync(TABLE_INTEGRATED);
    expect(integrated.clean).toBe(0);
    expect(integrated.stats.deferredFlushesQueued).toBe(64);
    expect(integrated.stats.deferredFlushesRun).toBe(0);
    // Without integrated flush every clear-only flush ends in a FLUSH: all 128 are committed.
    expect(commitAfterResync(TABLE).clean).toBe(128);
  });

  it('the userspace log never flushes the legs before the daemon records regions clean: with volatile leg caches, clean can be durable before data', () => {
    const { world, stack } = stackOf(TABLE, { legWriteCache: true });
    const legs = stack.mirror.legs.map((leg) => world.device(leg.device.name));
    const flushesBefore = legs.map((leg) => leg.stats.flushes);
    const probes = [20, 21].map((region) => write(stack, region * 1024));
    world.scheduler.runUntilIdle();
    expect(probes.every((probe) => probe.done)).toBe(true);
    const image = readDiskLogImage(world.device('log0').durableContent, 128);
    expect([image.cleanBits.test(20), image.cleanBits.test(21)]).toEqual([1, 1]);
    expect(legs.map((leg) => leg.stats.flushes)).toEqual(flushesBefore);
    expect(legs.every((leg) => leg.nonDurableWriteCount > 0)).toBe(true);
  });

  it('end to end, with volatile leg caches (the `run` default) a machine crash leaves a clean region whose legs differ', () => {
    const result = runScenario({
      seed: 1,
      table: TABLE,
      logType: 'userspace',
      legCount: 2,
      regionSizeSectors: 1024,
      sizeSectors: 131072,
      workload: 'randwrite',
      ops: 2000,
      depth: 16,
      blockSizeSectors: 8,
      crash: { kind: 'random' },
      crashState: 'random',
      flushEveryWrites: 64,
      legLatency: LEG_LATENCY,
      logLatency: LOG_LATENCY,
      writeCache: true,
    });
    expect(result.crashed).toBe(true);
    expect(result.legsIdentical).toBe(false);
    expect(result.violations[0]).toBe('legs differ after recovery');
  });

  it('regression (seed 2): a request racing the reconnect, between its CTR and RESUME, is not answered from an unloaded log', () => {
    const scenario = {
      seed: 2,
      integratedFlush: true,
      backing: 'disk' as const,
      faults: {
        requestLossProbability: 0.05,
        replyLossProbability: 0.05,
        requestDuplicateProbability: 0.05,
        replyDuplicateProbability: 0.05,
        lateReplyProbability: 0.03,
        daemonCrashProbability: 0.02,
      },
      ops: 150,
      crashAfterEvents: null,
      crashState: 'random' as const,
    };
    const result = runUserspaceScenario(scenario);
    expect(result.machine.daemon!.stats.crashes).toBeGreaterThan(0);
    expectConverged(scenario, result);
  });
});
