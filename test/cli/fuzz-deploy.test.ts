/**
 * The shipped campaign deployments run as written: the command line of the
 * Kubernetes Indexed Job (deploy/k8s/fuzz-indexed-job.yaml) and of the
 * GitHub Actions matrix (.github/workflows/fuzz.yml) is taken from each
 * file and run here for its three shards, with a small seed count, through
 * the installed bin (so the worker threads run from the built package);
 * the merge of the shards must print what one unsharded run prints, and
 * their records must be the unsharded run's.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTempDirectories } from '../temp-directory-kit.js';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const BIN = join(ROOT, 'bin', 'mirrorsim.mjs');
const SEEDS = '9';
const tempDirectory = useTempDirectories();
/** The workflow's matrix expression, which GitHub replaces with the shard number. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression, not a template
const MATRIX_SHARD = '${{ matrix.shard }}';

beforeAll(() => {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT });
  }
});

/** Runs a shell line with `npx mirrorsim` standing for the installed bin; stdout, or throws. */
function shell(line: string, cwd: string, env: Record<string, string>): string {
  const command = line.replaceAll('npx mirrorsim', `node ${JSON.stringify(BIN)}`);
  const run = spawnSync('/bin/sh', ['-c', command], {
    cwd,
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`"${command}" exited ${run.status}: ${run.stderr}`);
  return run.stdout;
}

/** The unsharded campaign: its stdout and its records, in seed order. */
function unsharded(directory: string): { stdout: string; records: string } {
  const file = join(directory, 'whole.jsonl');
  const stdout = shell(`npx mirrorsim fuzz --seeds ${SEEDS} --json ${file}`, directory, {});
  return { stdout, records: readFileSync(file, 'utf8') };
}

/** The records of several files, by seed. */
function recordsBySeed(files: readonly string[]): string {
  const lines = files.flatMap((file) => readFileSync(file, 'utf8').trimEnd().split('\n'));
  const seedOf = (line: string) => (JSON.parse(line) as { seed: number }).seed;
  return `${lines.sort((left, right) => seedOf(left) - seedOf(right)).join('\n')}\n`;
}

function oneMatch(text: string, pattern: RegExp, what: string): string {
  const matches = [...text.matchAll(pattern)];
  expect(matches, what).toHaveLength(1);
  return matches[0]![1]!;
}

describe('campaign deployments run as shipped, three shards merged = one unsharded run', () => {
  it('the Kubernetes Indexed Job: the completion index selects the shard', () => {
    const manifest = readFileSync(join(ROOT, 'deploy/k8s/fuzz-indexed-job.yaml'), 'utf8');
    expect(manifest).toMatch(/^\s+completionMode: Indexed$/m);
    const completions = oneMatch(manifest, /^\s+completions: (\d+)$/gm, 'completions');
    const shards = oneMatch(manifest, /- name: SHARDS\n\s+value: "(\d+)"/g, 'SHARDS');
    expect(shards).toBe(completions);
    expect(completions).toBe('3');
    const line = oneMatch(manifest, /^\s+- (npx mirrorsim fuzz .*)$/gm, 'the command line');
    expect(line).toContain('$JOB_COMPLETION_INDEX');
    const directory = tempDirectory('deploy-k8s');
    for (let index = 0; index < Number(completions); index++) {
      shell(line, directory, {
        SEEDS,
        START_SEED: '1',
        SHARDS: shards,
        JOBS: '2',
        RESULTS: directory,
        JOB_COMPLETION_INDEX: String(index),
      });
    }
    const files = [0, 1, 2].map((index) => join(directory, `shard-${index}.jsonl`));
    const merged = shell(`npx mirrorsim fuzz merge ${files.join(' ')}`, directory, {});
    const whole = unsharded(directory);
    expect(merged).toBe(whole.stdout);
    expect(merged).toMatch(new RegExp(`^seeds: ${SEEDS}, failures: \\d+$`, 'm'));
    expect(recordsBySeed(files)).toBe(whole.records);
  });

  it('the GitHub Actions matrix: one job per shard, then a merge job', () => {
    const workflow = readFileSync(join(ROOT, '.github/workflows/fuzz.yml'), 'utf8');
    const matrix = oneMatch(workflow, /^\s+shard: \[([\d, ]+)\]$/gm, 'the matrix');
    const shards = oneMatch(workflow, /^\s+SHARDS: (\d+)$/gm, 'SHARDS');
    expect(matrix.split(',').map((shard) => Number(shard))).toEqual([1, 2, 3]);
    expect(shards).toBe('3');
    const line = oneMatch(workflow, /^\s+run: (npx mirrorsim fuzz --.*)$/gm, 'the shard line');
    const merge = oneMatch(workflow, /^\s+run: (npx mirrorsim fuzz merge .*)$/gm, 'the merge line');
    const directory = tempDirectory('deploy-github');
    for (const shard of ['1', '2', '3']) {
      shell(line.replaceAll(MATRIX_SHARD, shard), directory, {
        SEEDS,
        START_SEED: '1',
        SHARDS: shards,
      });
    }
    const merged = shell(merge, directory, {});
    const whole = unsharded(directory);
    expect(merged).toBe(whole.stdout);
    const files = ['1', '2', '3'].map((shard) => join(directory, `shard-${shard}.jsonl`));
    expect(recordsBySeed(files)).toBe(whole.records);
  });
});
