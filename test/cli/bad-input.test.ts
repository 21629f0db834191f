/**
 * Bad input gets one clear line on stderr and exit 2, before any long work
 * starts: the value quoted (cut, with newlines and control characters
 * escaped), the expectation stated, no stack trace, nothing on stdout.
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT_OK, EXIT_USAGE } from '../../cli/cli-io.js';
import { runCli } from '../../cli/main.js';
import { oneLine, quotePath, quoteValue } from '../../cli/quote-value.js';
import { useTempDirectories } from '../temp-directory-kit.js';
import { captureIo } from './cli-test-kit.js';

const SMALL = ['--size', '8MiB', '--region-size', '256', '--ops', '400'];
const tempDirectory = useTempDirectories();

/** A directory nobody may create files in, even root: sysfs refuses new entries. */
function unwritableDirectory(): string {
  return process.getuid?.() === 0 ? '/sys' : '/proc';
}

async function expectBadInput(argv: readonly string[], message: RegExp): Promise<string> {
  const captured = captureIo(0);
  const code = await runCli(argv, captured.io);
  const stderr = captured.stderr();
  expect(code, `${argv.join(' ')}: ${stderr}`).toBe(EXIT_USAGE);
  expect(stderr.endsWith('\n')).toBe(true);
  const lines = stderr.slice(0, -1).split('\n');
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^mirrorsim: /);
  expect(lines[0]).toMatch(message);
  expect(lines[0]).not.toMatch(/\bat \S+:\d+:\d+/);
  // Nothing ran: no summary, no JSON.
  expect(captured.stdout()).toBe('');
  return lines[0]!;
}

describe('values in messages', () => {
  it('are quoted with newlines, quotes and control characters escaped, and cut when long', () => {
    expect(quoteValue('a\nb\t"c"\\')).toBe('"a\\nb\\t\\"c\\"\\\\"');
    expect(quoteValue('\u001b[31mred\u0007\u009b\u2028')).toBe('"\\x1b[31mred\\x07\\x9b\\u2028"');
    expect(quoteValue('x'.repeat(61))).toBe(`"${'x'.repeat(60)}…" (61 characters)`);
    expect(quoteValue('é'.repeat(60))).toBe(`"${'é'.repeat(60)}"`);
  });

  it('a message from elsewhere is made one line, each quoted value cut, the rest kept', () => {
    const line = oneLine(`Invalid table "${'y'.repeat(1000)}\n": expected a mirror`);
    expect(line).toBe(`Invalid table "${'y'.repeat(240)}…": expected a mirror`);
    // A path keeps 240 characters: it is what the user must see to fix it.
    expect(quotePath(`/${'d'.repeat(200)}`)).toBe(`"/${'d'.repeat(200)}"`);
    expect(oneLine('a\r\nb')).toBe('a\\r\\nb');
  });
});

describe('mirrorsim run: bad input', () => {
  it.each([
    [['--seed', 'abc'], /Invalid --seed: Seed "abc" is not valid: expected a decimal integer/],
    [['--seed', '18446744073709551617'], /Invalid --seed: Seed "18446744073709551617"/],
    [['--legs', '0'], /Invalid --legs "0": expected a whole number from 2 to 9/],
    [['--legs', '10'], /Invalid --legs "10": expected a whole number from 2 to 9/],
    [['--depth', '0'], /Invalid --depth "0": expected a whole number from 1 to 4096/],
    [['--ops', '1e3'], /Invalid --ops "1e3": expected a whole number ≥ 1/],
    [['--size', '1\n2'], /^mirrorsim: Invalid --size "1\\n2": expected a number/],
    [['--ops', '\u001b[2J'], /Invalid --ops "\\x1b\[2J": expected a whole number/],
    [['--size', '9'.repeat(5000)], /Invalid --size "9{60}…" \(5000 characters\): expected/],
    [['--crash', `at:${'1'.repeat(80)}`], /Invalid --crash "at:1{57}…" \(83 characters\)/],
    [
      ['--workload', 'fio:/dev/zero'],
      /Cannot read fio iolog "\/dev\/zero": it is not a regular file/,
    ],
    [['--workload', 'fio:/'], /Cannot read fio iolog "\/": it is a directory/],
    [
      ['--log-daemon', `/tmp/${'s'.repeat(120)}.sock`, '--log', 'userspace'],
      /a Unix socket path holds at most 107 \(sun_path\)/,
    ],
    [['--log-daemon-timeout', '0'], /Invalid --log-daemon-timeout "0"/],
  ])('%j exits 2 with one line', async (args, message) => {
    await expectBadInput(['run', ...SMALL, ...args], message);
  });

  it('--table with --log, --legs, --region-size or --size is refused: one of them would be ignored', async () => {
    await expectBadInput(
      ['run', '--table', '0 16384 mirror core 1 256 2 a 0 b 0', '--log', 'disk'],
      /^mirrorsim: --table gives the whole stack, so --log would be ignored: give --table alone, or drop it$/,
    );
    await expectBadInput(
      ['run', '--table', 'x', '--legs', '3', '--size', '1GiB'],
      /so --legs and --size would be ignored/,
    );
    // Defaults are not "given": --table alone is fine.
    const captured = captureIo(0);
    const table = '0 16384 mirror core 1 256 2 a 0 b 0';
    expect(await runCli(['run', '--table', table, '--ops', '50', '--json'], captured.io)).toBe(
      EXIT_OK,
    );
  });

  it('--crash at:EVENT before the workload or after it is refused, not moved (it once moved to event 903)', async () => {
    await expectBadInput(
      ['run', ...SMALL, '--crash', 'at:0'],
      /Invalid --crash: crash event 0 comes before the workload, which starts at event \d+ \(the initial sync runs the events before it\): expected an event from \d+/,
    );
    await expectBadInput(
      ['run', ...SMALL, '--crash', 'at:99999999'],
      /Invalid --crash: crash event 99999999 comes after the workload, which ended at event \d+/,
    );
  });

  it('--dump where nothing can be written fails before the run (a path under /proc once hung)', async () => {
    const directory = tempDirectory('run-dump');
    writeFileSync(join(directory, 'file'), '');
    await expectBadInput(
      ['run', ...SMALL, '--dump', '/proc/mirrorsim-dump'],
      /Cannot write --dump "\/proc\/mirrorsim-dump\/crash": no such file or directory/,
    );
    await expectBadInput(
      ['run', ...SMALL, '--dump', join(directory, 'file', 'images')],
      /Cannot write --dump ".*\/file\/images\/crash": ".*\/file" is not a directory/,
    );
    await expectBadInput(
      ['run', ...SMALL, '--dump', join(unwritableDirectory(), 'mirrorsim-dump')],
      /Cannot write --dump ".*mirrorsim-dump\/crash": (operation not permitted|permission denied|no such file)/,
    );
    // A new nested directory is created, level by level.
    const nested = join(directory, 'a', 'b');
    const captured = captureIo(0);
    expect(await runCli(['run', ...SMALL, '--dump', nested, '--json'], captured.io)).toBe(EXIT_OK);
    expect(readdirSync(join(nested, 'recovered')).sort()).toEqual([
      'leg0.img',
      'leg1.img',
      'log0.img',
    ]);
  });
});

