/**
 * The module each worker thread of `mirrorsim fuzz --jobs N` loads: its
 * default export runs one seed (tinypool calls it with each task).
 */
import { type FuzzSeedJob, type FuzzSeedOutcome, runFuzzSeedJob } from './fuzz-seed-job.js';

/** Runs one seed in this worker. */
export default function runSeedInWorker(job: FuzzSeedJob): FuzzSeedOutcome {
  return runFuzzSeedJob(job);
}
