/**
 * `mirrorsim run` on big mirrors: a 16 TiB run's first sync costs what a
 * sparse world needs (sparse resync, src/mirror/sparse-resync.ts) and is
 * announced on stderr, while stdout stays what scripts read. A 1 PiB run
 * (2^31 regions, where the bitset arithmetic once went negative) takes
 * tens of seconds and over a GiB for the log's bitmaps, so it runs only
 * with MIRRORSIM_BIG=1.
 */
import { describe, expect, it } from 'vitest';
import { EXIT_OK } from '../../cli/cli-io.js';
import { runCli } from '../../cli/main.js';
import { captureIo } from './cli-test-kit.js';

/** Runs with the wall clock at a standstill, or `stepMs` further at each reading. */
async function runBig(args: readonly string[], stepMs = 0) {
  const captured = captureIo(stepMs);
  const code = await runCli(['run', ...args, '--json'], captured.io);
  return { code, json: JSON.parse(captured.stdout()), stderr: captured.stderr() };
}

describe('mirrorsim run on big mirrors', () => {
  it('16 TiB: the initial sync of 2^25 regions is announced and takes a few hundred events', async () => {
    const { code, json, stderr } = await runBig(['--size', '16TiB', '--ops', '40']);
    expect(code).toBe(EXIT_OK);
    expect(stderr).toBe(
      'mirrorsim run: the initial sync resyncs all 33554432 regions (16 TiB) before the workload starts\n',
    );
    expect(json.statusInfo).toBe('2 leg0 leg1 33554432/33554432 1 AA 3 disk log0 A');
    expect(json.oracle).toBe('ok');
    expect(json.events).toBeLessThan(5000);
    // About 1.2 ms of simulated time per region, as region by region.
    expect(json.simulatedTicks / 33554432).toBeGreaterThan(1000);
  });

  it('--progress shows each phase on stderr; --faithful-resync is on the replay line', async () => {
    const { json, stderr } = await runBig(
      ['--size', '1GiB', '--ops', '40', '--progress', '--faithful-resync'],
      1000,
    );
    expect(stderr).toMatch(/^mirrorsim run: initial sync 0\/2048 regions \(0\.0 %\), \d+ s$/m);
    expect(stderr).toMatch(/^mirrorsim run: workload \d+\/40 requests/m);
    expect(stderr).toMatch(/^mirrorsim run: recovery \d+\/\d+ regions/m);
    expect(json.replay).toMatch(/ --faithful-resync$/);
  });

  it.runIf(process.env.MIRRORSIM_BIG === '1')(
    '1 PiB: 2^31 regions sync, run, crash and recover (MIRRORSIM_BIG=1)',
    async () => {
      const { code, json } = await runBig(['--size', '1PiB', '--ops', '200']);
      expect(code).toBe(EXIT_OK);
      expect(json.regions).toBe(2 ** 31);
      expect(json.oracle).toBe('ok');
      expect(json.legsIdentical).toBe(true);
    },
    600_000,
  );
});
