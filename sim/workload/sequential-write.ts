/**
 * `seqwrite`: block-size writes from sector 0 upward, wrapping to block 0
 * after the last whole block, like fio's `rw=write` looping over a device.
 * It draws no randomness: the sequence depends only on the geometry.
 */
import { BlockSpace } from './block-space.js';
import type { Workload, WorkloadOptions, WorkloadRequest } from './workload.js';

/** Sequential, block-aligned writes that wrap at the end of the device. */
export class SequentialWrite implements Workload {
  readonly name = 'seqwrite';
  private readonly space: BlockSpace;
  private readonly ops: number;
  private issued = 0;
  private nextBlock = 0;

  constructor(options: WorkloadOptions) {
    this.space = new BlockSpace(options);
    this.ops = options.ops;
  }

  next(): WorkloadRequest | undefined {
    if (this.issued >= this.ops) return undefined;
    this.issued++;
    const request = this.space.request('write', this.nextBlock);
    this.nextBlock = this.nextBlock + 1 === this.space.blockCount ? 0 : this.nextBlock + 1;
    return request;
  }
}
