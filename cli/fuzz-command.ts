/**
 * `mirrorsim fuzz`: a crash-consistency campaign. Each seed is one random
 * scenario (configuration, workload, faults, crash points and crash states,
 * all drawn from the seed) run against the oracle and the invariants; a
 * failing seed is shrunk and printed with the one `mirrorsim replay` line
 * that re-runs it. Progress goes to stderr; the last stdout line is
 * `seeds: N, failures: F`; exit 1 when F > 0, 2 for bad usage.
 */
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import {
  checkCampaignPlan,
  type FuzzCampaignPlan,
  type FuzzShard,
  parseShard,
  shardSeedCount,
  WHOLE_CAMPAIGN,
} from '../sim/fuzz/fuzz-campaign-plan.js';
import type { BudgetMode } from '../sim/fuzz/fuzz-config.js';
import { type FuzzScenarioOptions, replayCommandLine } from '../sim/fuzz/fuzz-property.js';
import {
  campaignOptionsOf,
  type FuzzCampaignOptions,
  type FuzzSeedRecord,
  formatFuzzSeedRecord,
} from '../sim/fuzz/fuzz-seed-record.js';
import {
  FEATURE_SETS,
  FUZZ_LOG_TYPES,
  type FuzzLogType,
  TABLE_MODES,
} from '../sim/fuzz/mirror-profile.js';
import { parseSeed } from '../sim/random.js';
import { findDirtyLogType } from '../src/log/registry.js';
import { type CliIo, EXIT_OK, EXIT_VIOLATION, UsageError } from './cli-io.js';
import { runFuzzCampaign } from './fuzz-campaign.js';
import { formatFailure } from './fuzz-failure-text.js';
import { registerFuzzMergeCommand } from './fuzz-merge-command.js';
import type { FuzzSeedOutcome } from './fuzz-seed-job.js';
import { inThreadRunner, workerPoolRunner } from './fuzz-seed-runner.js';
import { openOutputFile } from './output-file.js';
import { parseCount } from './parse-size.js';
import { quoteValue } from './quote-value.js';

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
  jobs?: string;
  shard?: string;
  json?: string;
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
      flags.faultWeightMin === undefined ? undefined : parseFaultWeight(flags.faultWeightMin),
    ),
  } as FuzzScenarioOptions;
}

/** The most a fault kind's weight can be. */
const FAULT_WEIGHT_MAX = 100;

function parseFaultWeight(text: string): number {
  const weight = parseCount(text, '--fault-weight-min');
  if (weight > FAULT_WEIGHT_MAX) {
    throw new UsageError(
      `Invalid --fault-weight-min ${quoteValue(text)}: expected 0 to ${FAULT_WEIGHT_MAX}`,
    );
  }
  return weight;
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

/** Adds `mirrorsim fuzz` (and `mirrorsim fuzz merge`) to the program. */
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
    .option('--seeds <n>', 'how many seeds to run (with --shard: in the whole campaign)')
    .option('--seconds <s>', 'a time box instead of a seed count')
    .option('--start-seed <n>', 'the first seed', '1')
    .option(
      '--jobs <n>',
      `seeds run at once, on worker threads (default: this machine's ${availableParallelism()} cores)`,
    )
    .option('--shard <k/n>', 'run only shard K of N: every N-th seed, starting with the K-th')
    .option(
      '--json <file>',
      'write one JSON record per seed to FILE (JSON lines; docs/fuzz-records.md)',
    );
  addScenarioOptions(command).action(async (flags: FuzzFlags) => {
    setExitCode(await executeFuzz(flags, io));
  });
  registerFuzzMergeCommand(command, io, setExitCode);
}

async function executeFuzz(flags: FuzzFlags, io: CliIo): Promise<number> {
  if ((flags.seeds === undefined) === (flags.seconds === undefined)) {
    throw new UsageError('Give exactly one of --seeds N or --seconds S');
  }
  const options = scenarioOptions(flags);
  const plan = campaignPlan(flags);
  const secondsMax =
    flags.seconds === undefined
      ? Number.POSITIVE_INFINITY
      : parseCount(flags.seconds, '--seconds', { minimum: 1 });
  const jobs = Math.min(
    flags.jobs === undefined ? availableParallelism() : parseJobs(flags.jobs),
    Math.max(1, shardSeedCount(plan)),
  );
  // Opened before the first seed, so a path that cannot be written fails now, not after the run.
  const records = flags.json === undefined ? null : openOutputFile(flags.json, '--json');
  const runner = jobs === 1 ? inThreadRunner(options) : workerPoolRunner(options, jobs);
  const campaign = campaignOptionsOf(options);
  try {
    const totals = await runFuzzCampaign({
      plan,
      secondsMax,
      runner,
      io,
      onOutcome: (outcome) => {
        const replay = replayCommandLine(outcome.seed, outcome.path ?? '@', options);
        if (outcome.failed) io.stdout(formatFailure(outcome.seed, outcome.error ?? '', replay));
        records?.write(`${formatFuzzSeedRecord(recordOf(outcome, campaign, replay))}\n`);
      },
    });
    io.stdout(`seeds: ${totals.seeds}, failures: ${totals.failures}\n`);
    return totals.failures > 0 ? EXIT_VIOLATION : EXIT_OK;
  } finally {
    await runner.close();
    records?.close();
  }
}

function recordOf(
  outcome: FuzzSeedOutcome,
  campaign: FuzzCampaignOptions,
  replay: string,
): FuzzSeedRecord {
  return {
    seed: outcome.seed,
    campaign,
    scenario: outcome.scenario,
    verdict: outcome.failed ? 'failed' : 'passed',
    violation: outcome.failed ? (outcome.error ?? '') : null,
    path: outcome.failed ? (outcome.path ?? '@') : null,
    replay,
  };
}

function campaignPlan(flags: FuzzFlags): FuzzCampaignPlan {
  const shard = flags.shard === undefined ? WHOLE_CAMPAIGN : parseShardFlag(flags.shard);
  const plan: FuzzCampaignPlan = {
    startSeed: parseSeedFlag(flags.startSeed, '--start-seed'),
    seedsTotal:
      flags.seeds === undefined
        ? Number.POSITIVE_INFINITY
        : parseCount(flags.seeds, '--seeds', { minimum: 1 }),
    shard,
  };
  try {
    checkCampaignPlan(plan);
  } catch (error) {
    throw new UsageError(`Invalid --start-seed or --seeds: ${(error as Error).message}`);
  }
  return plan;
}

function parseShardFlag(text: string): FuzzShard {
  try {
    return parseShard(text);
  } catch (error) {
    throw new UsageError(`Invalid --shard ${quoteValue(text)}: ${(error as Error).message}`);
  }
}

/** The most worker threads `--jobs` may ask for. */
const JOBS_MAX = 256;

function parseJobs(text: string): number {
  const jobs = parseCount(text, '--jobs', { minimum: 1 });
  if (jobs > JOBS_MAX) {
    throw new UsageError(`Invalid --jobs ${quoteValue(text)}: expected 1 to ${JOBS_MAX}`);
  }
  return jobs;
}
