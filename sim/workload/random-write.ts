/**
 * `randwrite`: block-size writes to blocks drawn uniformly over the whole
 * device, like fio's `rw=randwrite` without a random map (blocks repeat).
 */
import type { RandomStream } from '../../src/world/random-stream.js';
import { BlockSpace } from './block-space.js';
import type { Workload, WorkloadOptions, WorkloadRequest } from './workload.js';

/** Uniformly random, block-aligned writes. */
export class RandomWrite implements Workload {
  readonly name = 'randwrite';
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
    const block = this.random.nextInt(0, this.space.blockCount - 1);
    return this.space.request('write', block);
  }
}
