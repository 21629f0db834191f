/**
 * Progress of a long `mirrorsim run` on stderr (stdout stays exactly what
 * scripts read): the initial sync, the workload and the recovery, at most
 * once a second. On a terminal the line is redrawn in place; elsewhere
 * progress is shown only when `--progress` asks, one line each time.
 *
 * Whatever the terminal, a run whose initial sync resyncs many regions
 * says so once as it starts, so a big mirror is never silent for long
 * without a reason given.
 */
import type { RunProgress } from '../sim/scenario/run-scenario.js';
import type { CliIo } from './cli-io.js';
import { formatBytes } from './parse-size.js';

/** An initial sync of at least this many regions is announced on stderr. */
export const ANNOUNCED_RESYNC_REGIONS = 65_536;
/** Wall-clock milliseconds between two progress lines. */
const PROGRESS_INTERVAL_MS = 1000;

const PHASE_NAMES: Record<RunProgress['phase'], string> = {
  'initial-sync': 'initial sync',
  workload: 'workload',
  recovery: 'recovery',
};

/** What the reporter needs to know about the run. */
export interface RunProgressContext {
  readonly io: CliIo;
  /** `--progress`: show progress even when stderr is not a terminal. */
  readonly asked: boolean;
  readonly regionSizeSectors: () => number;
}

/** Returns the `onProgress` hook of a run (see the file comment). */
export function runProgressReporter(context: RunProgressContext): (progress: RunProgress) => void {
  const { io } = context;
  const terminal = io.stderrIsTerminal === true;
  const shown = terminal || context.asked;
  const startMs = io.wallClockMs();
  let lastMs = Number.NEGATIVE_INFINITY;
  let phase: RunProgress['phase'] | null = null;
  let lineOpen = false;
  return (progress) => {
    if (progress.phase !== phase) {
      if (lineOpen) io.stderr('\n');
      lineOpen = false;
      phase = progress.phase;
      if (phase === 'initial-sync' && progress.total >= ANNOUNCED_RESYNC_REGIONS) {
        const bytes = progress.total * context.regionSizeSectors() * 512;
        io.stderr(
          `mirrorsim run: the initial sync resyncs all ${progress.total} regions (${formatBytes(bytes)}) before the workload starts\n`,
        );
      }
    }
    if (!shown) return;
    const nowMs = io.wallClockMs();
    if (nowMs - lastMs < PROGRESS_INTERVAL_MS) return;
    lastMs = nowMs;
    const percent = progress.total === 0 ? 100 : (100 * progress.done) / progress.total;
    const unit = progress.phase === 'workload' ? 'requests' : 'regions';
    const text = `mirrorsim run: ${PHASE_NAMES[progress.phase]} ${progress.done}/${progress.total} ${unit} (${percent.toFixed(1)} %), ${((nowMs - startMs) / 1000).toFixed(0)} s`;
    if (terminal) {
      // Redraw in place: carriage return, the text, then clear what a longer line left.
      io.stderr(`\r${text}\u001b[K`);
      lineOpen = true;
    } else {
      io.stderr(`${text}\n`);
    }
  };
}

/** Ends a redrawn line, so what follows starts on its own line. */
export function endProgress(io: CliIo): void {
  if (io.stderrIsTerminal === true) io.stderr('\r\u001b[K');
}
