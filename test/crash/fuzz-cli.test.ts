/**
 * `mirrorsim fuzz` and `mirrorsim replay` (CLI.md): the campaign's output
 * contract (progress on stderr, one replay line per failure, the last
 * stdout line `seeds: N, failures: F`, exit codes), and a failure found,
 * shrunk and replayed end to end. The failure comes from a bug put into
 * the mirror for the length of one test only, by patching a method in this
 * test's own process (nothing under src/ changes).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../cli/main.js';
import { CoreLog } from '../../src/log/core-log.js';
import { DiskLog } from '../../src/log/disk-log.js';
import { captureIo } from '../cli/cli-test-kit.js';

function lastLine(text: string): string {
  return text.trimEnd().split('\n').at(-1) ?? '';
}

describe('mirrorsim fuzz', () => {
  it('runs N seeds, prints progress on stderr, ends with "seeds: N, failures: 0", exits 0', async () => {
    const captured = captureIo(400);
    const code = await runCli(['fuzz', '--seeds', '6', '--log', 'core,disk'], captured.io);
    expect(code).toBe(0);
    expect(lastLine(captured.stdout())).toBe('seeds: 6, failures: 0');
    expect(captured.stderr()).toMatch(/fuzz: \d+ seeds, 0 failures, [\d.]+ seeds\/s/);
  });

  it('--seconds is a time box on the wall clock; --start-seed picks the first seed', async () => {
    const captured = captureIo(1000);
    const code = await runCli(
      ['fuzz', '--seconds', '3', '--start-seed', '100', '--log', 'core', '--budget', 'beyond'],
      captured.io,
    );
    expect(code).toBe(0);
    expect(lastLine(captured.stdout())).toMatch(/^seeds: [12], failures: 0$/);
  });

  it('bad usage exits 2 with one line on stderr', async () => {
    for (const argv of [
      ['fuzz'],
      ['fuzz', '--seeds', '2', '--seconds', '2'],
      ['fuzz', '--seeds', '2', '--log', 'nonsense'],
      ['fuzz', '--seeds', '2', '--budget', 'sideways'],
      ['fuzz', '--seeds', '2', '--legs', '12'],
      ['replay'],
      ['replay', '--seed', '3', '--path', 'no-at-sign'],
    ]) {
      const captured = captureIo(1);
      expect(await runCli(argv, captured.io), argv.join(' ')).toBe(2);
      expect(captured.stderr().trim().split('\n'), argv.join(' ')).toHaveLength(1);
    }
  });
});

describe('mirrorsim replay', () => {
  it('without a path it re-runs the seed’s scenario verbosely and exits 0 when it passes', async () => {
    const captured = captureIo(1);
    const code = await runCli(
      ['replay', '--seed', '7', '--log', 'disk', '--trace', '20'],
      captured.io,
    );
    expect(code).toBe(0);
    const out = captured.stdout();
    expect(out).toMatch(/^configuration: log disk/m);
    expect(out).toMatch(/^commands as run:/m);
    expect(out).toMatch(/last \d+ trace records:/);
    expect(out).toMatch(/^passed: /m);
  });
});

describe('a failure found, shrunk and replayed from one line', () => {
  const prototype = DiskLog.prototype as unknown as { flushHeader: () => Generator };
  const original = prototype.flushHeader;
  afterEach(() => {
    prototype.flushHeader = original;
  });

  it('§8(11) with the log-device PREFLUSH after dirtied bits removed, fuzz fails, prints the replay line, and replay shows the violated invariant and the trace', async () => {
    // The bug, for this test only: flush_header no longer flushes the log device.
    prototype.flushHeader = function* flushHeaderWithoutFlush() {
      yield* [];
      return 0;
    };
    const fuzz = captureIo(1);
    // One job: the bug is patched into this thread only, not into worker threads.
    const code = await runCli(['fuzz', '--seeds', '3', '--log', 'disk', '--jobs', '1'], fuzz.io);
    expect(code).toBe(1);
    expect(lastLine(fuzz.stdout())).toMatch(/^seeds: 3, failures: [123]$/);
    expect(fuzz.stdout()).toMatch(/^seed \d+ failed: write-ahead-marking: /m);
    const replayLine = /npx mirrorsim replay (.*)$/m.exec(fuzz.stdout())?.[1] ?? '';
    expect(replayLine).toMatch(/--seed=\d+ --path '[^']*@[^']*' --log disk/);
    const replay = captureIo(1);
    expect(await runCli(['replay', ...splitArguments(replayLine)], replay.io)).toBe(1);
    const out = replay.stdout();
    expect(out).toMatch(/^violated: write-ahead-marking: /m);
    expect(out).toMatch(/last \d+ trace records before the failure:/);
    expect(out).toMatch(/^commands as run:/m);
  });
});

describe('a failure while the mirror is built (before any command)', () => {
  const prototype = CoreLog.prototype as unknown as {
    setRegionSync: (region: number, inSync: boolean) => unknown;
  };
  const original = prototype.setRegionSync;
  afterEach(() => {
    prototype.setRegionSync = original;
  });

  it('§4.5 with recovery_complete recording region 0 out of sync, the initial sync never converges, and replay shows the violation and the trace, not "built no scenario"', async () => {
    // The bug, for this test only: a successful resync of region 0 is recorded as failed.
    prototype.setRegionSync = function setRegionSyncLosingRegion0(
      this: unknown,
      region: number,
      inSync: boolean,
    ) {
      return original.call(this, region, region === 0 ? false : inSync);
    };
    const fuzz = captureIo(1);
    expect(await runCli(['fuzz', '--seeds', '1', '--log', 'core', '--jobs', '1'], fuzz.io)).toBe(1);
    expect(fuzz.stdout()).toMatch(/^seed 1 failed: liveness: the initial sync did not converge/m);
    const replayLine = /npx mirrorsim replay (.*)$/m.exec(fuzz.stdout())?.[1] ?? '';
    const replay = captureIo(1);
    expect(await runCli(['replay', ...splitArguments(replayLine), '--trace', '8'], replay.io)).toBe(
      1,
    );
    const out = replay.stdout();
    expect(out).toMatch(/^configuration: log core, /m);
    expect(out).toMatch(/^commands as run: none \(the failure came while the mirror was built/m);
    expect(out).toMatch(/^last 8 trace records before the failure:\n(.*\n){8}violated: /m);
    expect(out).toMatch(/^violated: liveness: the initial sync did not converge/m);
  });
});

/** Splits a printed command line's arguments, honouring single quotes. */
function splitArguments(line: string): string[] {
  return [...line.matchAll(/'([^']*)'|(\S+)/g)].map((match) => match[1] ?? match[2] ?? '');
}
