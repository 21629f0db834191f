/**
 * The randomness interface the library draws from. `src/` never calls
 * `Math.random`: each device, workload and fault source gets its own
 * named stream, all derived from one seed by `sim/`'s seeded random, so
 * that one extra draw in one place does not change the draws of another.
 */
export interface RandomStream {
  /** The name this stream was derived under, e.g. `leg0.latency`. */
  readonly name: string;
  /** A uniform integer in [0, 2^32). */
  nextUint32(): number;
  /** A uniform float in [0, 1) with 53 random bits. */
  nextFloat(): number;
  /** A uniform integer in [minInclusive, maxInclusive]; both safe integers. */
  nextInt(minInclusive: number, maxInclusive: number): number;
  /** True with the given probability (0 ≤ p ≤ 1). */
  nextBoolean(probability: number): boolean;
}

/** Where named streams come from. */
export interface RandomSource {
  /** The stream for `name`; the same name always gives the same stream. */
  stream(name: string): RandomStream;
}

/**
 * An exponentially distributed integer with the given mean, at least
 * `minimum` (TigerBeetle's `max(min, exponential(mean))`).
 */
export function drawExponentialTicks(
  random: RandomStream,
  options: { readonly minimumTicks: number; readonly meanTicks: number },
): number {
  const uniform = random.nextFloat();
  const drawn = Math.floor(-options.meanTicks * Math.log(1 - uniform));
  return Math.max(options.minimumTicks, drawn);
}
