/**
 * `randwrite`: block-size writes to blocks drawn uniformly over the whole
 * device, like fio's `rw=randwrite` without a random map (blocks repeat).
 * {@link UniformRandom} is the shape it shares with `mixed`.
 */
import type { RandomStream } from '../../src/world/random-stream.js';
import { BlockSpace } from './block-space.js';
import type { Workload, WorkloadOptions, WorkloadRequest } from './workload.js';

/**
 * Requests to uniformly random blocks, each a write with probability
 * `writeFraction` and otherwise a read. A request draws its direction first
 * (no draw at all when every request is a write) and its block second.
 */
export class UniformRandom implements Workload {
  private readonly space: BlockSpace;
  private readonly random: RandomStream;
  private readonly ops: number;
  private issued = 0;

  constructor(
    options: WorkloadOptions,
    readonly name: string,
    private readonly writeFraction: number,
  ) {
    if (!(writeFraction >= 0 && writeFraction <= 1)) {
      throw new RangeError(`Write fraction ${writeFraction} is not in [0, 1]`);
    }
    this.space = new BlockSpace(options);
    this.random = options.random;
    this.ops = options.ops;
  }

  next(): WorkloadRequest | undefined {
    if (this.issued >= this.ops) return undefined;
    this.issued++;
    const isWrite = this.random.nextBoolean(this.writeFraction);
    const block = this.random.nextInt(0, this.space.blockCount - 1);
    return this.space.request(isWrite ? 'write' : 'read', block);
  }
}

/** Uniformly random, block-aligned writes. */
export class RandomWrite extends UniformRandom {
  constructor(options: WorkloadOptions) {
    super(options, 'randwrite', 1);
  }
}
