/**
 * `mirrorsim bench`: compares every registered log type on the same
 * workloads and seed in performance mode, with the raw-copy baseline and
 * the sweeps, prints tables, and optionally writes the figures as JSON
 * (`--json FILE`) and charts as SVG and PNG (`--plot DIR`). Exit 0 when
 * every case ran and verified, 1 when one failed or broke an invariant,
 * 2 for bad usage.
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Command } from 'commander';
import { renderBenchCharts } from '../bench/bench-charts.js';
import { type BenchPlan, benchPlan } from '../bench/bench-plan.js';
import type { BenchReport } from '../bench/bench-report.js';
import { runBenchSuite } from '../bench/bench-suite.js';
import { formatBenchReport } from '../bench/bench-table.js';
import { dirtyLogVariantNames } from '../src/log/registry.js';
import { type CliIo, EXIT_OK, EXIT_VIOLATION, processIo, UsageError } from './cli-io.js';
import { checkOutputFile, openOutputFile, prepareOutputDirectory } from './output-file.js';
import { parseCount } from './parse-size.js';
import { quotePath } from './quote-value.js';
import { parseSeedOption } from './run-options.js';

interface BenchFlags {
  quick?: boolean;
  json?: string;
  plot?: string;
  seed: string;
  log?: string;
  workloads?: string;
  ops?: string;
  repetitions?: string;
  sweepOps?: string;
  sweeps: boolean;
  writeCache?: boolean;
}

/** Adds `mirrorsim bench` to the program; `setExitCode` receives 0, or 1 when a case failed. */
export function registerBenchCommand(
  program: Command,
  io: CliIo,
  setExitCode: (code: number) => void,
): void {
  program
    .command('bench')
    .description(
      'compare log types on the same workloads: cost while running, resync after a crash',
    )
    .option('--quick', 'a short run (under 2 minutes)')
    .option('--json <file>', 'write the figures as JSON to FILE')
    .option('--plot <dir>', 'write charts (SVG and PNG) to DIR')
    .option('--seed <n>', 'the one seed every case uses', '1')
    .option(
      '--log <types>',
      `comma-separated log types and variants (default: every registered type and variant: ${dirtyLogVariantNames().join(', ')})`,
    )
    .option('--workloads <names>', 'comma-separated workloads of the main table (default: all)')
    .option(
      '--ops <n>',
      'requests per case of the main table (default: 20000, or 3000 with --quick)',
    )
    .option(
      '--repetitions <n>',
      'timed repetitions per case; wall figures are their median (default 3)',
    )
    .option('--sweep-ops <n>', 'requests per sweep point (default: 8000, or 2000 with --quick)')
    .option('--no-sweeps', 'skip the region-size, depth and log-latency sweeps')
    .option(
      '--write-cache',
      'volatile write caches on every device (default off; the cost figures are the same)',
    )
    .action(async (flags: BenchFlags) => {
      setExitCode(await executeBench(flags, io));
    });
}

async function executeBench(flags: BenchFlags, io: CliIo): Promise<number> {
  const plan = planFromFlags(flags);
  const logTypes = logTypesFromFlags(flags);
  // Checked now, so an output that cannot be written fails before the run, not after it.
  if (flags.json !== undefined) checkOutputFile(flags.json, '--json');
  if (flags.plot !== undefined) prepareOutputDirectory(flags.plot, '--plot');
  const startMs = io.wallClockMs();
  const suiteReport = runBenchSuite({
    plan,
    logTypes,
    wallClockMs: () => io.wallClockMs(),
    progress: (line) =>
      io.stderr(
        `bench ${((io.wallClockMs() - startMs) / 1000).toFixed(0).padStart(4)}s  ${line}\n`,
      ),
    machine: machineFacts(),
    collectGarbage: garbageCollector() ?? (() => {}),
  });
  // The load at the end too: wall figures from a busy machine say so.
  const report: BenchReport = {
    ...suiteReport,
    machine: { ...suiteReport.machine, loadAverageEnd: loadAverageText() },
  };
  const color = io === processIo && process.stdout.isTTY === true;
  io.stdout(formatBenchReport(report, { color }));
  if (flags.json !== undefined) {
    const file = openOutputFile(flags.json, '--json');
    try {
      file.write(`${JSON.stringify(report, null, 2)}\n`);
    } finally {
      file.close();
    }
    io.stderr(`bench: figures written to ${quotePath(flags.json)}\n`);
  }
  if (flags.plot !== undefined) await writeCharts(flags.plot, report, io);
  const broken = report.failures.length > 0 || report.runs.some((run) => run.oracle !== 'ok');
  return broken ? EXIT_VIOLATION : EXIT_OK;
}

