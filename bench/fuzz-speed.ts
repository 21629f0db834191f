/**
 * How fast the crash-consistency machinery runs (issue 4's and issue 12's goals):
 *
 * - fuzz seeds per second for default-size scenarios (`mirrorsim fuzz`'s
 *   unit of work: configuration, up to 50 commands, the liveness phase and
 *   the final verification), goal ≥ 10, and ≥ 100 per core for a campaign;
 * - a whole `mirrorsim fuzz` campaign (every built-in log) on 1 and on 2
 *   jobs (worker threads, start-up included), goal ≥ 1.8× with 2 jobs;
 * - crash → reboot → resume → invariant 3 → pin → recover → verify cycles
 *   per second on a 64-region disk-log mirror (8 KiB regions; 64 KiB ones
 *   are shown too) with four 2 KiB writes issued before each crash, goal
 *   ≥ 500. Verification is incremental: only sectors a request wrote and
 *   regions a request or a crash may have changed are read, so a cycle
 *   costs what changed, not the mirror's size.
 *
 * Run with `npx tsx bench/fuzz-speed.ts [--quick]`. Each figure is given per
 * second of wall clock and per second of this process's CPU time; the goals
 * are judged on CPU time (the load average is printed), which stays
 * meaningful when other processes share the machine.
 */
import { cpus, loadavg } from 'node:os';
import type { CliIo } from '../cli/cli-io.js';
import { runFuzzCampaign } from '../cli/fuzz-campaign.js';
import { inThreadRunner, workerPoolRunner } from '../cli/fuzz-seed-runner.js';
import { makeFuzzConfig } from '../sim/fuzz/fuzz-config.js';
import { type FuzzScenarioOptions, runFuzzSeed } from '../sim/fuzz/fuzz-property.js';
import { FuzzSystem } from '../sim/fuzz/fuzz-system.js';
import type { FuzzLogType } from '../sim/fuzz/mirror-profile.js';
import { SeededRandom } from '../sim/random.js';
import { CRASH_STRATEGIES } from '../src/block/crash-state.js';
import { fixedLatency } from '../src/block/latency.js';
import '../src/log/builtin-logs.js';

const SEEDS_GOAL_PER_SECOND = 10;
const CAMPAIGN_GOAL_PER_CORE_SECOND = 100;
const TWO_JOBS_SPEEDUP_GOAL = 1.8;
const CYCLES_GOAL_PER_SECOND = 500;
const quick = process.argv.includes('--quick');

interface Rate {
  readonly count: number;
  readonly wallPerSecond: number;
  readonly cpuPerSecond: number;
}

/** Runs `work` once per unit until `units` are done; rates per wall and CPU second. */
function measure(units: number, work: (index: number) => void): Rate {
  const wallStart = performance.now();
  const cpuStart = process.cpuUsage();
  for (let index = 0; index < units; index++) work(index);
  const wallSeconds = (performance.now() - wallStart) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return { count: units, wallPerSecond: units / wallSeconds, cpuPerSecond: units / cpuSeconds };
}

function seedsPerSecond(logTypes: readonly FuzzLogType[], seeds: number): Rate {
  return measure(seeds, (index) => {
    const result = runFuzzSeed(1000 + index, { budget: 'within', logTypes });
    if (result.failed) throw new Error(`seed ${1000 + index} failed: ${result.error}`);
  });
}

/** A disk-log mirror of 64 regions with write caches, and its crash loop. */
function cyclesPerSecond(cycles: number, regionSizeSectors: number): Rate {
  const latency = { read: fixedLatency(20), write: fixedLatency(40), flush: fixedLatency(60) };
  const system = new FuzzSystem({
    config: makeFuzzConfig({
      profile: { logType: 'disk', writeCache: true },
      regionSizeSectors,
      regionCount: 64,
      legLatencies: [latency, { ...latency, write: fixedLatency(90) }],
      logLatency: latency,
    }),
  });
  const random = new SeededRandom(7).stream('bench.cycles');
  const lengthSectors = system.lengthSectors;
  return measure(cycles, () => {
    for (let write = 0; write < 4; write++) {
      const sector = random.nextInt(0, lengthSectors - 4);
      system.io({ kind: 'write', sector, sectorCount: 4, fua: random.nextBoolean(0.25) }, false);
    }
    const strategy = CRASH_STRATEGIES[random.nextInt(0, CRASH_STRATEGIES.length - 1)]!;
    system.crash({ kind: 'events', events: random.nextInt(0, 12) }, () => strategy);
    system.afterCommand();
    system.recover();
    system.afterCommand();
  });
}

