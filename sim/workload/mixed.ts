/**
 * `mixed`: a 70/30 write/read mix over uniformly random blocks, like fio's
 * `rw=randrw` with `rwmixwrite=70`. Each request draws its direction first
 * and its block second, always in that order, so the stream is a pure
 * function of the seed.
 */
import { UniformRandom } from './random-write.js';
import type { WorkloadOptions } from './workload.js';

/** The share of requests that are writes. */
export const MIXED_WRITE_FRACTION = 0.7;

/** Random block-aligned writes (70 %) and reads (30 %). */
export class MixedReadWrite extends UniformRandom {
  constructor(options: WorkloadOptions) {
    super(options, 'mixed', MIXED_WRITE_FRACTION);
  }
}
