/**
 * Charts of a benchmark report: Vega-Lite specs compiled to Vega, rendered
 * by a headless view to SVG (no canvas), then to PNG by resvg. The same
 * report gives the same bytes on the same machine (fonts are the system's).
 *
 * @example
 * ```ts
 * for (const chart of await renderBenchCharts(report)) writeFileSync(`${chart.name}.svg`, chart.svg);
 * ```
 */
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { BenchReport, BenchSweepPoint } from './bench-report.js';
import { wrapText } from './bench-table.js';

/** One chart, as SVG text and PNG bytes. */
export interface BenchChart {
  /** File name without extension, e.g. `iops-by-log`. */
  readonly name: string;
  readonly svg: string;
  readonly png: Uint8Array;
}

const FONT = 'DejaVu Sans';
const PNG_ZOOM = 2;
const MIB = 2 ** 20;
/**
 * Resync spans a whole device (core) down to a fraction of a MiB (one small
 * region): a symmetric log scale, linear below 0.1 MiB, shows both.
 */
const RESYNC_SCALE = { type: 'symlog', constant: 0.1 } as const;

/** Every chart the report has data for. */
export async function renderBenchCharts(report: BenchReport): Promise<BenchChart[]> {
  const specs: Array<[string, TopLevelSpec]> = [
    ['iops-by-log', iopsByLogSpec(report)],
    ['overhead-vs-resync', overheadVersusResyncSpec(report)],
  ];
  const sweepCharts: Array<
    [string, string, (points: BenchSweepPoint[], report: BenchReport) => TopLevelSpec]
  > = [
    ['regionSize', 'sweep-region-size', regionSizeSpec],
    ['depth', 'sweep-depth', depthSpec],
    ['logLatency', 'sweep-log-latency', logLatencySpec],
  ];
  for (const [sweep, name, build] of sweepCharts) {
    const points = report.sweeps.filter((point) => point.sweep === sweep);
    if (points.length > 0) specs.push([name, build(points, report)]);
  }
  const charts: BenchChart[] = [];
  for (const [name, spec] of specs) charts.push(await renderChart(name, spec));
  return charts;
}

/** Renders one Vega-Lite spec to SVG and PNG. */
export async function renderChart(name: string, spec: TopLevelSpec): Promise<BenchChart> {
  const compiled = compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  const png = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: PNG_ZOOM },
    font: { loadSystemFonts: true, defaultFontFamily: FONT },
  })
    .render()
    .asPng();
  return { name, svg, png: new Uint8Array(png) };
}

/** The sweep's note, wrapped, under its workload and size. */
function sweepSubtitle(points: readonly BenchSweepPoint[], report: BenchReport): string[] {
  const name = points[0]?.sweep;
  const plan = report.sweepPlans.find((candidate) => candidate.name === name);
  const head = `${plan?.workload ?? ''}, ${report.settings.sweepOps} requests, seed ${report.settings.seed}, simulated`;
  return [head, ...wrapText(plan?.note ?? '', 110).split('\n')];
}

function subtitle(report: BenchReport): string {
  const settings = report.settings;
  return `seed ${settings.seed}, ${settings.ops} requests, ${settings.depth} in flight, regions of ${settings.regionSizeSectors} sectors, write cache ${settings.writeCache ? 'on' : 'off'}, fixed latencies (leg write ${settings.legLatencyTicks.write}, flush ${settings.legLatencyTicks.flush} ticks)`;
}

const CONFIG = {
  font: FONT,
  background: 'white',
  padding: 12,
  title: { fontSize: 15, subtitleFontSize: 11, anchor: 'start' as const },
  axis: { labelFontSize: 11, titleFontSize: 12 },
  legend: { labelFontSize: 11, titleFontSize: 12 },
};

