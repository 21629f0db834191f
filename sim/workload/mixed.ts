/**
 * `mixed`: a 70/30 write/read mix over uniformly random blocks, like fio's
 * `rw=randrw` with `rwmixwrite=70`. Each request draws its direction first
 * and its block second, always in that order, so the stream is a pure
 * function of the seed.
 */
import type { RandomStream } from '../../src/world/random-stream.js';
import { BlockSpace } from './block-space.js';
import type { Workload, WorkloadOptions, WorkloadRequest } from './workload.js';

/** The share of requests that are writes. */
export const MIXED_WRITE_FRACTION = 0.7;

/** Random block-aligned writes (70 %) and reads (30 %). */
export class MixedReadWrite implements Workload {
  readonly name = 'mixed';
  private readonly space: BlockSpace;
  private readonly random: RandomStream;
  private readonly ops: number;
  private issued = 0;

  constructor(options: WorkloadOptions) {
    this.space = new BlockSpace(options);
    this.random = options.random;
    this.ops = options.ops;
  }

  next(): WorkloadRequest | undefined {
    if (this.issued >= this.ops) return undefined;
    this.issued++;
    const isWrite = this.random.nextBoolean(MIXED_WRITE_FRACTION);
    const block = this.random.nextInt(0, this.space.blockCount - 1);
    return this.space.request(isWrite ? 'write' : 'read', block);
  }
}
