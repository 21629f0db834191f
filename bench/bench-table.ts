/**
 * The benchmark as a person reads it in a terminal: the settings and
 * definitions, then three tables (while running, after a crash, simulator
 * speed) and one per sweep.
 */
import Table from 'cli-table3';
import { WRITE_PATH_WORKLOADS } from './bench-plan.js';
import type { BenchReport, BenchRun, BenchSweepPoint } from './bench-report.js';

/** How the tables are drawn. */
export interface BenchTableOptions {
  /** Colour codes in headers and borders: only for a terminal (cli-table3 writes them even into a pipe). */
  readonly color: boolean;
}

/** The whole report as text. */
export function formatBenchReport(report: BenchReport, options: BenchTableOptions): string {
  const sections = [
    formatHeader(report),
    titled('While running (simulated, deterministic)', runningTable(report.runs, options)),
    titled(
      'After a crash at half the writes (simulated, deterministic)',
      crashTable(report.runs, options),
    ),
    titled('Simulator speed (wall clock, noisy)', speedTable(report, options)),
    ...sweepSections(report, options),
    formatFooter(report),
  ];
  return `${sections.filter((section) => section.length > 0).join('\n\n')}\n`;
}

function formatHeader(report: BenchReport): string {
  const settings = report.settings;
  const latency = (ticks: { read: number; write: number; flush: number }) =>
    `read ${ticks.read}, write ${ticks.write}, flush ${ticks.flush}`;
  const lines = [
    `mirrorsim bench (${report.mode}) — seed ${settings.seed}, log types: ${report.logTypes.join(', ') || 'none'}`,
    `performance mode: ${report.definitions.performanceMode ?? ''}`,
    'fixed latencies in ticks:',
    `  legs: ${latency(settings.legLatencyTicks)}; log device: ${latency(settings.logLatencyTicks)}`,
    `mirror: ${settings.legs} legs of ${formatMiB(settings.mirrorSizeBytes)}, regions of ${settings.regionSizeSectors} sectors, ${settings.depth} requests in flight, ${settings.ops} requests per case, ${settings.flushEveryWrites === 0 ? 'no added flushes' : `a flush every ${settings.flushEveryWrites} writes`}`,
    `crash: ${settings.crash}`,
    'workloads:',
    ...report.workloads.map((workload) => `  ${workload.name.padEnd(14)} ${workload.description}`),
  ];
  const machine = Object.entries(report.machine).map(([key, value]) => `${key} ${value}`);
  if (machine.length > 0) lines.push(`machine: ${machine.join(', ')}`);
  for (const skip of report.skipped) lines.push(`skipped log type ${skip.log}: ${skip.reason}`);
  return lines.join('\n');
}

function runningTable(runs: readonly BenchRun[], options: BenchTableOptions): string {
  const table = newTable(
    [
      'log',
      'workload',
      'sim IOPS',
      '× core',
      'lat mean',
      'lat p99',
      'log wr/w',
      'log B/w',
      'log fl/w',
      'leg fl/w',
      'daemon rt/w',
    ],
    options,
  );
  for (const run of runs) {
    table.push([
      run.log,
      run.workload,
      formatInteger(run.simulatedIops),
      run.ratioToCore === null ? '–' : run.ratioToCore.toFixed(2),
      run.latencyTicksMean.toFixed(0),
      String(run.latencyTicksP99),
      run.logWritesPerWrite.toFixed(3),
      run.logBytesPerWrite.toFixed(0),
      run.logFlushesPerWrite.toFixed(3),
      run.legFlushesPerWrite.toFixed(3),
      run.daemonRoundTripsPerWrite === null ? '–' : run.daemonRoundTripsPerWrite.toFixed(3),
    ]);
  }
  return table.toString();
}

function crashTable(runs: readonly BenchRun[], options: BenchTableOptions): string {
  const table = newTable(
    [
      'log',
      'workload',
      'crash after',
      'dirty at crash',
      'regions resynced',
      'resynced',
      'recovery ticks',
      'oracle',
    ],
    options,
  );
  for (const run of runs) {
    table.push([
      run.log,
      run.workload,
      `${run.crashAfterWrites} writes`,
      String(run.dirtyRegionsAtCrash),
      String(run.regionsResyncedAfterCrash),
      formatMiB(run.bytesResyncedAfterCrash),
      formatInteger(run.recoveryTicks),
      run.oracle,
    ]);
  }
  return table.toString();
}

