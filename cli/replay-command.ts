/**
 * `mirrorsim replay`: re-runs one `mirrorsim fuzz` failure verbosely, from
 * the line the campaign printed. It prints the scenario's configuration,
 * the shrunk command list as it ran, what happened, the violated invariant
 * (or the documented outcomes a beyond-budget run met), and the last trace
 * records before the failure. Exit 1 when the failure reproduced, 0 when
 * the scenario passed, 2 for bad usage.
 */
import type { Command } from 'commander';
import { describeConfig } from '../sim/fuzz/fuzz-config.js';
import { replayFuzzSeed } from '../sim/fuzz/fuzz-property.js';
import type { TraceRecord } from '../sim/trace.js';
import { type CliIo, EXIT_OK, EXIT_VIOLATION, UsageError } from './cli-io.js';
import {
  addScenarioOptions,
  parseSeedFlag,
  type ScenarioFlags,
  scenarioOptions,
} from './fuzz-command.js';
import { parseCount } from './parse-size.js';
import { quoteValue } from './quote-value.js';
import { checkReplayPath } from './replay-path.js';

interface ReplayFlags extends ScenarioFlags {
  seed?: string;
  path?: string;
  trace: string;
}

/** Adds `mirrorsim replay` to the program. */
export function registerReplayCommand(
  program: Command,
  io: CliIo,
  setExitCode: (code: number) => void,
): void {
  const command = program
    .command('replay')
    .description('re-run one fuzz failure verbosely: commands, events, the violated invariant')
    .option('--seed <n>', 'the seed the failure was found with')
    .option(
      '--path <path>',
      'where the shrunk counterexample is: <fast-check path>@<replay path>, as fuzz printed it (default: the seed’s scenario, unshrunk)',
    )
    .option('--trace <n>', 'trace records to show before the failure', '60');
  addScenarioOptions(command).action((flags: ReplayFlags) => {
    setExitCode(executeReplay(flags, io));
  });
}

function executeReplay(flags: ReplayFlags, io: CliIo): number {
  if (flags.seed === undefined) throw new UsageError('Give --seed N (and --path P from fuzz)');
  const seed = parseSeedFlag(flags.seed, '--seed');
  const path = checkReplayPath(flags.path ?? '@');
  const traceCount = parseCount(flags.trace, '--trace', { maximum: TRACE_RECORDS_MAX });
  const options = scenarioOptions(flags);
  const result = replayAt(seed, path, options, traceCount);
  const { system, model, config, world } = result;
  if (config === null || world === null) {
    throw new UsageError(
      `Invalid --path ${quoteValue(path)}: it leads to no scenario of seed ${seed} with these options; expected the path and options fuzz printed`,
    );
  }
  const out: string[] = [];
  out.push(`mirrorsim replay — seed ${seed}${flags.path === undefined ? '' : `, path ${path}`}`);
  out.push(`configuration: ${describeConfig(config)}`);
  if (system === null || model === null) {
    // The violation fired inside the system's constructor: activation or the initial resync.
    out.push('commands as run: none (the failure came while the mirror was built and resynced)');
  } else {
    out.push('commands as run:');
    for (const line of model.resolved) out.push(`  ${line}`);
    out.push('what happened:');
    for (const line of system.journal) out.push(`  ${line}`);
    if (system.expected.length > 0) {
      out.push('expected outcomes (documented Linux behaviour):');
      for (const outcome of system.expected) {
        out.push(`  ${outcome.kind}: ${outcome.message}`);
        out.push(`    ← ${outcome.fact}`);
      }
    }
  }
  const records = world.scheduler.traceLog.recent().slice(-traceCount);
  out.push(`last ${records.length} trace records${result.failed ? ' before the failure' : ''}:`);
  for (const record of records) out.push(`  ${formatRecord(record)}`);
  if (result.failed) {
    out.push(`violated: ${(result.error ?? '').split('\n')[0]}`);
  } else {
    out.push('passed: the scenario ran without a violation (the failure did not reproduce)');
  }
  io.stdout(`${out.join('\n')}\n`);
  return result.failed ? EXIT_VIOLATION : EXIT_OK;
}

/** The most trace records `--trace` may keep (each is kept in memory until the end). */
const TRACE_RECORDS_MAX = 1_000_000;

/**
 * The replay, with fast-check's refusal to follow a path that does not fit
 * this seed and these options (it throws before running anything) turned
 * into bad input: the path is well formed but leads nowhere.
 */
function replayAt(
  seed: number,
  path: string,
  options: ReturnType<typeof scenarioOptions>,
  traceCount: number,
): ReturnType<typeof replayFuzzSeed> {
  try {
    return replayFuzzSeed(seed, path, options, { traceRecentCapacity: Math.max(1, traceCount) });
  } catch (error) {
    const message = error instanceof Error ? error.message : '';
    if (/^(Unable to replay|Too short replayPath|Mismatch between replayPath)/.test(message)) {
      throw new UsageError(
        `Invalid --path ${quoteValue(path)}: it does not lead to a counterexample of seed ${seed} with these options (${message.split('\n')[0]}); expected the path and options fuzz printed`,
      );
    }
    throw error;
  }
}

function formatRecord(record: TraceRecord): string {
  const kind = record.isEvent ? 'event' : '     ';
  return `${String(record.timeTicks).padStart(10)}  ${kind}  ${record.label} ${record.detail}`;
}
