/**
 * `mirrorsim bench` end to end on a tiny configuration: exit codes, the
 * terminal tables, the `--json` file, and the `--plot` charts (SVG and PNG,
 * byte-stable).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderBenchCharts } from '../../bench/bench-charts.js';
import type { BenchReport } from '../../bench/bench-report.js';
import { formatBenchReport, wrapText } from '../../bench/bench-table.js';
import { runCli } from '../../cli/main.js';
import { type Captured, captureIo } from '../cli/cli-test-kit.js';

const TINY = [
  'bench',
  '--quick',
  '--log',
  'core,disk',
  '--workloads',
  'randwrite,fio-randwrite',
  '--ops',
  '100',
  '--repetitions',
  '1',
  '--sweep-ops',
  '40',
];

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

describe('mirrorsim bench', () => {
  let directory: string;
  let captured: Captured;
  let exitCode: number;
  let report: BenchReport;

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'mirrorsim-bench-'));
    captured = captureIo(3);
    exitCode = await runCli(
      [...TINY, '--json', join(directory, 'bench.json'), '--plot', join(directory, 'charts')],
      captured.io,
    );
    report = JSON.parse(readFileSync(join(directory, 'bench.json'), 'utf8')) as BenchReport;
  });
  afterAll(() => {
    rmSync(directory, { recursive: true, force: true });
  });

  it('exits 0 and prints the tables, the settings and the definitions', () => {
    expect(captured.stderr()).not.toContain('FAILED');
    expect(exitCode).toBe(0);
    const text = captured.stdout();
    expect(text).toContain('While running (simulated, deterministic)');
    expect(text).toContain('After a crash at half the writes');
    expect(text).toContain('Simulator speed (wall clock, noisy)');
    expect(text).toContain('legs: read 100, write 200, flush 1000');
    expect(text).toContain('definitions:');
    expect(text).toContain('Sweep: region size (sectors)');
    // No colour codes when the output is not a terminal.
    expect(text).not.toContain('\u001b[');
  });

  it('writes the figures as JSON with a runs array and baselines', () => {
    expect(report.tool).toBe('mirrorsim bench');
    expect(report.runs).toHaveLength(4);
    for (const run of report.runs) {
      expect(run.baseline.rawCopyWallOpsPerSec).toBeGreaterThan(0);
      expect(run.wallOpsPerSec).toBeGreaterThan(0);
      expect(run.simulatedIops).toBeGreaterThan(0);
    }
    expect(report.machine.cores).toBeGreaterThan(0);
    expect(report.machine).toHaveProperty('loadAverageEnd');
  });

  it('writes every chart as SVG and PNG', () => {
    const files = readdirSync(join(directory, 'charts')).sort();
    const names = [
      'iops-by-log',
      'overhead-vs-resync',
      'sweep-depth',
      'sweep-log-latency',
      'sweep-region-size',
    ];
    expect(files).toEqual(names.flatMap((name) => [`${name}.png`, `${name}.svg`]));
    for (const name of names) {
      const svg = readFileSync(join(directory, 'charts', `${name}.svg`), 'utf8');
      expect(svg.startsWith('<svg')).toBe(true);
      const png = readFileSync(join(directory, 'charts', `${name}.png`));
      expect([...png.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
    }
  });

  it('renders byte-identical charts from the same report', async () => {
    const first = await renderBenchCharts(report);
    const again = await renderBenchCharts(report);
    expect(again.map((chart) => chart.svg)).toEqual(first.map((chart) => chart.svg));
    for (const [index, chart] of first.entries()) {
      expect(Buffer.from(again[index]!.png).equals(Buffer.from(chart.png))).toBe(true);
    }
  });

  it('prints the same simulated table from the same seed', async () => {
    const again = captureIo(3);
    expect(await runCli([...TINY, '--no-sweeps'], again.io)).toBe(0);
    const simulatedPart = (text: string) =>
      text.slice(text.indexOf('While running'), text.indexOf('Simulator speed'));
    expect(simulatedPart(again.stdout())).toBe(simulatedPart(captured.stdout()));
  });
});

describe('mirrorsim bench usage errors', () => {
  it.each([
    [['bench', '--workloads', 'nope'], 'Invalid --workloads "nope"'],
    [['bench', '--log', 'nope'], 'Invalid --log "nope"'],
    [['bench', '--ops', 'many'], 'Invalid --ops "many"'],
    [['bench', '--seed', 'x!'], 'Invalid --seed'],
  ])('%j exits 2 with one line naming the value', async (argv, message) => {
    const captured = captureIo(3);
    expect(await runCli(argv, captured.io)).toBe(2);
    expect(captured.stderr()).toContain(message);
    expect(captured.stderr().trim().split('\n')).toHaveLength(1);
    expect(captured.stdout()).toBe('');
  });
});

describe('formatBenchReport', () => {
  it('lists skipped log types and failures', () => {
    const empty: BenchReport = {
      tool: 'mirrorsim bench',
      mode: 'quick',
      settings: {
        seed: 1,
        faults: 'off',
        writeCache: false,
        tickMicroseconds: 1,
        legLatencyTicks: { read: 1, write: 2, flush: 3 },
        logLatencyTicks: { read: 1, write: 2, flush: 3 },
        mirrorSizeBytes: 2 ** 20,
        legs: 2,
        regionSizeSectors: 1024,
        depth: 1,
        flushEveryWrites: 0,
        ops: 1,
        repetitions: 1,
        sweepOps: 1,
        crash: 'never',
      },
      definitions: {},
      workloads: [],
      logTypes: [],
      skipped: [{ log: 'odd', reason: 'it has no defaultTableArgs' }],
      failures: [{ log: 'odd', workload: 'randwrite', error: 'boom' }],
      runs: [],
      baselines: [],
      sweepPlans: [],
      sweeps: [],
      coreWritePathRatio: null,
      wallSeconds: 0,
      machine: {},
    };
    const text = formatBenchReport(empty, { color: false });
    expect(text).toContain('skipped log type odd: it has no defaultTableArgs');
    expect(text).toContain('FAILED odd × randwrite: boom');
  });

  it('wraps text at spaces', () => {
    expect(wrapText('aa bb cc dd', 5)).toBe('aa bb\ncc dd');
    expect(wrapText('averyveryverylongword x', 5)).toBe('averyveryverylongword\nx');
  });
});
