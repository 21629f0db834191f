/**
 * The crash-consistency property and its runner: a configuration and a
 * command sequence, run synchronously with `fc.modelRun` against a fresh
 * simulated machine, then the liveness phase and the final verification.
 *
 * One fuzz seed is one fast-check run (`seed: N, numRuns: 1`): the seed
 * draws the configuration, the World seed and the commands. A failure is
 * shrunk and comes back with the fast-check path and the commands'
 * replay path, which {@link replayFuzzSeed} follows straight to the shrunk
 * counterexample.
 */
import fc from 'fast-check';
import type { World } from '../world.js';
import { fuzzCommandArbitrary } from './fuzz-commands.js';
import { type BudgetMode, type FuzzConfig, fuzzConfigArbitrary } from './fuzz-config.js';
import { FuzzFailure } from './fuzz-failure.js';
import { FuzzModel } from './fuzz-model.js';
import { FuzzSystem } from './fuzz-system.js';
import type { FuzzLogType } from './mirror-profile.js';

/** Which scenarios a property draws. */
export interface FuzzScenarioOptions {
  readonly budget: BudgetMode;
  readonly logTypes?: readonly FuzzLogType[];
  readonly legCounts?: readonly number[];
  readonly tableModes?: readonly FuzzConfig['profile']['tableMode'][];
  readonly featureSets?: readonly FuzzConfig['profile']['features'][];
  readonly writeCache?: readonly boolean[];
  /** Commands per scenario (default 50). */
  readonly maxCommands?: number;
  readonly regionCountMax?: number;
  /** The lowest weight of every applicable fault kind (default 0: swarm testing may switch kinds off). */
  readonly faultWeightMin?: number;
}

/** Ways to watch or steer a property run (replay, traces). */
export interface FuzzRunHooks {
  /** Trace records to keep (for replay). */
  readonly traceRecentCapacity?: number;
  /** Called with each system the property builds (the last one is the counterexample's). */
  readonly onSystem?: (system: FuzzSystem, model: FuzzModel) => void;
  /** Called with each scenario's configuration and world before its system is built. */
  readonly onWorld?: (config: FuzzConfig, world: World) => void;
  /** fast-check's replay path of the command sequence (from a failure report). */
  readonly replayPath?: string;
}

/** Default commands per scenario: long enough for several crashes, short enough for 10 seeds/s. */
export const DEFAULT_MAX_COMMANDS = 50;

/** The property (see the file comment). */
export function fuzzProperty(
  options: FuzzScenarioOptions,
  hooks: FuzzRunHooks = {},
): fc.IPropertyWithHooks<[FuzzConfig, Iterable<fc.Command<FuzzModel, FuzzSystem>>]> {
  const commands = fc.commands([fuzzCommandArbitrary()], {
    maxCommands: options.maxCommands ?? DEFAULT_MAX_COMMANDS,
    size: 'max',
    ...(hooks.replayPath === undefined ? {} : { replayPath: hooks.replayPath }),
  });
  return fc.property(fuzzConfigArbitrary(options), commands, (config, sequence) => {
    runScenarioCommands(config, sequence, hooks);
  });
}

/** Runs one configuration and command sequence; throws the first violation not explained. */
export function runScenarioCommands(
  config: FuzzConfig,
  sequence: Iterable<fc.Command<FuzzModel, FuzzSystem>>,
  hooks: Pick<FuzzRunHooks, 'traceRecentCapacity' | 'onSystem' | 'onWorld'> = {},
): FuzzSystem {
  const onWorld = hooks.onWorld;
  const system = new FuzzSystem({
    config,
    ...(hooks.traceRecentCapacity === undefined
      ? {}
      : { traceRecentCapacity: hooks.traceRecentCapacity }),
    ...(onWorld === undefined ? {} : { onWorld: (world: World) => onWorld(config, world) }),
  });
  const model = new FuzzModel(config, system);
  hooks.onSystem?.(system, model);
  let commandsDone = false;
  try {
    fc.modelRun(() => ({ model, real: system }), sequence);
    commandsDone = true;
    system.finish();
  } catch (error) {
    if (commandsDone)
      model.resolved.push('finish() — heal, repair, converge, verify ✗ failed here');
    if (error instanceof FuzzFailure || (error as Error)?.name === 'InvariantError') {
      (error as Error).message += `\n  commands as run:\n    ${model.resolved.join('\n    ')}`;
    }
    throw error;
  }
  return system;
}

/** The outcome of one fuzz seed. */
export interface FuzzSeedResult {
  readonly seed: number;
  readonly failed: boolean;
  /** fast-check's path to the shrunk counterexample, with `@` and the commands' replay path. */
  readonly path: string | null;
  /** The violation, first line. */
  readonly error: string | null;
  /** The shrunk counterexample: configuration and commands. */
  readonly counterexample: string | null;
  readonly numShrinks: number;
}

/**
 * Runs one seed: one scenario, shrunk on failure. `hooks.onWorld` sees
 * every scenario built, the seed's own first (then each shrink's).
 */
