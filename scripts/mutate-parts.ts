/**
 * Runs Stryker over src/log and src/mirror part by part, then prints the
 * mutation score of every file, every part and the whole.
 *
 * A single `npm run mutate` tests about 4,900 mutants and takes hours on two
 * cores, and Stryker writes nothing until it ends. Part by part, each part
 * keeps its own incremental file and JSON report under reports/stryker/, so
 * an interrupted campaign loses one part at most, a part whose code and
 * tests did not change is reused almost for free, and the score of the
 * parts done so far is known at any time.
 *
 *   npx tsx scripts/mutate-parts.ts                 # every part, then the table
 *   npx tsx scripts/mutate-parts.ts mirror log      # only these parts
 *   npx tsx scripts/mutate-parts.ts --score         # only the table, from the reports on disk
 *
 * The score is Stryker's: (killed + timed out) / (killed + timed out +
 * survived + no coverage). Compile errors and ignored mutants do not count.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const REPORT_DIR = join('reports', 'stryker');
const USERSPACE = 'src/log/userspace';

/**
 * The vitest configuration the userspace parts test with: that folder's own
 * suites only (see the file for why the score is then a lower bound).
 */
const USERSPACE_TESTS = 'vitest.stryker-userspace.config.ts';

/** The parts, in the order they run: each a list of Stryker `mutate` globs. */
const PARTS: Readonly<Record<string, readonly string[]>> = {
  mirror: ['src/mirror/**/*.ts'],
  log: ['src/log/*.ts', 'src/log/_internals/**/*.ts'],
  'userspace-protocol': [
    `${USERSPACE}/ulog-request.ts`,
    `${USERSPACE}/ulog-request-type.ts`,
    `${USERSPACE}/ulog-direction.ts`,
    `${USERSPACE}/ulog-binary-payloads.ts`,
    `${USERSPACE}/ulog-text-payloads.ts`,
    `${USERSPACE}/ulog-payload-rules.ts`,
    `${USERSPACE}/ulog-stream-decoder.ts`,
    `${USERSPACE}/ulog-reply.ts`,
    `${USERSPACE}/ulog-protocol-error.ts`,
    `${USERSPACE}/ulog-constants.ts`,
    `${USERSPACE}/index.ts`,
    `${USERSPACE}/_internals/wire.ts`,
    `${USERSPACE}/_internals/record-checks.ts`,
  ],
  'userspace-kernel': [
    `${USERSPACE}/userspace-log.ts`,
    `${USERSPACE}/userspace-log-type.ts`,
    `${USERSPACE}/ulog-transfer.ts`,
    `${USERSPACE}/ulog-constructor.ts`,
    `${USERSPACE}/_internals/kernel-messages.ts`,
  ],
  'userspace-daemon': [
    `${USERSPACE}/ulog-daemon.ts`,
    `${USERSPACE}/ulog-channel.ts`,
    `${USERSPACE}/_internals/daemon-log.ts`,
    `${USERSPACE}/_internals/delayed-work.ts`,
  ],
};

/** Mutant counts by Stryker status. */
type Tally = Record<string, number>;

interface StrykerReport {
  readonly files: Record<string, { readonly mutants: ReadonlyArray<{ readonly status: string }> }>;
}

function main(argv: readonly string[]): number {
  const scoreOnly = argv.includes('--score');
  const named = argv.filter((argument) => !argument.startsWith('--'));
  for (const name of named) {
    if (PARTS[name] === undefined) {
      console.error(`Unknown part "${name}": expected one of ${Object.keys(PARTS).join(', ')}`);
      return 2;
    }
  }
  const parts = named.length > 0 ? named : Object.keys(PARTS);
  if (!scoreOnly) {
    mkdirSync(REPORT_DIR, { recursive: true });
    for (const name of parts) {
      const code = runPart(name, PARTS[name]!);
      if (code !== 0) {
        console.error(`Stryker failed on part "${name}" (exit ${code})`);
        return 1;
      }
    }
  }
  printScores(Object.keys(PARTS));
  return 0;
}

/** Runs Stryker on one part with its own configuration, incremental file and report. */
function runPart(name: string, mutate: readonly string[]): number {
  const base = JSON.parse(readFileSync('stryker.config.json', 'utf8')) as Record<string, unknown>;
  const userspace = mutate.every((pattern) => pattern.startsWith(USERSPACE));
  const config = {
    ...base,
    ...(userspace
      ? {
          vitest: { ...(base.vitest as object), configFile: USERSPACE_TESTS },
          // A mutated stream decoder often loops: a short timeout keeps each such mutant cheap.
          timeoutMS: 5000,
        }
      : {}),
    mutate,
    incrementalFile: join(REPORT_DIR, `${name}.incremental.json`),
    reporters: ['clear-text', 'progress', 'json'],
    jsonReporter: { fileName: join(REPORT_DIR, `${name}.json`) },
  };
  delete (config as Record<string, unknown>).$schema;
  delete (config as Record<string, unknown>).htmlReporter;
  const configFile = join(REPORT_DIR, `${name}.config.json`);
  writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);
  console.log(`mutate-parts: part ${name} (${mutate.length} patterns)`);
  const result = spawnSync('npx', ['stryker', 'run', configFile], {
    stdio: 'inherit',
    env: { ...process.env, FC_SEED: process.env.FC_SEED ?? '20261121' },
  });
  return result.status ?? 1;
}

/** Prints the score of every file, every part with a report, and the whole. */
function printScores(parts: readonly string[]): void {
  const total: Tally = {};
  const rows: string[] = [];
  for (const name of parts) {
    const file = join(REPORT_DIR, `${name}.json`);
    if (!existsSync(file)) {
      rows.push(`${name.padEnd(44)}  (no report yet)`);
      continue;
    }
    const report = JSON.parse(readFileSync(file, 'utf8')) as StrykerReport;
    const partTally: Tally = {};
    for (const [path, { mutants }] of Object.entries(report.files)) {
      const fileTally: Tally = {};
      for (const mutant of mutants) {
        for (const tally of [fileTally, partTally, total]) {
          tally[mutant.status] = (tally[mutant.status] ?? 0) + 1;
        }
      }
      rows.push(`  ${path.padEnd(42)}  ${formatTally(fileTally)}`);
    }
    rows.push(`${`part ${name}`.padEnd(44)}  ${formatTally(partTally)}`);
  }
  rows.push(`${'all parts'.padEnd(44)}  ${formatTally(total)}`);
  console.log(rows.join('\n'));
}

function formatTally(tally: Tally): string {
  const detected = (tally.Killed ?? 0) + (tally.Timeout ?? 0);
  const undetected = (tally.Survived ?? 0) + (tally.NoCoverage ?? 0);
  const valid = detected + undetected;
  const score = valid === 0 ? 'n/a' : `${((100 * detected) / valid).toFixed(2)} %`;
  return `${score.padStart(8)}  killed or timed out ${detected}, survived ${tally.Survived ?? 0}, no coverage ${tally.NoCoverage ?? 0}, ignored ${tally.Ignored ?? 0}`;
}

process.exitCode = main(process.argv.slice(2));