function speedTable(report: BenchReport, options: BenchTableOptions): string {
  const table = newTable(
    [
      'workload',
      'raw copy ops/s',
      ...report.logTypes.flatMap((log) => [`${log} ops/s`, `${log} × raw`]),
    ],
    options,
    1,
  );
  for (const baseline of report.baselines) {
    const row = [baseline.workload, formatInteger(baseline.rawCopyWallOpsPerSec)];
    for (const log of report.logTypes) {
      const run = report.runs.find(
        (candidate) => candidate.log === log && candidate.workload === baseline.workload,
      );
      row.push(run === undefined ? '–' : formatInteger(run.wallOpsPerSec));
      row.push(run === undefined ? '–' : run.wallRatioToRawCopy.toFixed(2));
    }
    table.push(row);
  }
  return table.toString();
}

function sweepSections(report: BenchReport, options: BenchTableOptions): string[] {
  const names = [...new Set(report.sweeps.map((point) => point.sweep))];
  return names.map((name) => {
    const points = report.sweeps.filter((point) => point.sweep === name);
    const first = points[0]!;
    const note = report.sweepPlans.find((plan) => plan.name === name)?.note;
    const title = `Sweep: ${first.parameter} (${first.workload}, ${report.settings.sweepOps} requests, simulated)`;
    return titled(
      note === undefined ? title : `${title}\n${wrapText(note, 110)}`,
      sweepTable(points, options),
    );
  });
}

function sweepTable(points: readonly BenchSweepPoint[], options: BenchTableOptions): string {
  const table = newTable(
    [
      'value',
      'log',
      'sim IOPS',
      'lat mean',
      'lat p99',
      'log wr/w',
      'leg fl/w',
      'regions resynced',
      'resynced',
      'recovery ticks',
    ],
    options,
  );
  for (const point of points) {
    table.push([
      String(point.value),
      point.log,
      formatInteger(point.simulatedIops),
      point.latencyTicksMean.toFixed(0),
      String(point.latencyTicksP99),
      point.logWritesPerWrite.toFixed(3),
      point.legFlushesPerWrite.toFixed(3),
      String(point.regionsResyncedAfterCrash),
      formatMiB(point.bytesResyncedAfterCrash),
      formatInteger(point.recoveryTicks),
    ]);
  }
  return table.toString();
}

function formatFooter(report: BenchReport): string {
  const lines: string[] = [];
  if (report.coreWritePathRatio !== null) {
    lines.push(
      `core-log write path: ${report.coreWritePathRatio.toFixed(2)} of the raw-copy baseline (wall clock; lowest over ${WRITE_PATH_WORKLOADS.join(', ')})`,
    );
  }
  lines.push('definitions:');
  for (const [name, text] of Object.entries(report.definitions)) {
    lines.push(`  ${wrapText(`${name}: ${text}`, 108).replaceAll('\n', '\n    ')}`);
  }
  for (const failure of report.failures) {
    lines.push(`FAILED ${failure.log} × ${failure.workload}: ${failure.error}`);
  }
  const violated = report.runs.filter((run) => run.oracle !== 'ok');
  for (const run of violated)
    lines.push(`VERIFICATION FAILED ${run.log} × ${run.workload}: ${run.violations.join('; ')}`);
  lines.push(
    `${report.runs.length} runs, ${report.sweeps.length} sweep points in ${report.wallSeconds.toFixed(1)} s`,
  );
  return lines.join('\n');
}

/** Breaks `text` into lines of at most `width` characters, at spaces. */
export function wrapText(text: string, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line.length > 0 && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line.length === 0 ? word : `${line} ${word}`;
    }
  }
  if (line.length > 0) lines.push(line);
  return lines.join('\n');
}

function titled(title: string, body: string): string {
  return `${title}\n${body}`;
}

/** A table whose first `leftColumns` columns are names (left-aligned) and the rest figures. */
function newTable(head: string[], options: BenchTableOptions, leftColumns = 2): Table.Table {
  return new Table({
    head,
    colAligns: head.map((_, index) => (index < leftColumns ? 'left' : 'right')),
    ...(options.color ? {} : { style: { head: [], border: [] } }),
  });
}

function formatInteger(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

function formatMiB(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(bytes >= 2 ** 20 || bytes === 0 ? 1 : 3)} MiB`;
}