describe('mirrorsim replay --path: malformed paths are refused, not run, hung on or crashed on', () => {
  it.each([
    ['no-at-sign', /no "@"/],
    ['@AAAA', /a replay path needs a fast-check path before the "@"/],
    ['99999999999999999999:0@AAAA', /an index is over 100000/],
    ['0:100001@', /an index is over 100000/],
    ['xyz@!!', /the fast-check path is not numbers separated by ":"/],
    ['1:2:3@', /the fast-check path of a fuzz seed starts with 0 \(one run\)/],
    ['0:1@AAAA', /the replay path is not <counts>:<changes> in base64 digits/],
    ['0:1@AAAAAAA:A', /has 7 counts and 1 change digits, not one per six counts/],
    ['0:99999@', /it leads to no scenario of seed 1 with these options/],
    [
      '0:1:3@AB:A',
      /it does not lead to a counterexample of seed 1 with these options \(Too short replayPath\)/,
    ],
    ['0\n@', /Invalid --path "0\\n@"/],
  ])('%j', async (path, message) => {
    await expectBadInput(['replay', '--seed', '1', '--log', 'core', '--path', path], message);
  });

  it('the default path, @, runs the seed’s own scenario', async () => {
    const captured = captureIo(0);
    expect(
      await runCli(['replay', '--seed', '1', '--log', 'core', '--path', '@'], captured.io),
    ).toBe(EXIT_OK);
  });
});

describe('mirrorsim bench: outputs that cannot be written fail before the benchmark', () => {
  it.each([
    [
      ['--json', '/nonexistent-dir/figures.json'],
      /Cannot write --json "\/nonexistent-dir\/figures\.json": the directory "\/nonexistent-dir" does not exist/,
    ],
    [['--json', '/'], /Cannot write --json "\/": it is a directory/],
    [
      ['--plot', '/proc/mirrorsim-charts'],
      /Cannot write --plot "\/proc\/mirrorsim-charts": no such file or directory/,
    ],
    [
      ['--json', join(unwritableDirectory(), 'figures.json')],
      /Cannot write --json ".*figures\.json": (operation not permitted|permission denied|no such file)/,
    ],
  ])('%j', async (args, message) => {
    await expectBadInput(['bench', '--quick', ...args], message);
  });
});

describe('mirrorsim log-daemon: a socket or state directory that cannot work fails at once', () => {
  it('a missing directory is named (it once reported EACCES)', async () => {
    await expectBadInput(
      ['log-daemon', '--socket', '/nonexistent-dir/ulogd.sock'],
      /Invalid --socket "\/nonexistent-dir\/ulogd\.sock": the directory "\/nonexistent-dir" does not exist/,
    );
  });

  it('a path over 107 bytes is refused before any socket file exists (it once crashed and left a cut one)', async () => {
    const directory = tempDirectory('daemon-long');
    const path = join(directory, `${'s'.repeat(120)}.sock`);
    await expectBadInput(
      ['log-daemon', '--socket', path],
      /its absolute path is \d+ bytes, and a Unix socket path holds at most 107 \(sun_path\)/,
    );
    expect(readdirSync(directory)).toEqual([]);
  });

  it('a state directory that cannot take files is refused (it once gave a stack trace)', async () => {
    const directory = tempDirectory('daemon-state');
    writeFileSync(join(directory, 'file'), '');
    const socket = join(directory, 'ulogd.sock');
    await expectBadInput(
      ['log-daemon', '--socket', socket, '--state-dir', join(unwritableDirectory(), 'state')],
      /Cannot write --state-dir ".*state": (operation not permitted|permission denied|no such file)/,
    );
    await expectBadInput(
      ['log-daemon', '--socket', socket, '--state-dir', join(directory, 'file', 'state')],
      /Cannot write --state-dir ".*file\/state": ".*file" is not a directory/,
    );
    expect(existsSync(socket)).toBe(false);
  });
});
