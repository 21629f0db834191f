/**
 * Which seeds a fuzz campaign runs, and in which order: `--seeds N` from
 * `--start-seed S`, optionally one shard of it (`--shard K/N`: every N-th
 * seed, starting with the K-th). The shards of one campaign are disjoint
 * and together run exactly the seeds the unsharded campaign runs, so their
 * results can be merged into the unsharded result.
 *
 * A fuzz seed is a fast-check seed, and fast-check keeps 32 bits of it
 * (`seed | 0`): seeds 1 and 2^32 + 1 would run the same scenario. So a
 * campaign's seeds are the 32-bit signed integers; negative ones are the
 * seeds a failing test run prints.
 */

/** The lowest fuzz seed: fast-check seeds are 32-bit signed integers. */
export const FUZZ_SEED_MIN = -(2 ** 31);
/** The highest fuzz seed. */
export const FUZZ_SEED_MAX = 2 ** 31 - 1;
/** The most shards a campaign may be cut into. */
export const FUZZ_SHARDS_MAX = 100_000;

/** One shard of a campaign: the `index`-th (1-based) of `count`. */
export interface FuzzShard {
  readonly index: number;
  readonly count: number;
}

/** The whole campaign: one shard of one. */
export const WHOLE_CAMPAIGN: FuzzShard = Object.freeze({ index: 1, count: 1 });

/** Which seeds a campaign (or one shard of it) runs. */
export interface FuzzCampaignPlan {
  readonly startSeed: number;
  /** Seeds of the whole campaign (every shard); unbounded for a time-boxed campaign. */
  readonly seedsTotal: number;
  readonly shard: FuzzShard;
}

/** Parses `K/N` (1 ≤ K ≤ N); a RangeError names the text and the form expected. */
export function parseShard(text: string): FuzzShard {
  const match = /^(\d{1,6})\/(\d{1,6})$/.exec(text);
  const index = match === null ? Number.NaN : Number(match[1]);
  const count = match === null ? Number.NaN : Number(match[2]);
  if (!(index >= 1 && count >= index && count <= FUZZ_SHARDS_MAX)) {
    throw new RangeError(
      `expected K/N with 1 ≤ K ≤ N ≤ ${FUZZ_SHARDS_MAX} (shard K of N, e.g. 2/3)`,
    );
  }
  return { index, count };
}

/**
 * Checks that every seed the plan can run is a fuzz seed; a RangeError
 * says which end is out of range.
 */
export function checkCampaignPlan(plan: FuzzCampaignPlan): void {
  const { startSeed, seedsTotal, shard } = plan;
  if (!Number.isSafeInteger(startSeed) || startSeed < FUZZ_SEED_MIN || startSeed > FUZZ_SEED_MAX) {
    throw new RangeError(
      `start seed ${startSeed} is not a fuzz seed: expected an integer from ${FUZZ_SEED_MIN} to ${FUZZ_SEED_MAX} (fast-check keeps 32 bits of a seed)`,
    );
  }
  if (!(shard.index >= 1 && shard.index <= shard.count)) {
    throw new RangeError(`shard ${shard.index}/${shard.count} is not one of ${shard.count}`);
  }
  if (Number.isFinite(seedsTotal) && startSeed + seedsTotal - 1 > FUZZ_SEED_MAX) {
    throw new RangeError(
      `${seedsTotal} seeds from ${startSeed} run past seed ${FUZZ_SEED_MAX}, the last fuzz seed (fast-check keeps 32 bits of a seed)`,
    );
  }
}

/** How many seeds the plan's shard runs (infinite for a time-boxed campaign). */
export function shardSeedCount(plan: FuzzCampaignPlan): number {
  if (!Number.isFinite(plan.seedsTotal)) {
    // A time box still ends at the last fuzz seed.
    return Math.floor((FUZZ_SEED_MAX - firstShardSeed(plan)) / plan.shard.count) + 1;
  }
  const { index, count } = plan.shard;
  return Math.max(0, Math.floor((plan.seedsTotal - index) / count) + 1);
}

/** The `position`-th seed (0-based) of the plan's shard: every `count`-th seed of the campaign. */
export function shardSeed(plan: FuzzCampaignPlan, position: number): number {
  return firstShardSeed(plan) + position * plan.shard.count;
}

function firstShardSeed(plan: FuzzCampaignPlan): number {
  return plan.startSeed + plan.shard.index - 1;
}
