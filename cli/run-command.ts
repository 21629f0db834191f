/**
 * `mirrorsim run`: one scenario — build the stack, run a workload,
 * optionally crash, reboot, recover, verify — printed for a person or as one
 * JSON object (`--json`). Exit 0 when verification passed, 1 when an
 * invariant was violated, 2 for bad usage or input.
 */
import { join, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { UlogSocketChannel } from '../host/ulog-socket-channel.js';
import { parseSeed } from '../sim/random.js';
import { type CrashWhen, type RunResult, runScenario } from '../sim/scenario/run-scenario.js';
import { CRASH_STRATEGIES, type CrashStrategy, isCrashStrategy } from '../src/block/crash-state.js';
import type { DeviceLatency } from '../src/block/latency.js';
import { dirtyLogTypeNames } from '../src/log/registry.js';
import type { UlogChannel } from '../src/log/userspace/ulog-channel.js';
import { type CliIo, EXIT_OK, EXIT_VIOLATION, UsageError } from './cli-io.js';
import { dumpImages } from './dump-images.js';
import { formatBytes, parseCount, parseSizeSectors } from './parse-size.js';

/** Device latencies `run` uses: a fast SSD-like leg and log device, in ticks (µs). */
export const RUN_LEG_LATENCY: Partial<DeviceLatency> = {
  read: { kind: 'exponential', minimumTicks: 50, meanTicks: 100 },
  write: { kind: 'exponential', minimumTicks: 50, meanTicks: 150 },
  flush: { kind: 'fixed', ticks: 500 },
};
export const RUN_LOG_LATENCY: Partial<DeviceLatency> = {
  read: { kind: 'fixed', ticks: 80 },
  write: { kind: 'exponential', minimumTicks: 50, meanTicks: 100 },
  flush: { kind: 'fixed', ticks: 300 },
};

interface RunFlags {
  table?: string;
  log: string;
  legs: string;
  regionSize: string;
  size: string;
  workload: string;
  ops: string;
  depth: string;
  blockSize: string;
  seed: string;
  crash: string;
  crashState: string;
  fsync: string;
  writeCache: boolean;
  json?: boolean;
  dump?: string;
  logDaemon?: string;
}

export function registerRunCommand(
  program: Command,
  io: CliIo,
  setExitCode: (code: number) => void,
): void {
  program
    .command('run')
    .description('build a mirror, run a workload, crash, reboot, recover and verify')
    .option(
      '--table <line>',
      'the dm table line, e.g. "0 131072 mirror disk 2 log0 1024 2 leg0 0 leg1 0"',
    )
    .option(
      '--log <type>',
      `log type when no --table is given (${dirtyLogTypeNames().join(', ')})`,
      'disk',
    )
    .option('--legs <n>', 'legs when no --table is given (2-9)', '2')
    .option('--region-size <sectors>', 'region size in sectors when no --table is given', '1024')
    .option(
      '--size <size>',
      'mirror size when no --table is given (512, 4KiB, 64MiB, 1GiB, 16TiB)',
      '64MiB',
    )
    .option(
      '--workload <w>',
      'randwrite, seqwrite, zipf, zipf:THETA, mixed, or fio:FILE',
      'randwrite',
    )
    .option('--ops <n>', 'requests issued', '10000')
    .option('--depth <n>', 'requests in flight', '16')
    .option('--block-size <size>', 'request size', '4KiB')
    .option('--seed <n>', 'the one seed everything derives from', '1')
    .option(
      '--crash <when>',
      'never, random, or at:EVENT (after that many simulation events)',
      'random',
    )
    .addOption(
      new Option('--crash-state <s>', 'what each device keeps of its not-yet-durable writes')
        .choices([...CRASH_STRATEGIES])
        .default('random'),
    )
    .option('--fsync <n>', 'issue a flush after every N writes (0: never)', '64')
    .option(
      '--no-write-cache',
      'devices without a volatile write cache (every completed write is durable)',
    )
    .option('--json', 'print one JSON object instead of the summary')
    .option('--dump <dir>', 'write device images to DIR/crash/NAME.img and DIR/recovered/NAME.img')
    .option(
      '--log-daemon <path>',
      'userspace logs talk to the real log daemon on this socket (mirrorsim log-daemon) instead of the in-process one',
    )
    .action(async (flags: RunFlags) => {
      const channel =
        flags.logDaemon === undefined
          ? undefined
          : new UlogSocketChannel({ socketPath: resolve(flags.logDaemon) });
      let result: RunResult;
      try {
        result = executeRun(flags, io, channel);
      } finally {
        await channel?.close();
      }
      setExitCode(result.oracle === 'ok' ? EXIT_OK : EXIT_VIOLATION);
    });
}

function executeRun(flags: RunFlags, io: CliIo, channel: UlogChannel | undefined): RunResult {
  const crashState = flags.crashState;
  if (!isCrashStrategy(crashState)) throw new UsageError(`Invalid --crash-state "${crashState}"`);
  const blockSizeSectors = parseSizeSectors(flags.blockSize, '--block-size');
  const result = runScenario({
    seed: parseSeedOption(flags.seed),
    ...(flags.table === undefined ? {} : { table: flags.table }),
    logType: flags.log,
    legCount: parseCount(flags.legs, '--legs', { minimum: 1 }),
    regionSizeSectors: parseCount(flags.regionSize, '--region-size', { minimum: 1 }),
    sizeSectors: parseSizeSectors(flags.size, '--size'),
    workload: flags.workload,
    ops: parseCount(flags.ops, '--ops', { minimum: 1 }),
    depth: parseCount(flags.depth, '--depth', { minimum: 1 }),
    blockSizeSectors,
    crash: parseCrash(flags.crash),
    crashState: crashState as CrashStrategy,
    flushEveryWrites: parseCount(flags.fsync, '--fsync'),
    legLatency: RUN_LEG_LATENCY,
    logLatency: RUN_LOG_LATENCY,
    ...(channel === undefined ? {} : { userspaceChannel: channel }),
    writeCache: flags.writeCache,
    ...(flags.dump === undefined
      ? {}
      : {
          onCrashImages: (devices) => dumpImages(join(flags.dump!, 'crash'), devices),
          onRecoveredImages: (devices) => dumpImages(join(flags.dump!, 'recovered'), devices),
        }),
  });
  if (flags.json === true) io.stdout(`${JSON.stringify(toJson(result), null, 2)}\n`);
  else io.stdout(formatRunReport(result, flags));
  return result;
}

function parseSeedOption(text: string): number {
  try {
    return parseSeed(text);
  } catch (error) {
    throw new UsageError(`Invalid --seed: ${(error as Error).message}`);
  }
}

function parseCrash(text: string): CrashWhen {
  if (text === 'never') return { kind: 'never' };
  if (text === 'random') return { kind: 'random' };
  const match = /^at:(\d+)$/.exec(text);
  if (match !== null && Number.isSafeInteger(Number(match[1])))
    return { kind: 'at', event: Number(match[1]) };
  throw new UsageError(
    `Invalid --crash "${text}": expected never, random, or at:EVENT (a whole number)`,
  );
}

/** The `--json` object: the fields of CLI.md, plus a few more. */
function toJson(result: RunResult): Record<string, unknown> {
  return {
    seed: result.seed,
    table: result.table,
    logType: result.logType,
    regions: result.regions,
    ops: result.ops,
    writesAcknowledged: result.writesAcknowledged,
    crashed: result.crashed,
    crashEvent: result.crashEvent,
    crashStateId: result.crashStateId,
    dirtyRegionsAtCrash: result.dirtyRegionsAtCrash,
    regionsResynced: result.regionsResynced,
    bytesResynced: result.bytesResynced,
    recoveryTicks: result.recoveryTicks,
    legsIdentical: result.legsIdentical,
    oracle: result.oracle,
    expected: result.expected,
    violations: result.violations,
    statusInfo: result.statusInfo,
    statusTable: result.statusTable,
    traceHash: result.traceHash,
    simulatedTicks: result.simulatedTicks,
    events: result.events,
  };
}

function formatRunReport(result: RunResult, flags: RunFlags): string {
  const lines: string[] = [];
  const ms = (ticks: number) => `${(ticks / 1000).toFixed(1)} ms`;
  lines.push(`mirrorsim run — seed ${result.seed}`);
  lines.push(`table:            ${result.table}`);
  lines.push(
    `workload:         ${flags.workload}, ${result.ops} requests of ${flags.blockSize}, ${flags.depth} in flight, a flush every ${flags.fsync} writes`,
  );
  lines.push(`status before:    ${result.statusInfoBefore}`);
  if (result.crashed) {
    lines.push(
      `crash:            at event ${result.crashEvent} (state ${result.crashStateId}), ${result.writesAcknowledged} writes acknowledged before it`,
    );
    lines.push(
      `dirty at crash:   ${result.dirtyRegionsAtCrash} of ${result.regions} regions out of sync in the log`,
    );
    lines.push(
      `resynced:         ${result.regionsResynced} of ${result.regions} regions (${formatBytes(result.bytesResynced)}) in ${ms(result.recoveryTicks)} simulated`,
    );
  } else {
    lines.push(`crash:            none; ${result.writesAcknowledged} writes acknowledged`);
  }
  lines.push(`status after:     ${result.statusInfo}`);
  lines.push(`table after:      ${result.statusTable}`);
  const perCell = Math.max(1, Math.ceil(result.regions / result.regionMap.length));
  lines.push(
    `region map (${perCell === 1 ? 'one region' : `${perCell} regions`} per cell, # = resynced after the crash):`,
  );
  lines.push(`  [${result.regionMap}]`);
  if (result.oracle === 'ok' && result.expected !== null) {
    lines.push('verification:     passed with differences Linux itself allows after a crash:');
    lines.push(`                  ${result.expected}`);
    for (const violation of result.violations) lines.push(`  - ${violation}`);
  } else if (result.oracle === 'ok') {
    lines.push('verification:     passed — legs byte-identical; every durable write reads back;');
    lines.push('                  every other sector holds its old value or a value written to it');
  } else {
    lines.push('verification:     FAILED');
    for (const violation of result.violations) lines.push(`  - ${violation}`);
    const crash = result.crashEvent === null ? 'never' : `at:${result.crashEvent}`;
    lines.push(
      `replay with:      npx mirrorsim run --seed ${result.seed} --table "${result.table}" --crash ${crash}`,
    );
  }
  lines.push(
    `trace hash:       ${result.traceHash} (${result.events} events, ${ms(result.simulatedTicks)} simulated)`,
  );
  return `${lines.join('\n')}\n`;
}