function planFromFlags(flags: BenchFlags): BenchPlan {
  const plan = benchPlan(flags.quick === true ? 'quick' : 'full', {
    seed: parseSeedOption(flags.seed, '--seed'),
    writeCache: flags.writeCache === true,
  });
  let workloads = plan.workloads;
  if (flags.workloads !== undefined) {
    const names = splitList(flags.workloads);
    for (const name of names) {
      if (!workloads.some((workload) => workload.name === name)) {
        throw new UsageError(
          `Invalid --workloads "${name}": expected one of ${workloads.map((workload) => workload.name).join(', ')}`,
        );
      }
    }
    workloads = workloads.filter((workload) => names.includes(workload.name));
  }
  const ops = flags.ops === undefined ? plan.ops : parseCount(flags.ops, '--ops', { minimum: 2 });
  return {
    ...plan,
    workloads,
    ops,
    // A warm-up never longer than the cases it warms up.
    warmupOps: Math.min(plan.warmupOps, ops),
    repetitions:
      flags.repetitions === undefined
        ? plan.repetitions
        : parseCount(flags.repetitions, '--repetitions', { minimum: 1 }),
    sweepOps:
      flags.sweepOps === undefined
        ? plan.sweepOps
        : parseCount(flags.sweepOps, '--sweep-ops', { minimum: 2 }),
    sweeps: flags.sweeps ? plan.sweeps : [],
  };
}

function logTypesFromFlags(flags: BenchFlags): string[] {
  const registered = dirtyLogVariantNames();
  if (flags.log === undefined) return registered;
  const names = splitList(flags.log);
  for (const name of names) {
    if (!registered.includes(name)) {
      throw new UsageError(`Invalid --log "${name}": expected one of ${registered.join(', ')}`);
    }
  }
  return names;
}

function splitList(text: string): string[] {
  const names = text
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name.length > 0);
  if (names.length === 0)
    throw new UsageError(`Invalid list "${text}": expected comma-separated names`);
  return names;
}

async function writeCharts(directory: string, report: BenchReport, io: CliIo): Promise<void> {
  prepareOutputDirectory(directory, '--plot');
  const charts = await renderBenchCharts(report);
  for (const chart of charts) {
    for (const [extension, content] of [
      ['svg', chart.svg],
      ['png', chart.png],
    ] as const) {
      const path = join(directory, `${chart.name}.${extension}`);
      try {
        writeFileSync(path, content);
      } catch (error) {
        throw new UsageError(
          `Cannot write --plot chart ${quotePath(path)}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
        );
      }
    }
  }
  io.stderr(`bench: ${charts.length} charts written to ${quotePath(directory)} (SVG and PNG)\n`);
}

/**
 * V8's `gc`, for a collection before each timed run. Node hides it unless
 * started with --expose-gc; turning the flag on at run time and taking `gc`
 * from a fresh context gives the same function without a special command
 * line. Undefined if this V8 refuses.
 */
function garbageCollector(): (() => void) | undefined {
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? () => gc() : undefined;
  } catch {
    return undefined;
  }
}

/** Where the benchmark ran: wall figures mean little without it. */
function machineFacts(): Record<string, string | number> {
  const cpuList = cpus();
  return {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpu: cpuList[0]?.model ?? 'unknown',
    cores: cpuList.length,
    loadAverage: loadAverageText(),
  };
}

/** The 1, 5 and 15 minute load averages. */
function loadAverageText(): string {
  return loadavg()
    .map((load) => load.toFixed(2))
    .join(' ');
}
