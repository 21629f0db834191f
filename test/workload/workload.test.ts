import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../sim/random.js';
import { IologError, IologWorkload } from '../../sim/workload/fio-iolog.js';
import { MixedReadWrite } from '../../sim/workload/mixed.js';
import { RandomWrite } from '../../sim/workload/random-write.js';
import { SequentialWrite } from '../../sim/workload/sequential-write.js';
import { createWorkload, type WorkloadOptions } from '../../sim/workload/workload.js';
import { ZipfWrite } from '../../sim/workload/zipf-write.js';
import { drain } from './workload-helpers.js';

function options(seed = 1, ops = 50): WorkloadOptions {
  return {
    deviceSizeSectors: 131072,
    blockSizeSectors: 8,
    ops,
    random: new SeededRandom(seed).stream('workload'),
  };
}

describe('createWorkload', () => {
  it('builds each built-in workload from its spec', () => {
    expect(createWorkload('randwrite', options())).toBeInstanceOf(RandomWrite);
    expect(createWorkload('seqwrite', options())).toBeInstanceOf(SequentialWrite);
    expect(createWorkload('mixed', options())).toBeInstanceOf(MixedReadWrite);
    const zipf = createWorkload('zipf', options());
    expect(zipf).toBeInstanceOf(ZipfWrite);
    expect(zipf.name).toBe('zipf:1.2');
    expect(createWorkload('zipf:0.8', options()).name).toBe('zipf:0.8');
    expect(createWorkload('zipf:2', options()).name).toBe('zipf:2');
  });

  it('gives the same requests as constructing the generator directly', () => {
    expect(drain(createWorkload('randwrite', options(9)))).toEqual(
      drain(new RandomWrite(options(9))),
    );
    expect(drain(createWorkload('zipf', options(9)))).toEqual(drain(new ZipfWrite(options(9))));
  });

  it('loads fio:FILE as a trace replay, ignoring the block size', () => {
    const workload = createWorkload('fio:bench/traces/fio-trimwrite-v3.iolog', options(1, 4));
    expect(workload).toBeInstanceOf(IologWorkload);
    expect(workload.name).toBe('fio:bench/traces/fio-trimwrite-v3.iolog');
    expect(drain(workload).map((request) => [request.op, request.sectorCount])).toEqual([
      ['discard', 32],
      ['write', 32],
      ['discard', 32],
      ['write', 32],
    ]);
  });

  it('rejects an unknown spec with a RangeError listing the accepted forms', () => {
    for (const spec of ['', 'randread', 'RANDWRITE', 'fio:', 'zipf1.2', 'seqwrite ']) {
      expect(() => createWorkload(spec, options())).toThrow(RangeError);
      expect(() => createWorkload(spec, options())).toThrow(
        `Workload "${spec}" is not known: expected randwrite, seqwrite, zipf, zipf:THETA (e.g. zipf:1.2), mixed, or fio:FILE (a fio write_iolog)`,
      );
    }
  });

  it('rejects a zipf theta that is not a positive decimal', () => {
    for (const theta of ['', 'abc', '0', '0.0', '-1', '1e3', '1.2.3']) {
      expect(() => createWorkload(`zipf:${theta}`, options())).toThrow(
        `Workload "zipf:${theta}" has an invalid zipf theta "${theta}": expected a positive decimal number such as 1.2`,
      );
    }
  });

  it('passes a missing trace file on as an IologError', () => {
    expect(() => createWorkload('fio:/nonexistent/trace.iolog', options())).toThrow(IologError);
  });
});
