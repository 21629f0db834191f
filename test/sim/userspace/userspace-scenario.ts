/**
 * A crash scenario for a mirror with a `userspace` log whose in-process
 * daemon sits behind a faulty simulated link: the initial sync, a random
 * write workload, an optional machine crash at an event and a reboot, and
 * verification — legs byte-identical and every sector as the oracle allows.
 * Without a machine crash the run ends with a suspend and resume (an
 * operator's reload), since after a daemon restart Linux resyncs only at
 * the next resume (`in_sync_hint`, §2.5).
 */
import { expect } from 'vitest';
import { WorkloadDriver } from '../../../sim/driver/workload-driver.js';
import { MirrorStack } from '../../../sim/mirror-stack.js';
import { WriteHistory } from '../../../sim/oracle/write-history.js';
import { compareLegs } from '../../../sim/scenario/run-scenario.js';
import type { SimUlogFaults } from '../../../sim/userspace/sim-ulog-faults.js';
import { type UlogMachine, ulogMachineOf } from '../../../sim/userspace/ulog-machine.js';
import { createWorkload } from '../../../sim/workload/workload.js';
import { World } from '../../../sim/world.js';
import type { CrashStrategy } from '../../../src/block/crash-state.js';
import { fixedLatency } from '../../../src/block/latency.js';
import type { SimulatedDevice } from '../../../src/block/simulated-device.js';
import type { MirrorSet } from '../../../src/mirror/mirror-set.js';

/** What one scenario does. */
export interface UserspaceScenario {
  readonly seed: number;
  readonly integratedFlush: boolean;
  readonly backing: 'disk' | 'core';
  readonly faults: SimUlogFaults;
  readonly ops: number;
  /** Crash the machine after this many events of the workload; null: no machine crash. */
  readonly crashAfterEvents: number | null;
  readonly crashState: CrashStrategy;
  /** A volatile write cache on the legs (unsafe with a userspace log: see userspace-log.ts). */
  readonly legWriteCache?: boolean;
  /** A volatile write cache on the daemon's log device. */
  readonly logWriteCache?: boolean;
}

/** What a scenario found. */
export interface UserspaceScenarioResult {
  readonly legsIdentical: boolean;
  readonly violations: string[];
  readonly writesAcknowledged: number;
  readonly crashed: boolean;
  readonly machine: UlogMachine;
  readonly stack: MirrorStack;
  readonly world: World;
}

/** `0 8192 mirror userspace …` over a 16-region mirror. */
export function userspaceTable(options: {
  readonly integratedFlush: boolean;
  readonly backing: 'disk' | 'core';
}): string {
  const flush = options.integratedFlush ? ['integrated_flush'] : [];
  const backing = options.backing === 'disk' ? ['disk', 'log0', '512'] : ['core', '512'];
  const args = ['scenario-uuid', ...flush, ...backing];
  return `0 8192 mirror userspace ${args.length} ${args.join(' ')} 2 leg0 0 leg1 0`;
}

/** Runs until the mirror is in sync and nothing is left to do. */
export function settle(world: World, mirror: MirrorSet): void {
  world.scheduler.runUntil(() => mirror.inSync && mirror.idle, { stepsMax: 5_000_000 });
  world.scheduler.runUntilIdle({ stepsMax: 5_000_000 });
}

/** Runs one scenario (see the file comment). */
export function runUserspaceScenario(scenario: UserspaceScenario): UserspaceScenarioResult {
  const world = new World({ seed: scenario.seed });
  const logDefaults = {
    latency: { write: fixedLatency(40), flush: fixedLatency(80), read: fixedLatency(20) },
    writeCache: scenario.logWriteCache ?? true,
  };
  const machine = ulogMachineOf(world, { faults: scenario.faults, deviceDefaults: logDefaults });
  const stack = new MirrorStack({
    world,
    table: userspaceTable(scenario),
    legDefaults: {
      latency: { write: fixedLatency(30), flush: fixedLatency(60), read: fixedLatency(15) },
      writeCache: scenario.legWriteCache ?? false,
    },
    logDeviceDefaults: logDefaults,
  });
  stack.activate();
  settle(world, stack.mirror);
  const history = new WriteHistory();
  const driver = new WorkloadDriver({
    scheduler: world.scheduler,
    device: stack.device,
    workload: createWorkload('randwrite', {
      deviceSizeSectors: stack.table.lengthSectors,
      blockSizeSectors: 8,
      ops: scenario.ops,
      random: world.random.stream('workload'),
    }),
    depth: 4,
    history,
    flushEveryWrites: 16,
  });
  const crashAt =
    scenario.crashAfterEvents === null ? null : world.scheduler.steps + scenario.crashAfterEvents;
  driver.start();
  world.scheduler.runUntil(
    () => driver.done || (crashAt !== null && world.scheduler.steps >= crashAt),
    { stepsMax: 5_000_000 },
  );
  let live = stack;
  const crashed = !driver.done;
  if (crashed) {
    driver.stop();
    world.crash(scenario.crashState);
    live = stack.reboot();
    live.activate();
  } else {
    settle(world, live.mirror);
    live.suspend();
    live.resume();
  }
  settle(world, live.mirror);
  const violations = verifyContent(live.mirror, history).concat(
    driver.readViolations.map((v) => `read of sector ${v.sector}: ${v.found}`),
  );
  return {
    legsIdentical: compareLegs(live.mirror),
    violations,
    writesAcknowledged: driver.stats.writesAcknowledged,
    crashed,
    machine,
    stack: live,
    world,
  };
}

/** Every tracked sector of the default leg against the oracle. */
function verifyContent(mirror: MirrorSet, history: WriteHistory): string[] {
  const leg = mirror.defaultLeg;
  const content = (leg.device as SimulatedDevice).content;
  const violations: string[] = [];
  for (const sector of history.trackedSectors()) {
    const violation = history.checkAfterCrash(sector, content.read(leg.offsetSectors + sector, 1));
    if (violation !== null)
      violations.push(`sector ${sector}: ${violation.found}, expected ${violation.expected}`);
  }
  return violations;
}

/** Asserts the scenario converged and the oracle holds, printing the scenario on failure. */
export function expectConverged(
  scenario: UserspaceScenario,
  result: UserspaceScenarioResult,
): void {
  const what = JSON.stringify(scenario);
  expect(result.legsIdentical, `legs identical: ${what}`).toBe(true);
  expect(result.violations.slice(0, 5), `oracle: ${what}`).toEqual([]);
}
