/**
 * Fuzz campaigns on every core and beyond one machine: `--jobs N` (worker
 * threads), `--shard K/N`, `--json FILE` (one record per seed) and `fuzz
 * merge`, whose output must be the unsharded campaign's.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fc, test } from '@fast-check/vitest';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT_OK, EXIT_USAGE, EXIT_VIOLATION } from '../../cli/cli-io.js';
import { runCli } from '../../cli/main.js';
import {
  checkCampaignPlan,
  FUZZ_SEED_MAX,
  parseShard,
  shardSeed,
  shardSeedCount,
} from '../../sim/fuzz/fuzz-campaign-plan.js';
import { FuzzRecordMerger } from '../../sim/fuzz/fuzz-record-merge.js';
import {
  campaignOptionsOf,
  type FuzzSeedRecord,
  formatFuzzSeedRecord,
  parseFuzzSeedRecord,
} from '../../sim/fuzz/fuzz-seed-record.js';
import { DiskLog } from '../../src/log/disk-log.js';
import { useTempDirectories } from '../temp-directory-kit.js';
import { captureIo } from './cli-test-kit.js';

const tempDirectory = useTempDirectories();

async function cli(argv: readonly string[]) {
  const captured = captureIo(1);
  const code = await runCli(argv, captured.io);
  return { code, stdout: captured.stdout(), stderr: captured.stderr() };
}

describe('which seeds a campaign and its shards run', () => {
  test.prop([
    fc.integer({ min: -1000, max: 1000 }),
    fc.integer({ min: 1, max: 60 }),
    fc.integer({ min: 1, max: 7 }),
  ])(
    'the shards of a campaign are disjoint and together run exactly its seeds',
    (startSeed, seedsTotal, count) => {
      const all: number[] = [];
      for (let index = 1; index <= count; index++) {
        const plan = { startSeed, seedsTotal, shard: { index, count } };
        for (let position = 0; position < shardSeedCount(plan); position++) {
          all.push(shardSeed(plan, position));
        }
      }
      all.sort((left, right) => left - right);
      expect(all).toEqual(Array.from({ length: seedsTotal }, (_, offset) => startSeed + offset));
    },
  );

  it('parses K/N and refuses anything else, naming the form', () => {
    expect(parseShard('2/3')).toEqual({ index: 2, count: 3 });
    expect(parseShard('1/1')).toEqual({ index: 1, count: 1 });
    for (const text of ['0/3', '4/3', '3', '1/0', 'a/b', '1/3/5', ' 1/3', '-1/3', '1/1000000']) {
      expect(() => parseShard(text), text).toThrow(/expected K\/N with 1 ≤ K ≤ N ≤ 100000/);
    }
  });

  it('keeps seeds within fast-check’s 32 bits, where distinct seeds draw distinct scenarios', () => {
    const shard = { index: 1, count: 1 };
    expect(() =>
      checkCampaignPlan({ startSeed: FUZZ_SEED_MAX, seedsTotal: 1, shard }),
    ).not.toThrow();
    expect(() => checkCampaignPlan({ startSeed: FUZZ_SEED_MAX, seedsTotal: 2, shard })).toThrow(
      /2 seeds from 2147483647 run past seed 2147483647/,
    );
    expect(() => checkCampaignPlan({ startSeed: 2 ** 32 + 1, seedsTotal: 1, shard })).toThrow(
      /start seed 4294967297 is not a fuzz seed/,
    );
    // A time box ends at the last fuzz seed too.
    const timeBox = { startSeed: FUZZ_SEED_MAX - 10, seedsTotal: Number.POSITIVE_INFINITY };
    expect(shardSeedCount({ ...timeBox, shard: { index: 1, count: 3 } })).toBe(4);
    expect(shardSeed({ ...timeBox, shard: { index: 1, count: 3 } }, 3)).toBe(FUZZ_SEED_MAX - 1);
  });
});

const CAMPAIGN = campaignOptionsOf({ budget: 'within', logTypes: ['core'] });

function record(seed: number, failed = false): FuzzSeedRecord {
  return {
    seed,
    campaign: CAMPAIGN,
    scenario: 'log core, 2 legs',
    verdict: failed ? 'failed' : 'passed',
    violation: failed ? `liveness: seed ${seed} broke` : null,
    path: failed ? '0:1@A:A' : null,
    replay: `npx mirrorsim replay --seed=${seed} --path '@' --log core`,
  };
}

describe('seed records (docs/fuzz-records.md)', () => {
  it('print as one JSON line that reads back the same', () => {
    for (const original of [record(5), record(-7, true)]) {
      const line = formatFuzzSeedRecord(original);
      expect(line).not.toContain('\n');
      expect(line).toMatch(/^\{"record":"mirrorsim-fuzz-seed","version":1,"seed":/);
      expect(parseFuzzSeedRecord(line)).toEqual(original);
    }
  });

  it.each([
    ['{', /not JSON/],
    ['[]', /the line is not a JSON object/],
    ['{"record":"other"}', /"record" is not "mirrorsim-fuzz-seed"/],
    ['{"record":"mirrorsim-fuzz-seed","version":2}', /"version" is 2: expected 1/],
    [formatFuzzSeedRecord(record(1)).replace('"seed":1', '"seed":1.5'), /"seed" is not an integer/],
    [formatFuzzSeedRecord(record(1)).replace('"passed"', '"maybe"'), /"verdict" is not/],
    [
      formatFuzzSeedRecord(record(1)).replace('"passed"', '"failed"'),
      /a failed seed has a violation and a path/,
    ],
    [
      formatFuzzSeedRecord(record(1)).replace('"logTypes":["core"]', '"logTypes":"core"'),
      /"campaign.logTypes" is not a list of strings or null/,
    ],
    [
      formatFuzzSeedRecord(record(1)).replace('"scenario":', '"scenery":'),
      /"scenario" is not a string/,
    ],
    [`"${'x'.repeat(70_000)}"`, /a line of 70002 characters: expected a record of at most 65536/],
  ])('refuse a bad line %#, saying what is wrong', (line, message) => {
    expect(() => parseFuzzSeedRecord(line)).toThrow(message);
  });

  it('merge sums the records, lists failures by seed and counts seeds missing from the range', () => {
    const merger = new FuzzRecordMerger();
    merger.add('a', 1, formatFuzzSeedRecord(record(4)));
    merger.add('a', 2, formatFuzzSeedRecord(record(1, true)));
    merger.add('b', 1, formatFuzzSeedRecord(record(3, true)));
    merger.add('b', 2, formatFuzzSeedRecord(record(7)));
    const result = merger.result();
    expect(result.seeds).toBe(4);
    expect(result.failures.map((failure) => failure.seed)).toEqual([1, 3]);
    expect([result.seedMin, result.seedMax, result.seedsMissing]).toEqual([1, 7, 3]);
    expect(result.campaign).toEqual(CAMPAIGN);
  });

  it('merge refuses a seed twice and records of another campaign, naming both places', () => {
    const twice = new FuzzRecordMerger();
    twice.add('a', 1, formatFuzzSeedRecord(record(2)));
    twice.add('b', 9, formatFuzzSeedRecord(record(2)));
    expect(() => twice.result()).toThrow(/^b line 9: seed 2 is already in a line 1/);
    const mixed = new FuzzRecordMerger();
    mixed.add('a', 1, formatFuzzSeedRecord(record(2)));
    const other = {
      ...record(3),
      campaign: campaignOptionsOf({ budget: 'beyond', logTypes: ['core'] }),
    };
    expect(() => mixed.add('b', 4, formatFuzzSeedRecord(other))).toThrow(
      /^b line 4 is from another campaign than a line 1: its budget is "beyond", not "within"/,
    );
  });
});

describe('mirrorsim fuzz --jobs, --shard, --json and fuzz merge', () => {
  it('--jobs 2 (worker threads) prints and records exactly what --jobs 1 does, in seed order', async () => {
    const directory = tempDirectory('fuzz-jobs');
    const runs = [];
    for (const jobs of ['1', '2']) {
      const file = join(directory, `jobs-${jobs}.jsonl`);
      const args = ['fuzz', '--seeds', '6', '--start-seed', '40', '--log', 'core,disk'];
      const run = await cli([...args, '--jobs', jobs, '--json', file]);
      expect(run.code, run.stderr).toBe(EXIT_OK);
      runs.push({ ...run, records: readFileSync(file, 'utf8') });
    }
    expect(runs[1]!.stdout).toBe(runs[0]!.stdout);
    expect(runs[1]!.records).toBe(runs[0]!.records);
    expect(runs[1]!.stderr).toMatch(/fuzz: 6 seeds, 0 failures, [\d.]+ seeds\/s on 2 jobs/);
    const seeds = runs[0]!.records
      .trimEnd()
      .split('\n')
      .map((line) => parseFuzzSeedRecord(line).seed);
    expect(seeds).toEqual([40, 41, 42, 43, 44, 45]);
  });

  describe('with a bug put into the disk log for this test only', () => {
    const prototype = DiskLog.prototype as unknown as { flushHeader: () => Generator };
    const original = prototype.flushHeader;
    afterEach(() => {
      prototype.flushHeader = original;
    });

    it('three shards merged print exactly what the unsharded campaign prints, failures included', async () => {
      // flush_header no longer flushes the log device (§8(11)): some seeds fail.
      prototype.flushHeader = function* flushHeaderWithoutFlush() {
        yield* [];
        return 0;
      };
      const directory = tempDirectory('fuzz-shards');
      // Short scenarios: failing seeds shrink, and shrinking runs many of them.
      const campaign = [
        'fuzz',
        '--seeds',
        '4',
        '--log',
        'disk',
        '--max-commands',
        '12',
        '--jobs',
        '1',
      ];
      const whole = await cli([...campaign, '--json', join(directory, 'whole.jsonl')]);
      expect(whole.code).toBe(EXIT_VIOLATION);
      expect(whole.stdout).toMatch(/^seed \d+ failed: /m);
      const files = [];
      for (const shard of ['1/3', '2/3', '3/3']) {
        const file = join(directory, `shard-${shard[0]}.jsonl`);
        files.push(file);
        const part = await cli([...campaign, '--shard', shard, '--json', file]);
        expect([EXIT_OK, EXIT_VIOLATION]).toContain(part.code);
      }
      const merged = await cli(['fuzz', 'merge', ...files]);
      expect(merged.code).toBe(EXIT_VIOLATION);
      expect(merged.stdout).toBe(whole.stdout);
      expect(merged.stderr).toBe('fuzz merge: 3 files, seeds 1 to 4, none missing\n');
      // Record by record, the shards hold the unsharded campaign's records.
      const lines = (file: string) => readFileSync(file, 'utf8').trimEnd().split('\n');
      const sharded = files
        .flatMap(lines)
        .sort((left, right) => parseFuzzSeedRecord(left).seed - parseFuzzSeedRecord(right).seed);
      expect(sharded).toEqual(lines(join(directory, 'whole.jsonl')));
    });
  });

  it('bad campaign options exit 2 with one line before any seed runs', async () => {
    const directory = tempDirectory('fuzz-bad');
    writeFileSync(join(directory, 'a-file'), '');
    const cases: [string[], RegExp][] = [
      [['--shard', '0/3'], /^mirrorsim: Invalid --shard "0\/3": expected K\/N with 1 ≤ K ≤ N/],
      [['--shard', '4/3'], /Invalid --shard "4\/3"/],
      [['--jobs', '0'], /Invalid --jobs "0": expected a whole number ≥ 1/],
      [['--jobs', '999'], /Invalid --jobs "999": expected 1 to 256/],
      [
        ['--json', join(directory, 'missing', 'r.jsonl')],
        /Cannot write --json ".*r\.jsonl": the directory ".*missing" does not exist/,
      ],
      [['--json', join(directory, 'a-file', 'r.jsonl')], /is not a directory/],
      [['--start-seed', '2147483647'], /run past seed 2147483647, the last fuzz seed/],
      [['--start-seed', '-2147483649'], /is not a fuzz seed/],
      [['--fault-weight-min', '101'], /Invalid --fault-weight-min "101": expected 0 to 100/],
    ];
    for (const [extra, message] of cases) {
      const run = await cli(['fuzz', '--seeds', '2', '--log', 'core', ...extra]);
      expect(run.code, extra.join(' ')).toBe(EXIT_USAGE);
      expect(run.stderr.trimEnd().split('\n'), extra.join(' ')).toHaveLength(1);
      expect(run.stderr, extra.join(' ')).toMatch(message);
      expect(run.stdout, extra.join(' ')).toBe('');
    }
  });

  it('fuzz merge refuses files that are not records, with the file and line', async () => {
    const directory = tempDirectory('fuzz-merge');
    const good = join(directory, 'good.jsonl');
    writeFileSync(good, `${formatFuzzSeedRecord(record(1))}\n`);
    const bad = join(directory, 'bad.jsonl');
    writeFileSync(bad, `${formatFuzzSeedRecord(record(2))}\nnot json\n`);
    const cases: [string[], RegExp][] = [
      [[bad], /^mirrorsim: Invalid record: ".*bad\.jsonl" line 2: not JSON/],
      [[good, good], /seed 1 is already in ".*good\.jsonl" line 1/],
      [[join(directory, 'none.jsonl')], /Cannot read ".*none\.jsonl": ENOENT/],
      [[directory], /it is a directory; expected a record file written by fuzz --json/],
      [['/dev/zero'], /Cannot read "\/dev\/zero": it is a device/],
    ];
    for (const [files, message] of cases) {
      const run = await cli(['fuzz', 'merge', ...files]);
      expect(run.code, files.join(' ')).toBe(EXIT_USAGE);
      expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(message);
    }
    const one = await cli(['fuzz', 'merge', good]);
    expect([one.code, one.stdout]).toEqual([EXIT_OK, 'seeds: 1, failures: 0\n']);
  });
});
