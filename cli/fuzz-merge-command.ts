/**
 * `mirrorsim fuzz merge FILE…`: reads the `--json` records of a campaign's
 * shards, checks every line, refuses records of different campaigns and
 * seeds given twice, and prints what the unsharded campaign prints — each
 * failure in seed order with its replay line, then `seeds: N, failures:
 * F` — with exit 1 when F > 0, 2 for a bad file. How much of the seed
 * range the files cover goes to stderr.
 */
import { createReadStream, statSync } from 'node:fs';
import type { Command } from 'commander';
import { FuzzRecordMerger } from '../sim/fuzz/fuzz-record-merge.js';
import { FUZZ_SEED_RECORD_BYTES_MAX } from '../sim/fuzz/fuzz-seed-record.js';
import { type CliIo, EXIT_OK, EXIT_VIOLATION, UsageError } from './cli-io.js';
import { formatFailure } from './fuzz-failure-text.js';
import { quotePath } from './quote-value.js';

/** Adds `merge` under `mirrorsim fuzz`. */
export function registerFuzzMergeCommand(
  fuzz: Command,
  io: CliIo,
  setExitCode: (code: number) => void,
): void {
  fuzz
    .command('merge')
    .description(
      'sum the --json records of a campaign’s shards and list the failures, as the unsharded campaign would',
    )
    .argument('<files...>', 'record files written by fuzz --json (JSON lines)')
    .action(async (files: string[]) => {
      setExitCode(await executeMerge(files, io));
    });
}

async function executeMerge(files: readonly string[], io: CliIo): Promise<number> {
  const merger = new FuzzRecordMerger();
  for (const file of files) await readRecords(file, merger);
  let result: ReturnType<FuzzRecordMerger['result']>;
  try {
    result = merger.result();
  } catch (error) {
    throw new UsageError(`Cannot merge: ${(error as Error).message}`);
  }
  for (const failure of result.failures) {
    io.stdout(formatFailure(failure.seed, failure.violation ?? '', failure.replay));
  }
  const range =
    result.seedMin === null
      ? 'no seeds'
      : `seeds ${result.seedMin} to ${result.seedMax}, ${result.seedsMissing === 0 ? 'none missing' : `${result.seedsMissing} missing`}`;
  io.stderr(`fuzz merge: ${files.length} files, ${range}\n`);
  io.stdout(`seeds: ${result.seeds}, failures: ${result.failures.length}\n`);
  return result.failures.length > 0 ? EXIT_VIOLATION : EXIT_OK;
}

/** Feeds every line of `file` to the merger; UsageError for an unreadable file or a bad line. */
async function readRecords(file: string, merger: FuzzRecordMerger): Promise<void> {
  let kind: string | null = null;
  try {
    const stats = statSync(file);
    if (!stats.isFile() && !stats.isFIFO()) kind = stats.isDirectory() ? 'a directory' : 'a device';
  } catch (error) {
    throw new UsageError(
      `Cannot read ${quotePath(file)}: ${(error as NodeJS.ErrnoException).code ?? 'error'}; expected a record file written by fuzz --json`,
    );
  }
  if (kind !== null) {
    throw new UsageError(
      `Cannot read ${quotePath(file)}: it is ${kind}; expected a record file written by fuzz --json`,
    );
  }
  const source = quotePath(file);
  let partial = '';
  let line = 0;
  const take = (text: string) => {
    line++;
    try {
      merger.add(source, line, text);
    } catch (error) {
      throw new UsageError(`Invalid record: ${(error as Error).message}`);
    }
  };
  for await (const chunk of createReadStream(file, { encoding: 'utf8' })) {
    const pieces = (partial + (chunk as string)).split('\n');
    partial = pieces.pop()!;
    for (const piece of pieces) take(piece);
    if (partial.length > FUZZ_SEED_RECORD_BYTES_MAX) {
      throw new UsageError(
        `Invalid record: ${source} line ${line + 1}: longer than ${FUZZ_SEED_RECORD_BYTES_MAX} characters; expected one fuzz seed record per line`,
      );
    }
  }
  if (partial !== '') take(partial);
}
