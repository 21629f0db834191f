/**
 * What integrated flush saves: the same workloads on a mirror over a
 * `userspace` log (backed by a disk log in the in-process daemon), with and
 * without `integrated_flush`, counting the round trips to the daemon
 * (requests sent, resends included) per user write, by request type, and
 * the simulated IOPS. Everything is simulated and seeded: the figures are
 * the same on every machine.
 *
 * Run with `npx tsx bench/userspace-roundtrips.ts` (`--json` for one JSON
 * object).
 */
import { WorkloadDriver } from '../sim/driver/workload-driver.js';
import { MirrorStack } from '../sim/mirror-stack.js';
import { WriteHistory } from '../sim/oracle/write-history.js';
import { ulogMachineOf } from '../sim/userspace/ulog-machine.js';
import { createWorkload } from '../sim/workload/workload.js';
import { World } from '../sim/world.js';
import type { DeviceLatency } from '../src/block/latency.js';
import { ULOG_REQUEST_TYPE_CODES, ulogRequestTypeName } from '../src/log/userspace/index.js';
import { TICKS_PER_SECOND } from '../src/world/scheduler.js';

const SEED = 20_260_601;
const SIZE_SECTORS = 131_072; // 64 MiB
const REGION_SECTORS = 1024; // 512 KiB regions: 128 of them
const OPS = 6000;
const DEPTH = 16;
const BLOCK_SECTORS = 8; // 4 KiB
const FLUSH_EVERY_WRITES = 64;

/** The same SSD-like latencies `mirrorsim run` uses. */
const LEG_LATENCY: Partial<DeviceLatency> = {
  read: { kind: 'exponential', minimumTicks: 50, meanTicks: 100 },
  write: { kind: 'exponential', minimumTicks: 50, meanTicks: 150 },
  flush: { kind: 'fixed', ticks: 500 },
};
const LOG_LATENCY: Partial<DeviceLatency> = {
  read: { kind: 'fixed', ticks: 80 },
  write: { kind: 'exponential', minimumTicks: 50, meanTicks: 100 },
  flush: { kind: 'fixed', ticks: 300 },
};

interface Measurement {
  readonly workload: string;
  readonly integratedFlush: boolean;
  readonly writes: number;
  readonly roundTrips: number;
  readonly roundTripsPerWrite: number;
  readonly byType: Record<string, number>;
  readonly simulatedSeconds: number;
  readonly iops: number;
}

function measure(workload: string, integratedFlush: boolean): Measurement {
  const world = new World({ seed: SEED });
  const flush = integratedFlush ? ['integrated_flush'] : [];
  const args = ['bench-uuid', ...flush, 'disk', 'log0', String(REGION_SECTORS)];
  const stack = new MirrorStack({
    world,
    table: `0 ${SIZE_SECTORS} mirror userspace ${args.length} ${args.join(' ')} 2 leg0 0 leg1 0`,
    legDefaults: { latency: LEG_LATENCY, writeCache: true },
    logDeviceDefaults: { latency: LOG_LATENCY, writeCache: true },
  });
  stack.activate();
  world.scheduler.runUntil(() => stack.mirror.inSync && stack.mirror.idle);
  world.scheduler.runUntilIdle();
  const kernel = ulogMachineOf(world).transfer();
  const before = [...kernel.stats.requestsByType];
  const sentBefore = kernel.stats.requestsSent;
  const driver = new WorkloadDriver({
    scheduler: world.scheduler,
    device: stack.device,
    workload: createWorkload(workload, {
      deviceSizeSectors: SIZE_SECTORS,
      blockSizeSectors: BLOCK_SECTORS,
      ops: OPS,
      random: world.random.stream('workload'),
    }),
    depth: DEPTH,
    history: new WriteHistory(),
    flushEveryWrites: FLUSH_EVERY_WRITES,
  });
  const startTicks = world.scheduler.now();
  driver.start();
  world.scheduler.runUntil(() => driver.done);
  const elapsedTicks = world.scheduler.now() - startTicks;
  const byType: Record<string, number> = {};
  for (const code of ULOG_REQUEST_TYPE_CODES) {
    const count = (kernel.stats.requestsByType[code] ?? 0) - (before[code] ?? 0);
    if (count > 0) byType[ulogRequestTypeName(code).replace('DM_ULOG_', '')] = count;
  }
  const writes = driver.stats.writesAcknowledged;
  const roundTrips = kernel.stats.requestsSent - sentBefore;
  const simulatedSeconds = elapsedTicks / TICKS_PER_SECOND;
  return {
    workload,
    integratedFlush,
    writes,
    roundTrips,
    roundTripsPerWrite: roundTrips / writes,
    byType,
    simulatedSeconds,
    iops: writes / simulatedSeconds,
  };
}

function main(): void {
  const results: Measurement[] = [];
  for (const workload of ['randwrite', 'seqwrite', 'zipf']) {
    for (const integratedFlush of [false, true]) results.push(measure(workload, integratedFlush));
  }
  if (process.argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify({ seed: SEED, ops: OPS, results }, null, 2)}\n`);
    return;
  }
  const lines = [
    `userspace log round trips — ${OPS} writes of 4 KiB, depth ${DEPTH}, a flush every ${FLUSH_EVERY_WRITES} writes, 64 MiB, 512 KiB regions, seed ${SEED}`,
    '',
    'workload   integrated_flush  round trips  per write  sim. IOPS  by type',
  ];
  for (const result of results) {
    const types = Object.entries(result.byType)
      .map(([type, count]) => `${type} ${count}`)
      .join(', ');
    lines.push(
      `${result.workload.padEnd(10)} ${String(result.integratedFlush).padEnd(17)} ${String(result.roundTrips).padStart(11)}  ${result.roundTripsPerWrite.toFixed(3).padStart(9)}  ${result.iops.toFixed(0).padStart(9)}  ${types}`,
    );
  }
  lines.push('');
  for (const workload of ['randwrite', 'seqwrite', 'zipf']) {
    const plain = results.find((r) => r.workload === workload && !r.integratedFlush)!;
    const integrated = results.find((r) => r.workload === workload && r.integratedFlush)!;
    const saved = 1 - integrated.roundTrips / plain.roundTrips;
    lines.push(
      `${workload}: integrated flush saves ${(saved * 100).toFixed(1)} % of round trips (${plain.roundTripsPerWrite.toFixed(3)} → ${integrated.roundTripsPerWrite.toFixed(3)} per write); IOPS ${plain.iops.toFixed(0)} → ${integrated.iops.toFixed(0)}`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

main();