export function runFuzzSeed(
  seed: number,
  options: FuzzScenarioOptions,
  hooks: Pick<FuzzRunHooks, 'onWorld'> = {},
): FuzzSeedResult {
  const details = fc.check(fuzzProperty(options, hooks), { seed, numRuns: 1 });
  if (!details.failed || details.counterexample === null) {
    return { seed, failed: false, path: null, error: null, counterexample: null, numShrinks: 0 };
  }
  const commandsText = String(details.counterexample[1]);
  const replayPath = /replayPath="([^"]*)"/.exec(commandsText)?.[1] ?? '';
  const message =
    details.errorInstance instanceof Error
      ? details.errorInstance.message
      : String(details.errorInstance);
  return {
    seed,
    failed: true,
    path: `${details.counterexamplePath ?? ''}@${replayPath}`,
    error: message.split('\n')[0] ?? message,
    counterexample: `${JSON.stringify(details.counterexample[0])}\n${commandsText}`,
    numShrinks: details.numShrinks,
  };
}

/** What a replay found. */
export interface FuzzReplayResult {
  readonly failed: boolean;
  readonly error: string | null;
  /** The last system built: the counterexample's (null when building it failed). */
  readonly system: FuzzSystem | null;
  readonly model: FuzzModel | null;
  /** The last scenario's configuration and world, even when building its system failed. */
  readonly config: FuzzConfig | null;
  readonly world: World | null;
}

/** Re-runs the counterexample of `seed` at `path` (as {@link runFuzzSeed} printed it). */
export function replayFuzzSeed(
  seed: number,
  path: string,
  options: FuzzScenarioOptions,
  hooks: { readonly traceRecentCapacity?: number } = {},
): FuzzReplayResult {
  const separator = path.indexOf('@');
  if (separator < 0) {
    throw new RangeError(
      `Replay path "${path}" is not valid: expected <fast-check path>@<replay path>`,
    );
  }
  const fcPath = path.slice(0, separator);
  const replayPath = path.slice(separator + 1);
  let system: FuzzSystem | null = null;
  let model: FuzzModel | null = null;
  let config: FuzzConfig | null = null;
  let world: World | null = null;
  const property = fuzzProperty(options, {
    ...hooks,
    ...(replayPath === '' ? {} : { replayPath }),
    onWorld: (builtConfig, builtWorld) => {
      config = builtConfig;
      world = builtWorld;
      system = null;
      model = null;
    },
    onSystem: (built, builtModel) => {
      system = built;
      model = builtModel;
    },
  });
  const details = fc.check(property, {
    seed,
    numRuns: 1,
    endOnFailure: true,
    ...(fcPath === '' ? {} : { path: fcPath }),
  });
  const error = details.failed
    ? details.errorInstance instanceof Error
      ? details.errorInstance.message
      : String(details.errorInstance)
    : null;
  return { failed: details.failed, error, system, model, config, world };
}

/**
 * The `mirrorsim replay` command line that re-runs a failure of a property
 * built from `options` (the filters that shape the configuration are part
 * of the line, so the replay draws the same scenario).
 */
export function replayCommandLine(
  seed: number,
  path: string,
  options: FuzzScenarioOptions,
): string {
  // `--seed=N`: a negative fast-check seed must not read as an option.
  const parts = ['npx mirrorsim replay', `--seed=${seed}`, `--path '${path}'`];
  if (options.budget !== 'within') parts.push(`--budget ${options.budget}`);
  if (options.logTypes !== undefined) parts.push(`--log ${options.logTypes.join(',')}`);
  if (options.featureSets !== undefined) parts.push(`--features ${options.featureSets.join(',')}`);
  if (options.legCounts !== undefined) parts.push(`--legs ${options.legCounts.join(',')}`);
  if (options.tableModes !== undefined) parts.push(`--modes ${options.tableModes.join(',')}`);
  if (options.maxCommands !== undefined) parts.push(`--max-commands ${options.maxCommands}`);
  if (options.faultWeightMin !== undefined)
    parts.push(`--fault-weight-min ${options.faultWeightMin}`);
  return parts.join(' ');
}

/**
 * Runs the property `numRuns` times (fast-check's global seed when one is
 * configured, e.g. FC_SEED) and throws on failure with the violation, the
 * shrunk commands and the one line that replays it.
 */
export function assertFuzz(
  options: FuzzScenarioOptions,
  parameters: { readonly numRuns?: number; readonly interruptAfterTimeLimit?: number } = {},
): number {
  const details = fc.check(fuzzProperty(options), {
    ...(parameters.numRuns === undefined ? {} : { numRuns: parameters.numRuns }),
    ...(parameters.interruptAfterTimeLimit === undefined
      ? {}
      : { interruptAfterTimeLimit: parameters.interruptAfterTimeLimit }),
  });
  if (!details.failed || details.counterexample === null) return details.numRuns;
  const commandsText = String(details.counterexample[1]);
  const replayPath = /replayPath="([^"]*)"/.exec(commandsText)?.[1] ?? '';
  const path = `${details.counterexamplePath ?? ''}@${replayPath}`;
  const message =
    details.errorInstance instanceof Error
      ? details.errorInstance.message
      : String(details.errorInstance);
  throw new Error(
    `${message}\n  configuration: ${JSON.stringify(details.counterexample[0])}\n  replay: ${replayCommandLine(details.seed, path, options)}`,
  );
}
