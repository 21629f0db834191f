/**
 * Workloads: pull-based streams of block requests that a driver issues to
 * the mirror. The driver decides how many requests are in flight; a
 * workload only decides what comes next. Every generator draws from the one
 * RandomStream it is given, so a seed reproduces the stream exactly.
 *
 * @example
 * ```ts
 * const workload = createWorkload('zipf:1.2', {
 *   deviceSizeSectors: 131072, blockSizeSectors: 8, ops: 1000, random,
 * });
 * for (let request = workload.next(); request; request = workload.next()) issue(request);
 * ```
 */
import type { RandomStream } from '../../src/world/random-stream.js';
import { IologWorkload, loadIolog } from './fio-iolog.js';
import { MixedReadWrite } from './mixed.js';
import { RandomWrite } from './random-write.js';
import { SequentialWrite } from './sequential-write.js';
import { ZIPF_THETA_DEFAULT, ZipfWrite } from './zipf-write.js';

/** What a request does: the four requests a block device accepts. */
export type WorkloadOp = 'write' | 'read' | 'flush' | 'discard';

/**
 * One request in 512-byte sectors. A flush carries no range: its `sector`
 * and `sectorCount` are both 0. `fua` asks for the write to be durable when
 * it completes (always false for anything but a write).
 */
export type WorkloadRequest = {
  readonly op: WorkloadOp;
  readonly sector: number;
  readonly sectorCount: number;
  readonly fua: boolean;
};

/** A stream of requests; `next()` returns undefined once the workload is done. */
export interface Workload {
  /** The spec that names this workload, e.g. `zipf:1.2` or `fio:trace.iolog`. */
  readonly name: string;
  next(): WorkloadRequest | undefined;
}

/** What every built-in workload is created from. */
export interface WorkloadOptions {
  /** The device the requests address; requests stay inside it. */
  readonly deviceSizeSectors: number;
  /** The request size and alignment of the generators (a fio trace keeps its own sizes). */
  readonly blockSizeSectors: number;
  /** How many requests the workload yields before it is done. */
  readonly ops: number;
  /** The only source of randomness the workload draws from. */
  readonly random: RandomStream;
}

/** The spec forms {@link createWorkload} accepts, for error and help text. */
export const WORKLOAD_SPEC_FORMS =
  'randwrite, seqwrite, zipf, zipf:THETA (e.g. zipf:1.2), mixed, or fio:FILE (a fio write_iolog)';

/**
 * Builds the workload a spec string names: `randwrite`, `seqwrite`, `zipf`
 * (theta 1.2, fio's `zipf:1.2`), `zipf:THETA`, `mixed` (70 % writes, 30 %
 * reads) or `fio:FILE` (a fio `write_iolog` trace, versions 2 and 3, loaded
 * from FILE now and replayed with its offsets folded into the device).
 * Throws a RangeError naming a spec it does not know.
 */
export function createWorkload(spec: string, options: WorkloadOptions): Workload {
  if (spec === 'randwrite') return new RandomWrite(options);
  if (spec === 'seqwrite') return new SequentialWrite(options);
  if (spec === 'mixed') return new MixedReadWrite(options);
  if (spec === 'zipf') return new ZipfWrite({ ...options, theta: ZIPF_THETA_DEFAULT });
  if (spec.startsWith('zipf:')) {
    const thetaText = spec.slice('zipf:'.length);
    const theta = /^\d+(\.\d+)?$/.test(thetaText) ? Number(thetaText) : Number.NaN;
    if (!(theta > 0)) {
      throw new RangeError(
        `Workload "${spec}" has an invalid zipf theta "${thetaText}": expected a positive decimal number such as 1.2`,
      );
    }
    return new ZipfWrite({ ...options, theta });
  }
  if (spec.startsWith('fio:') && spec.length > 'fio:'.length) {
    const path = spec.slice('fio:'.length);
    return new IologWorkload(loadIolog(path), {
      deviceSizeSectors: options.deviceSizeSectors,
      ops: options.ops,
    });
  }
  throw new RangeError(`Workload "${spec}" is not known: expected ${WORKLOAD_SPEC_FORMS}`);
}
