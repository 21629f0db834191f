/**
 * Records fresh traces with the real fio and checks that the parser replays
 * exactly the I/O fio performed. The cross-check does not trust the iolog
 * alone: fio's per-I/O latency log (`--write_lat_log` with `--log_offset=1`)
 * and its JSON totals say independently which I/Os ran. With `psync` (and
 * `falloc`) at depth 1 each I/O completes before the next is issued, so the
 * latency log is in issue order.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IologWorkload, loadIolog } from '../../sim/workload/fio-iolog.js';
import type { WorkloadRequest } from '../../sim/workload/workload.js';
import { drain } from './workload-helpers.js';

const fioVersion = spawnSync('fio', ['--version'], { encoding: 'utf8' });
const hasFio = fioVersion.status === 0;
const SKIP_NOTE = hasFio
  ? ''
  : ' [SKIPPED: fio is not on PATH; install it with scripts/install-system-packages.sh]';
if (!hasFio) {
  console.warn(`fio-record.test.ts:${SKIP_NOTE}`);
}

const directory = mkdtempSync(join(tmpdir(), 'mirrorsim-fio-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

/** 4 MiB files: on a 64 MiB device every offset replays unfolded. */
const DEVICE_SECTORS = 131072;
/** fio's data directions in its logs: 0 read, 1 write, 2 trim. */
const DDIR_OPS: Record<string, WorkloadRequest['op']> = {
  '0': 'read',
  '1': 'write',
  '2': 'discard',
};

interface FioRun {
  readonly requests: WorkloadRequest[];
  readonly completed: [WorkloadRequest['op'], number, number][];
  readonly totals: { read: number; write: number; trim: number; sync: number };
  /** Lines of the iolog with an offset and a length (five fields in version 3). */
  readonly ioLines: number;
}

/** Runs one fio job in its own directory and collects the trace and fio's own accounts. */
function record(name: string, args: string[]): FioRun {
  const cwd = mkdtempSync(join(directory, `${name}-`));
  const result = spawnSync(
    'fio',
    [
      `--name=${name}`,
      '--filename=data.bin',
      '--size=4MiB',
      `--write_iolog=${name}.iolog`,
      `--write_lat_log=${name}`,
      '--log_offset=1',
      '--output-format=json',
      `--output=${name}.json`,
      ...args,
    ],
    { cwd, encoding: 'utf8', timeout: 60_000 },
  );
  expect(result.status, `fio failed: ${result.stderr}`).toBe(0);
  const trace = loadIolog(join(cwd, `${name}.iolog`));
  expect(trace.version).toBe(3);
  const replay = new IologWorkload(trace, { deviceSizeSectors: DEVICE_SECTORS, ops: 0 });
  const requests = drain(
    new IologWorkload(trace, { deviceSizeSectors: DEVICE_SECTORS, ops: replay.traceLength }),
  );
  const completed = readFileSync(join(cwd, `${name}_clat.1.log`), 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const [, , ddir, bytes, offset] = line.split(',').map((field) => field.trim());
      return [DDIR_OPS[ddir!]!, Number(offset) / 512, Number(bytes) / 512] as [
        WorkloadRequest['op'],
        number,
        number,
      ];
    });
  const job = JSON.parse(readFileSync(join(cwd, `${name}.json`), 'utf8')).jobs[0];
  const totals = {
    read: job.read.total_ios,
    write: job.write.total_ios,
    trim: job.trim.total_ios,
    sync: job.sync.total_ios,
  };
  const ioLines = readFileSync(join(cwd, `${name}.iolog`), 'utf8')
    .split('\n')
    .filter((line) => line.trim().split(/\s+/).length === 5).length;
  return { requests, completed, totals, ioLines };
}

describe.skipIf(!hasFio)(`replaying traces recorded by the real fio${SKIP_NOTE}`, () => {
  it(`a zipf 70/30 read/write mix with fsyncs (${fioVersion.stdout?.trim()})`, () => {
    const run = record('randrw', [
      '--rw=randrw',
      '--rwmixwrite=70',
      '--bs=4k',
      '--random_distribution=zipf:1.2',
      '--norandommap',
      '--io_size=2MiB',
      '--number_ios=300',
      '--fsync=16',
      '--ioengine=psync',
      '--randseed=5',
    ]);
    const data = run.requests.filter((request) => request.op !== 'flush');
    expect(data.map((r) => [r.op, r.sector, r.sectorCount])).toEqual(run.completed);
    expect(data.filter((r) => r.op === 'write')).toHaveLength(run.totals.write);
    expect(data.filter((r) => r.op === 'read')).toHaveLength(run.totals.read);
    expect(run.totals.write).toBeGreaterThan(0);
    expect(run.totals.read).toBeGreaterThan(0);
    expect(run.totals.sync).toBeGreaterThan(0);
    expect(run.requests.filter((r) => r.op === 'flush')).toHaveLength(run.totals.sync);
    // Every I/O line became one request, and nothing else did.
    expect(run.requests).toHaveLength(run.ioLines);
  });

  it('trims and writes of a file through the falloc engine', () => {
    const run = record('trimwrite', [
      '--rw=randtrimwrite',
      '--bs=16k',
      '--number_ios=40',
      '--ioengine=falloc',
      '--randseed=6',
    ]);
    expect(run.requests.map((r) => [r.op, r.sector, r.sectorCount])).toEqual(run.completed);
    expect(run.requests.filter((r) => r.op === 'discard')).toHaveLength(run.totals.trim);
    expect(run.totals.trim).toBe(40);
  });
});
