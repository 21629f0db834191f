import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT_OK, EXIT_USAGE } from '../../cli/cli-io.js';
import { runCli } from '../../cli/main.js';
import { SparseStore } from '../../src/block/sparse-store.js';
import { readDiskLogImage } from '../../src/log/disk-log-format.js';
import { captureIo } from './cli-test-kit.js';

const SMALL = ['--size', '8MiB', '--region-size', '256', '--ops', '400'];

/** SMALL, less what a --table gives (giving both is refused). */
function small(args: readonly string[]): string[] {
  return args.includes('--table') ? ['--ops', '400'] : SMALL;
}
const scratch = mkdtempSync(join(tmpdir(), 'mirrorsim-run-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function runJson(args: readonly string[]): Promise<Record<string, unknown>> {
  const captured = captureIo(0);
  const code = await runCli(['run', ...small(args), ...args, '--json'], captured.io);
  expect(captured.stderr()).toBe('');
  expect(code).toBe(EXIT_OK);
  return JSON.parse(captured.stdout()) as Record<string, unknown>;
}

describe('mirrorsim run', () => {
  it('prints every --json field of CLI.md, and the oracle passes after a crash', async () => {
    const result = await runJson(['--seed', '3']);
    for (const field of [
      'seed',
      'table',
      'logType',
      'regions',
      'ops',
      'writesAcknowledged',
      'crashed',
      'crashEvent',
      'regionsResynced',
      'bytesResynced',
      'recoveryTicks',
      'legsIdentical',
      'oracle',
      'expected',
      'violations',
      'statusInfo',
      'statusTable',
      'traceHash',
    ]) {
      expect(result, `field ${field}`).toHaveProperty(field);
    }
    expect(result.table).toBe('0 16384 mirror disk 2 log0 256 2 leg0 0 leg1 0');
    expect(result.regions).toBe(64);
    expect(result.crashed).toBe(true);
    expect(result.oracle).toBe('ok');
    expect(result.legsIdentical).toBe(true);
    expect(result.expected).toBeNull();
    expect(result.statusInfo).toBe('2 leg0 leg1 64/64 1 AA 3 disk log0 A');
    expect(result.statusTable).toBe('disk 2 log0 256 2 leg0 0 leg1 0');
    expect(result.traceHash).toMatch(/^[0-9a-f]{16}$/);
  });

  it('gives the same trace hash for the same arguments, and replays a crash with --crash at:EVENT', async () => {
    const first = await runJson(['--seed', '5']);
    const second = await runJson(['--seed', '5']);
    expect(second.traceHash).toBe(first.traceHash);
    const replayed = await runJson(['--seed', '5', '--crash', `at:${first.crashEvent}`]);
    expect(replayed.crashEvent).toBe(first.crashEvent);
    expect(replayed.regionsResynced).toBe(first.regionsResynced);
    expect(replayed.traceHash).toBe(first.traceHash);
    const other = await runJson(['--seed', '6']);
    expect(other.traceHash).not.toBe(first.traceHash);
  });

  it('§5.5 core resyncs every region after a crash, disk only what was dirty', async () => {
    const core = await runJson(['--log', 'core', '--seed', '2']);
    const disk = await runJson(['--log', 'disk', '--seed', '2']);
    expect(core.regionsResynced).toBe(64);
    expect(disk.regionsResynced).toBeLessThan(32);
    expect(disk.regionsResynced).toBeGreaterThan(0);
  });

  it('the replay line carries every option that shapes the run, and replays it event for event', async () => {
    const options = [
      ['--seed', '0x2a'],
      ['--log', 'core'],
      ['--legs', '3'],
      ['--workload', 'zipf:0.8'],
      ['--depth', '3'],
      ['--block-size', '8KiB'],
      ['--fsync', '7'],
      ['--crash-state', 'torn'],
      ['--no-write-cache'],
    ];
    const first = await runJson(['--ops', '300', ...options.flat()]);
    const replay = first.replay as string;
    expect(replay).toBe(
      `npx mirrorsim run --seed 42 --table '0 16384 mirror core 1 256 3 leg0 0 leg1 0 leg2 0' --workload zipf:0.8 --ops 300 --depth 3 --block-size 8192 --fsync 7 --crash at:${first.crashEvent} --crash-state torn --no-write-cache`,
    );
    const words = [...replay.matchAll(/'([^']*)'|(\S+)/g)].map((match) => match[1] ?? match[2]!);
    const captured = captureIo(0);
    expect(await runCli([...words.slice(2), '--json'], captured.io)).toBe(EXIT_OK);
    const again = JSON.parse(captured.stdout()) as Record<string, unknown>;
    expect(again.traceHash).toBe(first.traceHash);
    expect(again.replay).toBe(replay);
  });

  it('runs a 3-leg table with features, every workload, and --crash never', async () => {
    const table = '0 16384 mirror disk 3 log0 256 sync 3 a 0 b 0 c 0 1 handle_errors';
    const result = await runJson(['--table', table, '--workload', 'mixed', '--crash', 'never']);
    expect(result.crashed).toBe(false);
    expect(result.statusTable).toBe('disk 3 log0 256 sync 3 a 0 b 0 c 0 1 handle_errors');
    for (const workload of [
      'seqwrite',
      'zipf',
      'zipf:0.9',
      'fio:bench/traces/fio-randwrite-v3.iolog',
    ]) {
      expect((await runJson(['--workload', workload, '--ops', '200'])).oracle).toBe('ok');
    }
  });

  it('reports a nosync crash as an expected divergence, not a failure (§5.5)', async () => {
    const table = '0 16384 mirror disk 3 log0 256 nosync 2 leg0 0 leg1 0';
    const result = await runJson(['--table', table, '--seed', '4']);
    expect(result.oracle).toBe('ok');
    expect(result.regionsResynced).toBe(0);
    expect(result.legsIdentical).toBe(false);
    expect(result.expected).toMatch(/^§2\.5 §5\.5: a nosync table/);
    expect(result.violations).toEqual(['legs differ after recovery']);
  });

  it('userspace §2.2: a userspace log over cached legs may persist a clean bit before the data; named, not failed', async () => {
    const cached = await runJson(['--log', 'userspace', '--seed', '2']);
    expect(cached.oracle).toBe('ok');
    expect(cached.legsIdentical).toBe(false);
    expect(cached.expected).toMatch(/never calls the mirror’s leg flush/);
    // Without leg caches nothing is explained away: the run passes outright.
    const uncached = await runJson(['--log', 'userspace', '--seed', '2', '--no-write-cache']);
    expect(uncached.legsIdentical).toBe(true);
    expect(uncached.expected).toBeNull();
    expect(uncached.violations).toEqual([]);
    // The same crash on the disk log, whose flush calls the mirror's leg flush first (§2.4), is clean.
    const disk = await runJson(['--log', 'disk', '--seed', '2']);
    expect(disk.legsIdentical).toBe(true);
    expect(disk.expected).toBeNull();
  });

  it('prints the summary for a person by default', async () => {
    const captured = captureIo(0);
    expect(await runCli(['run', ...SMALL, '--seed', '3'], captured.io)).toBe(EXIT_OK);
    const text = captured.stdout();
    for (const line of [
      'table:',
      'status before:',
      'dirty at crash:',
      'resynced:',
      'status after:',
      'region map',
      'verification:     passed',
    ]) {
      expect(text).toContain(line);
    }
  });

  it('--dump writes sparse images at the crash and after recovery, the log bitmap flushed', async () => {
    const directory = join(scratch, 'dump');
    await runJson(['--seed', '3', '--dump', directory]);
    for (const phase of ['crash', 'recovered']) {
      for (const device of ['leg0', 'leg1', 'log0']) {
        expect(existsSync(join(directory, phase, `${device}.img`)), `${phase}/${device}`).toBe(
          true,
        );
      }
    }
    expect(statSync(join(directory, 'recovered', 'leg0.img')).size).toBe(8 * 2 ** 20);
    // After recovery and a clean suspend every region is clean on disk.
    const bytes = readFileSync(join(directory, 'recovered', 'log0.img'));
    const store = new SparseStore(bytes.length / 512);
    store.write(0, new Uint8Array(bytes));
    const image = readDiskLogImage(store, 64);
    expect(image.valid).toBe(true);
    for (let region = 0; region < 64; region++) expect(image.cleanOnResume(region)).toBe(true);
    const legs = ['leg0', 'leg1'].map((leg) =>
      readFileSync(join(directory, 'recovered', `${leg}.img`)),
    );
    expect(legs[0]!.equals(legs[1]!)).toBe(true);
  });

  it.each([
    [['--size', '7x'], /Invalid --size "7x": expected a number with an optional unit/],
    [['--ops', 'many'], /Invalid --ops "many": expected a whole number/],
    [['--crash', 'sometimes'], /Invalid --crash "sometimes": expected never, random, or at:EVENT/],
    [
      ['--crash-state', 'bogus'],
      /argument 'bogus' is invalid\. Allowed choices are none, all, random, prefix, torn/,
    ],
    [['--seed', '-1'], /Invalid --seed/],
    [['--workload', 'bursty'], /bursty/],
    [['--workload', 'fio:/nonexistent/trace.iolog'], /\/nonexistent\/trace\.iolog/],
    [['--log', 'nonexistent'], /Log type "nonexistent" cannot be built/],
    [['--bogus'], /unknown option '--bogus'/],
    [
      ['--table', '0 100 mirror core 1 1000 2 a 0 b 0'],
      /region size "1000": expected a power of two/,
    ],
    [
      ['--table', '0 16384 mirror core 1 256 10 a 0 b 0'],
      /Invalid number of mirrors "10": expected 2 to 9/,
    ],
    [
      ['--table', '0 16384 mirror core 1 256 2 a 0 b 0 1 keep_log'],
      /keep_log feature requires the handle_errors feature/,
    ],
    [['--table', '0 16384 mirror core 2 256 block_on_error 2 a 0 b 0'], /block_on_error/],
    [['--table', '0 16384 striped 2 a 0 b 0'], /Unknown target type "striped": expected mirror/],
    [['--table', '5 16384 mirror core 1 256 2 a 0 b 0'], /start sector 5: expected 0/],
  ])('bad input %j exits 2 with one line that names it, no stack trace', async (args, message) => {
    const captured = captureIo(0);
    expect(await runCli(['run', ...small(args), ...args], captured.io)).toBe(EXIT_USAGE);
    const lines = captured.stderr().trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    expect(lines[0]).not.toMatch(/\bat \S+:\d+:\d+/);
    expect(captured.stdout()).toBe('');
  });

  it('a malformed fio trace names FILE:LINE and exits 2', async () => {
    const trace = join(scratch, 'bad.iolog');
    writeFileSync(
      trace,
      'fio version 3 iolog\n0 /tmp/f add\n0 /tmp/f open\n5 /tmp/f write banana 4096\n',
    );
    const captured = captureIo(0);
    expect(await runCli(['run', ...SMALL, '--workload', `fio:${trace}`], captured.io)).toBe(
      EXIT_USAGE,
    );
    expect(captured.stderr()).toMatch(new RegExp(`${trace}:4`));
  });
});

describe('the installed bin', () => {
  it('npx mirrorsim --help lists every subcommand of CLI.md, and bad usage exits 2', () => {
    if (!existsSync('dist/cli/main.js')) execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json']);
    const help = execFileSync('npx', ['mirrorsim', '--help'], { encoding: 'utf8' });
    for (const command of ['run', 'fuzz', 'replay', 'bench', 'log-daemon'])
      expect(help).toMatch(new RegExp(`\\b${command}\\b`));
    const bad = spawnSync('npx', ['mirrorsim', 'run', '--size', '7x'], { encoding: 'utf8' });
    expect(bad.status).toBe(EXIT_USAGE);
    expect(bad.stderr).toMatch(/mirrorsim: Invalid --size "7x"/);
  });
});
