/**
 * `mirrorsim fuzz`: a crash-consistency campaign. Each seed is one random
 * scenario (configuration, workload, faults, crash points and crash states,
 * all drawn from the seed) run against the oracle and the invariants; a
 * failing seed is shrunk and printed with the one `mirrorsim replay` line
 * that re-runs it. Progress goes to stderr; the last stdout line is
 * `seeds: N, failures: F`; exit 1 when F > 0, 2 for bad usage.
 */
import type { Command } from 'commander';
import type { BudgetMode } from '../sim/fuzz/fuzz-config.js';
import {
  type FuzzScenarioOptions,
  replayCommandLine,
  runFuzzSeed,
} from '../sim/fuzz/fuzz-property.js';
import {
  FEATURE_SETS,
  FUZZ_LOG_TYPES,
  type FuzzLogType,
  TABLE_MODES,
} from '../sim/fuzz/mirror-profile.js';
import { parseSeed } from '../sim/random.js';
import { findDirtyLogType } from '../src/log/registry.js';
import { type CliIo, EXIT_OK, EXIT_VIOLATION, UsageError } from './cli-io.js';
import { parseCount } from './parse-size.js';

/** The options `fuzz` and `replay` share: which scenarios a seed draws. */
export interface ScenarioFlags {
  log?: string;
  budget?: string;
  features?: string;
  legs?: string;
  modes?: string;
  maxCommands?: string;
  faultWeightMin?: string;
}

interface FuzzFlags extends ScenarioFlags {
  seeds?: string;
  seconds?: string;
  startSeed: string;
}

/** Adds the scenario filters to a command. */
export function addScenarioOptions(command: Command): Command {
  return command
    .option(
      '--log <types>',
      `restrict to these log types, comma-separated (default: every built-in type: ${FUZZ_LOG_TYPES.join(', ')})`,
    )
    .option(
      '--budget <mode>',
      'within: only faults the profile is designed to survive (every violation is a bug); beyond: every fault, violations must be documented Linux behaviour',
      'within',
    )
    .option('--features <sets>', `restrict to these feature sets (${FEATURE_SETS.join(', ')})`)
    .option('--legs <counts>', 'restrict to these leg counts (2-9, comma-separated)')
    .option('--modes <modes>', `restrict to these table modes (${TABLE_MODES.join(', ')})`)
    .option('--max-commands <n>', 'commands per scenario (default 50)')
    .option('--fault-weight-min <n>', 'the lowest weight of every fault kind, 0-100 (default 0)');
}

/** Turns the shared flags into scenario options; UsageError names a bad value. */
export function scenarioOptions(flags: ScenarioFlags): FuzzScenarioOptions {
  const budget = flags.budget ?? 'within';
  if (budget !== 'within' && budget !== 'beyond') {
    throw new UsageError(`Invalid --budget "${budget}": expected within or beyond`);
  }
  const logTypes = listFlag(flags.log, '--log', FUZZ_LOG_TYPES) as FuzzLogType[] | undefined;
  for (const type of logTypes ?? []) {
    if (findDirtyLogType(type) === undefined) {
      throw new UsageError(`Invalid --log "${type}": that log type is not registered`);
    }
  }
  const legCounts = flags.legs
    ?.split(',')
    .map((text) => parseCount(text, '--legs', { minimum: 2 }))
    .map((count) => {
      if (count > 9) throw new UsageError(`Invalid --legs ${count}: expected 2 to 9`);
      return count;
    });
  return {
    budget: budget as BudgetMode,
    ...(logTypes === undefined ? { logTypes: defaultLogTypes() } : { logTypes }),
    ...optional('featureSets', listFlag(flags.features, '--features', FEATURE_SETS)),
    ...optional('tableModes', listFlag(flags.modes, '--modes', TABLE_MODES)),
    ...optional('legCounts', legCounts),
    ...optional(
      'maxCommands',
      flags.maxCommands === undefined
        ? undefined
        : parseCount(flags.maxCommands, '--max-commands', { minimum: 1 }),
    ),
    ...optional(
      'faultWeightMin',
      flags.faultWeightMin === undefined
        ? undefined
        : Math.min(100, parseCount(flags.faultWeightMin, '--fault-weight-min')),
    ),
  } as FuzzScenarioOptions;
}

