/**
 * Where `mirrorsim fuzz` runs its seeds: in its own thread (`--jobs 1`) or
 * on a pool of worker threads (tinypool). Seeds are independent and each
 * is deterministic, so a seed gives the same outcome wherever it runs; the
 * campaign orders the outcomes by seed.
 *
 * A worker loads `fuzz-seed-worker` next to this file. From the built
 * package that is plain JavaScript. From the TypeScript sources (tsx,
 * vitest) a worker thread does not inherit the parent's module hooks on
 * Node 20, so the worker's entry is a small module that registers tsx
 * first and then imports the TypeScript worker; tsx is a development
 * dependency, present exactly when the sources run.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Tinypool from 'tinypool';
import type { FuzzScenarioOptions } from '../sim/fuzz/fuzz-property.js';
import { type FuzzSeedOutcome, runFuzzSeedJob } from './fuzz-seed-job.js';

/** Runs seeds and gives their outcomes. */
export interface FuzzSeedRunner {
  /** Seeds it runs at once. */
  readonly jobs: number;
  run(seed: number): Promise<FuzzSeedOutcome>;
  /** Stops the workers (if any); the runner may not be used afterwards. */
  close(): Promise<void>;
}

/** Runs every seed in this thread, one at a time. */
export function inThreadRunner(options: FuzzScenarioOptions): FuzzSeedRunner {
  return {
    jobs: 1,
    run: (seed) => Promise.resolve(runFuzzSeedJob({ seed, options })),
    close: () => Promise.resolve(),
  };
}

/** Runs seeds on `jobs` worker threads. */
export function workerPoolRunner(options: FuzzScenarioOptions, jobs: number): FuzzSeedRunner {
  const pool = new Tinypool({
    filename: workerEntryUrl(),
    minThreads: jobs,
    maxThreads: jobs,
    // A worker keeps its loaded modules between seeds; only the seed's own state is new.
    isolateWorkers: false,
    execArgv: [],
  });
  return {
    jobs,
    run: (seed) => pool.run({ seed, options }) as Promise<FuzzSeedOutcome>,
    close: () => pool.destroy(),
  };
}

/** The module a worker loads (see the file comment). */
export function workerEntryUrl(): string {
  const here = import.meta.url;
  const worker = new URL(`./fuzz-seed-worker${extname(fileURLToPath(here))}`, here).href;
  if (!here.endsWith('.ts')) return worker;
  const source = [
    `import { register } from ${JSON.stringify(tsxEsmApiUrl(here))};`,
    'register();',
    `const worker = await import(${JSON.stringify(worker)});`,
    'export default worker.default;',
  ].join('\n');
  return `data:text/javascript,${encodeURIComponent(source)}`;
}

/**
 * The URL of tsx's ESM API (`tsx/esm/api` under the `import` condition),
 * read from tsx's own package.json: `require.resolve` would give the
 * CommonJS build, whose `register` cannot load from an ES module.
 */
function tsxEsmApiUrl(from: string): string {
  const manifestPath = createRequire(from).resolve('tsx/package.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
    exports: Record<string, { import: { default: string } }>;
  };
  return new URL(manifest.exports['./esm/api']!.import.default, pathToFileURL(manifestPath)).href;
}
