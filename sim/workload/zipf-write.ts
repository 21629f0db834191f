/**
 * `zipf`: block-size writes with a zipf hot spot, like fio's
 * `random_distribution=zipf:THETA`. The block of popularity rank k (1 is
 * the hottest) is written with probability proportional to k^-theta.
 *
 * Memory is O(1) in the block count, so a 16 TiB device with 2^32 blocks
 * costs what a small one does:
 * - ranks come from rejection-inversion sampling (Hörmann and Derflinger,
 *   "Rejection-inversion to generate variates from monotone discrete
 *   distributions", 1996): invert the integral of the density at a uniform
 *   point, round to a rank, and accept it unless it falls in the thin slice
 *   where the integral over-covers that rank's probability;
 * - ranks map to blocks through a fixed bijection (a keyed Feistel network
 *   on the next even bit width, with cycle walking to stay below the block
 *   count), so the hot blocks are spread over the device rather than
 *   packed at its start, and they are the same blocks for every seed.
 */
import { assert } from '../../src/assert.js';
import type { RandomStream } from '../../src/world/random-stream.js';
import { BlockSpace } from './block-space.js';
import type { Workload, WorkloadOptions, WorkloadRequest } from './workload.js';

/** fio's usual hot spot, `zipf:1.2`. */
export const ZIPF_THETA_DEFAULT = 1.2;

/** The options of {@link ZipfWrite}: the common ones plus the skew. */
export interface ZipfWriteOptions extends WorkloadOptions {
  /** The zipf exponent; larger is more skewed. Default {@link ZIPF_THETA_DEFAULT}. */
  readonly theta?: number;
}

/** Zipf-distributed, block-aligned writes. */
export class ZipfWrite implements Workload {
  readonly name: string;
  private readonly space: BlockSpace;
  private readonly sampler: ZipfRankSampler;
  private readonly random: RandomStream;
  private readonly ops: number;
  private issued = 0;

  constructor(options: ZipfWriteOptions) {
    this.space = new BlockSpace(options);
    const theta = options.theta ?? ZIPF_THETA_DEFAULT;
    this.sampler = new ZipfRankSampler(this.space.blockCount, theta);
    this.random = options.random;
    this.ops = options.ops;
    this.name = `zipf:${theta}`;
  }

  next(): WorkloadRequest | undefined {
    if (this.issued >= this.ops) return undefined;
    this.issued++;
    const rank = this.sampler.sample(this.random);
    const block = scrambleRank(rank - 1, this.space.blockCount);
    return this.space.request('write', block);
  }
}

/** A bound on rejection rounds: each round accepts with probability well over 1/2. */
const REJECTION_ROUNDS_MAX = 1000;

/**
 * Draws ranks in [1, rankCount] with P(k) proportional to k^-theta, in O(1)
 * time and memory whatever the count.
 */
export class ZipfRankSampler {
  private readonly hIntegralX1: number;
  private readonly hIntegralN: number;
  /** Ranks this close below the inverted point are accepted without the exact test. */
  private readonly acceptSlack: number;

  constructor(
    readonly rankCount: number,
    readonly theta: number,
  ) {
    if (!Number.isSafeInteger(rankCount) || rankCount < 1) {
      throw new RangeError(`Zipf rank count ${rankCount} is not valid: expected an integer ≥ 1`);
    }
    if (!(Number.isFinite(theta) && theta > 0)) {
      throw new RangeError(`Zipf theta ${theta} is not valid: expected a finite number > 0`);
    }
    this.hIntegralX1 = this.hIntegral(1.5) - 1;
    this.hIntegralN = this.hIntegral(rankCount + 0.5);
    this.acceptSlack = 2 - this.hIntegralInverse(this.hIntegral(2.5) - this.h(2));
  }