/** A whole campaign, as `mirrorsim fuzz --jobs N` runs it (worker start-up included). */
async function campaignRate(jobs: number, seeds: number): Promise<Rate> {
  const options: FuzzScenarioOptions = {
    budget: 'within',
    logTypes: ['core', 'disk', 'userspace'],
  };
  const quiet: CliIo = { stdout: () => {}, stderr: () => {}, wallClockMs: () => performance.now() };
  const wallStart = performance.now();
  const cpuStart = process.cpuUsage();
  const runner = jobs === 1 ? inThreadRunner(options) : workerPoolRunner(options, jobs);
  let failures = 0;
  try {
    await runFuzzCampaign({
      plan: { startSeed: 1, seedsTotal: seeds, shard: { index: 1, count: 1 } },
      secondsMax: Number.POSITIVE_INFINITY,
      runner,
      io: quiet,
      onOutcome: (outcome) => {
        if (outcome.failed) failures++;
      },
    });
  } finally {
    await runner.close();
  }
  if (failures > 0) throw new Error(`${failures} seeds failed`);
  const wallSeconds = (performance.now() - wallStart) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  return {
    count: seeds,
    wallPerSecond: seeds / wallSeconds,
    cpuPerSecond: seeds / ((cpu.user + cpu.system) / 1e6),
  };
}

function line(what: string, rate: Rate, goal: number, unit: string): string {
  const verdict = rate.cpuPerSecond >= goal ? 'meets' : 'MISSES';
  return `${what.padEnd(46)} ${rate.cpuPerSecond.toFixed(1).padStart(8)} ${unit}/s CPU, ${rate.wallPerSecond.toFixed(1).padStart(8)} ${unit}/s wall (${rate.count} ${unit}) — goal ≥ ${goal}: ${verdict}`;
}

const load = loadavg()
  .map((value) => value.toFixed(2))
  .join(' ');
console.log(
  `mirrorsim fuzz speed — ${cpus().length} CPUs, load average ${load}${quick ? ', quick' : ''}`,
);
seedsPerSecond(['core', 'disk'], 5);
console.log(
  line(
    'fuzz seeds, core and disk logs',
    seedsPerSecond(['core', 'disk'], quick ? 60 : 300),
    SEEDS_GOAL_PER_SECOND,
    'seeds',
  ),
);
console.log(
  line(
    'fuzz seeds, every built-in log (userspace too)',
    seedsPerSecond(['core', 'disk', 'userspace'], quick ? 30 : 150),
    SEEDS_GOAL_PER_SECOND,
    'seeds',
  ),
);
const campaignSeeds = quick ? 400 : 2000;
const oneJob = await campaignRate(1, campaignSeeds);
console.log(
  line('fuzz campaign, 1 job (seeds/s per core)', oneJob, CAMPAIGN_GOAL_PER_CORE_SECOND, 'seeds'),
);
const twoJobs = await campaignRate(2, campaignSeeds);
console.log(line('fuzz campaign, 2 jobs', twoJobs, CAMPAIGN_GOAL_PER_CORE_SECOND, 'seeds'));
const speedup = twoJobs.wallPerSecond / oneJob.wallPerSecond;
console.log(
  `${'2 jobs / 1 job, wall clock'.padEnd(46)} ${speedup.toFixed(2).padStart(8)}x — goal ≥ ${TWO_JOBS_SPEEDUP_GOAL}: ${speedup >= TWO_JOBS_SPEEDUP_GOAL ? 'meets' : 'MISSES'} (load average ${loadavg()[0]!.toFixed(2)} now)`,
);
cyclesPerSecond(50, 16);
for (const regionSizeSectors of [16, 128]) {
  console.log(
    line(
      `crash-recover-verify cycles, 64 regions of ${regionSizeSectors / 2} KiB`,
      cyclesPerSecond(quick ? 500 : 3000, regionSizeSectors),
      CYCLES_GOAL_PER_SECOND,
      'cycles',
    ),
  );
}