/** Every built-in log type that is registered (the userspace log registers itself). */
function defaultLogTypes(): FuzzLogType[] {
  return FUZZ_LOG_TYPES.filter((type) => findDirtyLogType(type) !== undefined);
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

function listFlag<T extends string>(
  text: string | undefined,
  flag: string,
  allowed: readonly T[],
): T[] | undefined {
  if (text === undefined) return undefined;
  const values = text.split(',').map((value) => value.trim());
  for (const value of values) {
    if (!(allowed as readonly string[]).includes(value)) {
      throw new UsageError(`Invalid ${flag} "${value}": expected ${allowed.join(', ')}`);
    }
  }
  return values as T[];
}

/**
 * A fuzz seed: fast-check's seeds are 32-bit integers and may be negative
 * (a failure in a test run prints one); otherwise any seed `run` accepts.
 */
export function parseSeedFlag(text: string, flag: string): number {
  if (/^-\d+$/.test(text) && Number.isSafeInteger(Number(text))) return Number(text);
  try {
    return parseSeed(text);
  } catch (error) {
    throw new UsageError(`Invalid ${flag}: ${(error as Error).message}`);
  }
}

/** Adds `mirrorsim fuzz` to the program. */
export function registerFuzzCommand(
  program: Command,
  io: CliIo,
  setExitCode: (code: number) => void,
): void {
  const command = program
    .command('fuzz')
    .description(
      'a crash-consistency campaign: many seeds, each a random scenario checked by the oracle',
    )
    .option('--seeds <n>', 'how many seeds to run')
    .option('--seconds <s>', 'a time box instead of a seed count')
    .option('--start-seed <n>', 'the first seed', '1');
  addScenarioOptions(command).action((flags: FuzzFlags) => {
    setExitCode(executeFuzz(flags, io));
  });
}

/** How often progress is printed (wall-clock milliseconds). */
const PROGRESS_INTERVAL_MS = 1000;

function executeFuzz(flags: FuzzFlags, io: CliIo): number {
  if ((flags.seeds === undefined) === (flags.seconds === undefined)) {
    throw new UsageError('Give exactly one of --seeds N or --seconds S');
  }
  const options = scenarioOptions(flags);
  const seedsMax =
    flags.seeds === undefined
      ? Number.POSITIVE_INFINITY
      : parseCount(flags.seeds, '--seeds', { minimum: 1 });
  const secondsMax =
    flags.seconds === undefined
      ? Number.POSITIVE_INFINITY
      : parseCount(flags.seconds, '--seconds', { minimum: 1 });
  const startSeed = parseSeedFlag(flags.startSeed, '--start-seed');
  const startMs = io.wallClockMs();
  let lastProgressMs = startMs;
  let seeds = 0;
  let failures = 0;
  while (seeds < seedsMax && io.wallClockMs() - startMs < secondsMax * 1000) {
    const seed = startSeed + seeds;
    const result = runFuzzSeed(seed, options);
    seeds++;
    if (result.failed) {
      failures++;
      io.stdout(`seed ${seed} failed: ${result.error}\n`);
      io.stdout(`  ${replayCommandLine(seed, result.path ?? '', options)}\n`);
    }
    const nowMs = io.wallClockMs();
    if (nowMs - lastProgressMs >= PROGRESS_INTERVAL_MS) {
      lastProgressMs = nowMs;
      io.stderr(progressLine(seeds, failures, nowMs - startMs));
    }
  }
  io.stderr(progressLine(seeds, failures, io.wallClockMs() - startMs));
  io.stdout(`seeds: ${seeds}, failures: ${failures}\n`);
  return failures > 0 ? EXIT_VIOLATION : EXIT_OK;
}

function progressLine(seeds: number, failures: number, elapsedMs: number): string {
  const perSecond = elapsedMs > 0 ? (seeds * 1000) / elapsedMs : 0;
  return `fuzz: ${seeds} seeds, ${failures} failures, ${perSecond.toFixed(1)} seeds/s\n`;
}