function iopsByLogSpec(report: BenchReport): TopLevelSpec {
  const workloads = report.workloads.map((workload) => workload.name);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Simulated IOPS by log type and workload', subtitle: subtitle(report) },
    config: CONFIG,
    width: 110 * Math.max(1, workloads.length),
    height: 300,
    data: {
      values: report.runs.map((run) => ({
        log: run.log,
        workload: run.workload,
        iops: Math.round(run.simulatedIops),
      })),
    },
    mark: { type: 'bar' },
    encoding: {
      x: {
        field: 'workload',
        type: 'nominal',
        sort: workloads,
        axis: { labelAngle: 0 },
        title: 'workload',
      },
      xOffset: { field: 'log', type: 'nominal', sort: [...report.logTypes] },
      y: { field: 'iops', type: 'quantitative', title: 'simulated IOPS (requests / simulated s)' },
      color: { field: 'log', type: 'nominal', sort: [...report.logTypes], title: 'log type' },
      tooltip: [{ field: 'iops', type: 'quantitative' }],
    },
  };
}

function overheadVersusResyncSpec(report: BenchReport): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'Write cost while running against resync after a crash',
      subtitle:
        'each point: one log type on one workload; crash after half the writes, strategy none',
    },
    config: CONFIG,
    width: 520,
    height: 340,
    data: {
      values: report.runs.map((run) => ({
        log: run.log,
        workload: run.workload,
        latency: run.latencyTicksMean,
        resyncMiB: run.bytesResyncedAfterCrash / MIB,
      })),
    },
    layer: [
      {
        mark: { type: 'point', filled: true, size: 90, opacity: 0.85 },
        encoding: {
          x: { field: 'latency', type: 'quantitative', title: 'mean write latency (ticks = µs)' },
          y: {
            field: 'resyncMiB',
            type: 'quantitative',
            title: 'MiB resynced after the crash (symmetric log scale)',
            scale: RESYNC_SCALE,
          },
          color: { field: 'log', type: 'nominal', sort: [...report.logTypes], title: 'log type' },
          shape: { field: 'workload', type: 'nominal', title: 'workload' },
        },
      },
    ],
  };
}

function sweepLines(
  points: readonly BenchSweepPoint[],
  report: BenchReport,
  x: { readonly title: string },
  panels: ReadonlyArray<{
    readonly field: keyof BenchSweepPoint | 'resyncMiB';
    readonly title: string;
  }>,
  title: string,
): TopLevelSpec {
  const values = points.map((point) => ({
    ...point,
    resyncMiB: point.bytesResyncedAfterCrash / MIB,
  }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle: sweepSubtitle(points, report) },
    config: CONFIG,
    data: { values },
    hconcat: panels.map((panel) => ({
      width: 340,
      height: 240,
      mark: { type: 'line', point: true },
      encoding: {
        x: {
          field: 'value',
          type: 'quantitative',
          scale: { type: 'log', base: 2 },
          title: x.title,
        },
        y: {
          field: panel.field,
          type: 'quantitative',
          title: panel.title,
          ...(panel.field === 'resyncMiB' ? { scale: RESYNC_SCALE } : {}),
        },
        color: { field: 'log', type: 'nominal', sort: [...report.logTypes], title: 'log type' },
      },
    })),
  };
}

function regionSizeSpec(points: BenchSweepPoint[], report: BenchReport): TopLevelSpec {
  return sweepLines(
    points,
    report,
    { title: 'region size (sectors, log scale)' },
    [
      { field: 'logWritesPerWrite', title: 'log-device writes per user write' },
      { field: 'resyncMiB', title: 'MiB resynced after the crash (symmetric log scale)' },
    ],
    'Region size: mark rate against resync',
  );
}

function depthSpec(points: BenchSweepPoint[], report: BenchReport): TopLevelSpec {
  return sweepLines(
    points,
    report,
    { title: 'requests in flight (log scale)' },
    [
      { field: 'simulatedIops', title: 'simulated IOPS' },
      { field: 'latencyTicksP99', title: 'p99 write latency (ticks)' },
    ],
    'Requests in flight: throughput and tail latency',
  );
}

function logLatencySpec(points: BenchSweepPoint[], report: BenchReport): TopLevelSpec {
  return sweepLines(
    points,
    report,
    { title: 'log-device write latency (ticks, log scale)' },
    [
      { field: 'simulatedIops', title: 'simulated IOPS' },
      { field: 'latencyTicksMean', title: 'mean write latency (ticks)' },
    ],
    'Log-device latency: what a slow log device costs',
  );
}