  /** One rank; draws one or more floats from `random`. */
  sample(random: RandomStream): number {
    for (let round = 0; round < REJECTION_ROUNDS_MAX; round++) {
      // u runs over (H(1.5) - h(1), H(N + 0.5)]: the area under h from rank 1 to N.
      const u = this.hIntegralN + random.nextFloat() * (this.hIntegralX1 - this.hIntegralN);
      const x = this.hIntegralInverse(u);
      const rank = Math.min(this.rankCount, Math.max(1, Math.floor(x + 0.5)));
      if (rank - x <= this.acceptSlack || u >= this.hIntegral(rank + 0.5) - this.h(rank)) {
        assert(rank >= 1 && rank <= this.rankCount, `zipf rank ${rank} out of range`);
        return rank;
      }
    }
    assert(false, `zipf sampling rejected ${REJECTION_ROUNDS_MAX} times in a row`);
  }

  /** The unnormalised density, x^-theta. */
  private h(x: number): number {
    return Math.exp(-this.theta * Math.log(x));
  }

  /** An antiderivative of h: (x^(1-theta) - 1) / (1 - theta), or log x at theta 1. */
  private hIntegral(x: number): number {
    const logX = Math.log(x);
    return expm1OverX((1 - this.theta) * logX) * logX;
  }

  /** The inverse of {@link hIntegral}. */
  private hIntegralInverse(y: number): number {
    // Rounding can push t just below -1, where log1p is undefined; clamp it.
    const t = Math.max(-1, y * (1 - this.theta));
    return Math.exp(log1pOverX(t) * y);
  }
}

/** log1p(x) / x, continuous at 0 (series near 0 keeps precision). */
function log1pOverX(x: number): number {
  if (Math.abs(x) > 1e-8) return Math.log1p(x) / x;
  return 1 - x * (1 / 2 - x * (1 / 3 - x / 4));
}

/** expm1(x) / x, continuous at 0. */
function expm1OverX(x: number): number {
  if (Math.abs(x) > 1e-8) return Math.expm1(x) / x;
  return 1 + (x / 2) * (1 + (x / 3) * (1 + x / 4));
}

/** Fixed round keys: the hot blocks must not depend on the seed. */
const FEISTEL_KEYS = [0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c] as const;
/** Block counts up to 2^52 keep both Feistel halves (26 bits each) exact in a double. */
const SCRAMBLE_COUNT_MAX = 2 ** 52;

/**
 * A fixed bijection of [0, count): rank index → block. Feistel rounds are
 * invertible for any round function, so the network permutes [0, 4^half);
 * cycle walking (re-applying it until the value is below `count`) turns that
 * into a permutation of [0, count), taking under four rounds on average
 * because 4^half < 4 * count.
 */
export function scrambleRank(index: number, count: number): number {
  assert(Number.isSafeInteger(count) && count >= 1, `scramble count ${count} is not positive`);
  assert(count <= SCRAMBLE_COUNT_MAX, `scramble count ${count} exceeds 2^52`);
  assert(Number.isSafeInteger(index) && index >= 0 && index < count, `index ${index} not in range`);
  if (count === 1) return 0;
  const bits = Math.ceil(Math.log2(count));
  const halfBits = Math.max(1, Math.ceil(bits / 2));
  const half = 2 ** halfBits;
  // The walk visits only values outside [0, count) before it returns, so it is bounded.
  const walkMax = half * half - count + 1;
  let value = index;
  for (let step = 1; step <= walkMax; step++) {
    value = feistel(value, half);
    if (value < count) return value;
  }
  assert(false, `cycle walk for ${index} of ${count} did not return`);
}

function feistel(value: number, half: number): number {
  let left = Math.floor(value / half);
  let right = value % half;
  for (const key of FEISTEL_KEYS) {
    const mixed = (roundFunction(right, key) % half) >>> 0;
    const nextRight = (left ^ mixed) >>> 0;
    left = right;
    right = nextRight;
  }
  return left * half + right;
}

/** A murmur3-style finaliser of the half and the round key. */
function roundFunction(right: number, key: number): number {
  let hash = (right ^ key) | 0;
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  return (hash ^ (hash >>> 16)) >>> 0;
}
