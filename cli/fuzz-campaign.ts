/**
 * The loop of `mirrorsim fuzz`: hands the plan's seeds to a runner (this
 * thread or a worker pool), a few more than it has jobs so no worker
 * waits, and passes each outcome on in seed order, whatever order the
 * workers finish in — so the output is the same with any `--jobs`. A time
 * box stops new seeds; the ones already started finish and count, so the
 * seeds run are always the first N of the plan. Progress goes to stderr
 * once a second.
 */
import {
  type FuzzCampaignPlan,
  shardSeed,
  shardSeedCount,
} from '../sim/fuzz/fuzz-campaign-plan.js';
import type { CliIo } from './cli-io.js';
import type { FuzzSeedOutcome } from './fuzz-seed-job.js';
import type { FuzzSeedRunner } from './fuzz-seed-runner.js';

/** How often progress is printed (wall-clock milliseconds). */
export const PROGRESS_INTERVAL_MS = 1000;
/** Seeds handed to a runner per job it has, so a worker never waits for the next one. */
const SEEDS_AHEAD_PER_JOB = 2;

/** What a campaign runs and where its outcomes go. */
export interface FuzzCampaignInput {
  readonly plan: FuzzCampaignPlan;
  /** The time box in wall-clock seconds (infinite: run every seed of the plan). */
  readonly secondsMax: number;
  readonly runner: FuzzSeedRunner;
  readonly io: CliIo;
  /** Called once per seed, in the plan's order. */
  readonly onOutcome: (outcome: FuzzSeedOutcome) => void;
}

/** What a campaign ran. */
export interface FuzzCampaignTotals {
  readonly seeds: number;
  readonly failures: number;
}

/** Runs the campaign (see the file comment). */
export function runFuzzCampaign(input: FuzzCampaignInput): Promise<FuzzCampaignTotals> {
  const { plan, runner, io } = input;
  const seedCount = shardSeedCount(plan);
  const aheadMax = runner.jobs * SEEDS_AHEAD_PER_JOB;
  const startMs = io.wallClockMs();
  const finished = new Map<number, FuzzSeedOutcome>();
  let lastProgressMs = startMs;
  let dispatched = 0;
  let delivered = 0;
  let failures = 0;
  const timeLeft = () =>
    !Number.isFinite(input.secondsMax) || io.wallClockMs() - startMs < input.secondsMax * 1000;
  const progress = (force: boolean) => {
    const nowMs = io.wallClockMs();
    if (!force && nowMs - lastProgressMs < PROGRESS_INTERVAL_MS) return;
    lastProgressMs = nowMs;
    io.stderr(progressLine(delivered, failures, nowMs - startMs, runner.jobs));
  };
  return new Promise((resolve, reject) => {
    const deliver = () => {
      for (let outcome = finished.get(delivered); outcome !== undefined; ) {
        finished.delete(delivered);
        delivered++;
        if (outcome.failed) failures++;
        input.onOutcome(outcome);
        outcome = finished.get(delivered);
      }
    };
    const pump = () => {
      while (dispatched - delivered - finished.size < aheadMax && dispatched < seedCount) {
        if (!timeLeft()) break;
        const position = dispatched++;
        runner.run(shardSeed(plan, position)).then((outcome) => {
          finished.set(position, outcome);
          deliver();
          progress(false);
          pump();
        }, reject);
      }
      if (delivered === dispatched) {
        progress(true);
        resolve({ seeds: delivered, failures });
      }
    };
    pump();
  });
}

function progressLine(seeds: number, failures: number, elapsedMs: number, jobs: number): string {
  const perSecond = elapsedMs > 0 ? (seeds * 1000) / elapsedMs : 0;
  const jobsText = jobs === 1 ? '' : ` on ${jobs} jobs`;
  return `fuzz: ${seeds} seeds, ${failures} failures, ${perSecond.toFixed(1)} seeds/s${jobsText}\n`;
}
