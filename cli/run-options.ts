/**
 * `mirrorsim run`'s flags, checked all at once before anything runs, and
 * the one command line that replays a run exactly (every option that
 * changes what a run does, with the crash pinned to the event it hit).
 */
import type { Command } from 'commander';
import { parseSeed } from '../sim/random.js';
import type { CrashWhen, RunResult, RunScenarioOptions } from '../sim/scenario/run-scenario.js';
import { type CrashStrategy, isCrashStrategy } from '../src/block/crash-state.js';
import { UsageError } from './cli-io.js';
import { parseCount, parseSizeSectors } from './parse-size.js';
import { quoteValue } from './quote-value.js';

/** The flags as commander gives them. */
export interface RunFlags {
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
  logDaemonTimeout: string;
  progress?: boolean;
  faithfulResync?: boolean;
}

/** The options `--table` replaces: giving both would silently ignore one. */
const STACK_FLAGS = [
  ['log', '--log'],
  ['legs', '--legs'],
  ['regionSize', '--region-size'],
  ['size', '--size'],
] as const;

/** Requests in flight at most: a bound on the driver's queue. */
export const DEPTH_MAX = 4096;

/** The scenario the flags describe, without the hooks the command adds. */
export type RunScenarioInput = Omit<
  RunScenarioOptions,
  | 'legLatency'
  | 'logLatency'
  | 'userspaceChannel'
  | 'onCrashImages'
  | 'onRecoveredImages'
  | 'onProgress'
  | 'onWorkloadStart'
  | 'onWorkloadEnd'
>;

/** Checks every flag; a UsageError names the first bad one. */
export function parseRunFlags(flags: RunFlags, command: Command): RunScenarioInput {
  if (flags.table !== undefined) {
    const given = STACK_FLAGS.filter(([key]) => command.getOptionValueSource(key) === 'cli');
    if (given.length > 0) {
      throw new UsageError(
        `--table gives the whole stack, so ${given.map(([, flag]) => flag).join(' and ')} would be ignored: give --table alone, or drop it`,
      );
    }
  }
  const crashState = flags.crashState;
  if (!isCrashStrategy(crashState)) {
    throw new UsageError(`Invalid --crash-state ${quoteValue(crashState)}`);
  }
  return {
    seed: parseSeedOption(flags.seed, '--seed'),
    ...(flags.table === undefined ? {} : { table: flags.table }),
    logType: flags.log,
    legCount: parseCount(flags.legs, '--legs', { minimum: 2, maximum: 9 }),
    regionSizeSectors: parseCount(flags.regionSize, '--region-size', { minimum: 1 }),
    sizeSectors: parseSizeSectors(flags.size, '--size'),
    workload: flags.workload,
    ops: parseCount(flags.ops, '--ops', { minimum: 1 }),
    depth: parseCount(flags.depth, '--depth', { minimum: 1, maximum: DEPTH_MAX }),
    blockSizeSectors: parseSizeSectors(flags.blockSize, '--block-size'),
    crash: parseCrash(flags.crash),
    crashState: crashState as CrashStrategy,
    flushEveryWrites: parseCount(flags.fsync, '--fsync'),
    writeCache: flags.writeCache,
    sparseResync: flags.faithfulResync !== true,
  };
}

/** A seed as `run` and `bench` take it; UsageError names the flag. */
export function parseSeedOption(text: string, flag: string): number {
  try {
    return parseSeed(text);
  } catch (error) {
    throw new UsageError(`Invalid ${flag}: ${(error as Error).message}`);
  }
}

function parseCrash(text: string): CrashWhen {
  if (text === 'never') return { kind: 'never' };
  if (text === 'random') return { kind: 'random' };
  const match = /^at:(\d{1,16})$/.exec(text);
  if (match !== null && Number.isSafeInteger(Number(match[1]))) {
    return { kind: 'at', event: Number(match[1]) };
  }
  throw new UsageError(
    `Invalid --crash ${quoteValue(text)}: expected never, random, or at:EVENT (a whole number)`,
  );
}

/**
 * The command line that runs `result` again, event for event: the table
 * (which carries the log, legs, region size and size), every workload and
 * device option, and the crash at the event it happened.
 */
export function replayRunLine(result: RunResult, input: RunScenarioInput, flags: RunFlags): string {
  const crash = result.crashEvent === null ? 'never' : `at:${result.crashEvent}`;
  const parts = [
    'npx mirrorsim run',
    `--seed ${input.seed}`,
    `--table ${shellWord(result.table)}`,
    `--workload ${shellWord(input.workload)}`,
    `--ops ${input.ops}`,
    `--depth ${input.depth}`,
    `--block-size ${input.blockSizeSectors * 512}`,
    `--fsync ${input.flushEveryWrites}`,
    `--crash ${crash}`,
    `--crash-state ${input.crashState}`,
  ];
  if (!input.writeCache) parts.push('--no-write-cache');
  if (input.sparseResync === false) parts.push('--faithful-resync');
  if (flags.logDaemon !== undefined) parts.push(`--log-daemon ${shellWord(flags.logDaemon)}`);
  return parts.join(' ');
}

/** `text` as one word for a POSIX shell: bare when safe, else in single quotes. */
export function shellWord(text: string): string {
  if (/^[A-Za-z0-9_./:,+=@%-]+$/.test(text)) return text;
  return `'${text.replaceAll("'", `'\\''`)}'`;
}
