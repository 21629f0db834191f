/**
 * One fuzz seed as a unit of work, the same in the CLI's own thread and in
 * a worker thread (`--jobs N`): the seed's result and the scenario it drew,
 * as plain data that crosses a thread boundary unchanged.
 */
import '../src/log/builtin-logs.js';
import { describeConfig, type FuzzConfig } from '../sim/fuzz/fuzz-config.js';
import { type FuzzScenarioOptions, runFuzzSeed } from '../sim/fuzz/fuzz-property.js';

/** What one seed is asked. */
export interface FuzzSeedJob {
  readonly seed: number;
  readonly options: FuzzScenarioOptions;
}

/** What one seed came to. */
export interface FuzzSeedOutcome {
  readonly seed: number;
  readonly failed: boolean;
  /** The violation's first line, when it failed. */
  readonly error: string | null;
  /** fast-check's path `@` the replay path, when it failed. */
  readonly path: string | null;
  /** The scenario the seed drew (before any shrinking), in words. */
  readonly scenario: string;
}

/** Runs one seed (see the file comment). */
export function runFuzzSeedJob(job: FuzzSeedJob): FuzzSeedOutcome {
  let first: FuzzConfig | null = null;
  const result = runFuzzSeed(job.seed, job.options, {
    onWorld: (config) => {
      first ??= config;
    },
  });
  return {
    seed: job.seed,
    failed: result.failed,
    error: result.error,
    path: result.path,
    scenario: first === null ? 'no scenario was built' : describeConfig(first),
  };
}
