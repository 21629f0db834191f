import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../sim/random.js';
import { DeterministicScheduler } from '../../sim/scheduler.js';
import type { BlockIoError } from '../../src/block/block-device.js';
import {
  DeviceFaults,
  type FaultConfig,
  type FaultDecision,
  type FaultOperation,
  type FlakeyMode,
} from '../../src/block/faults.js';
import { SimulatedDevice, type SimulatedDeviceOptions } from '../../src/block/simulated-device.js';
import type { SparseExtent } from '../../src/block/sparse-store.js';

const SECTOR = 512;

function stamp(value: number, sectors = 1): Uint8Array {
  return new Uint8Array(sectors * SECTOR).fill(value);
}

function faultsWith(config: FaultConfig, seed = 1): DeviceFaults {
  return new DeviceFaults('leg0', new SeededRandom(seed).stream('leg0.faults'), config);
}

const ONE_SECTOR = { sector: 0, sectorCount: 1 };

/** A device on a deterministic scheduler with helpers that run each request to completion. */
function harness(options: Partial<SimulatedDeviceOptions> = {}) {
  const scheduler = new DeterministicScheduler();
  const leg = new SimulatedDevice({
    name: 'leg0',
    sizeSectors: 1024,
    scheduler,
    random: new SeededRandom(3),
    ...options,
  });
  const write = (sector: number, data: Uint8Array, fua = false): BlockIoError | null => {
    let result: BlockIoError | null | undefined;
    leg.write({ sector, data, fua }, (error) => {
      result = error;
    });
    scheduler.runUntilIdle();
    expect(result).not.toBeUndefined();
    return result!;
  };
  const writeSparse = (sector: number, sectorCount: number, extents: SparseExtent[]) => {
    let result: BlockIoError | null | undefined;
    leg.writeSparse({ sector, sectorCount, extents }, (error) => {
      result = error;
    });
    scheduler.runUntilIdle();
    return result!;
  };
  const read = (sector: number, sectorCount = 1) => {
    let result: { error: BlockIoError | null; data: Uint8Array | null } | undefined;
    leg.read({ sector, sectorCount }, (error, data) => {
      result = { error, data };
    });
    scheduler.runUntilIdle();
    return result!;
  };
  const readSparse = (sector: number, sectorCount: number) => {
    let result: { error: BlockIoError | null; extents: SparseExtent[] | null } | undefined;
    leg.readSparse({ sector, sectorCount }, (error, extents) => {
      result = { error, extents };
    });
    scheduler.runUntilIdle();
    return result!;
  };
  const flush = (): BlockIoError | null => {
    let result: BlockIoError | null | undefined;
    leg.flush((error) => {
      result = error;
    });
    scheduler.runUntilIdle();
    return result!;
  };
  const discard = (sector: number, sectorCount: number): BlockIoError | null => {
    let result: BlockIoError | null | undefined;
    leg.discard({ sector, sectorCount }, (error) => {
      result = error;
    });
    scheduler.runUntilIdle();
    return result!;
  };
  return { leg, scheduler, write, writeSparse, read, readSparse, flush, discard };
}

describe('fault outcomes on a device', () => {
  it('an error read completes with EIO naming the device and the reason', () => {
    const device = harness();
    device.write(0, stamp(1));
    device.leg.faults.injectNext('read', 'error');
    const { error, data } = device.read(0);
    expect(data).toBeNull();
    expect(error?.errno).toBe('EIO');
    expect(error?.deviceName).toBe('leg0');
    expect(error?.message).toBe('EIO: read at sector 0 on device "leg0" failed: injected error');
    expect(device.leg.stats.errors).toBe(1);
    // One-shot: the next read succeeds.
    expect(device.read(0).data).toEqual(stamp(1));
  });

  it('an error write completes with EIO and stores nothing, even with strategy all', () => {
    const device = harness({ writeCache: true });
    device.leg.faults.injectNext('write', 'error');
    expect(device.write(0, stamp(1))?.errno).toBe('EIO');
    expect(device.leg.content.read(0, 1)).toEqual(stamp(0));
    expect(device.leg.nonDurableWriteCount).toBe(0);
    device.leg.faults.injectNext('write', 'error');
    device.leg.write({ sector: 0, data: stamp(2) }, () => {});
    // A failed write is no crash candidate while in flight either.
    expect(device.leg.crashCandidates()).toEqual([]);
  });

  it('an error flush completes with EIO', () => {
    const device = harness();
    device.leg.faults.injectNext('flush', 'error');
    expect(device.flush()?.message).toMatch(/flush .*"leg0".*injected error/);
    expect(device.flush()).toBeNull();
  });

  it('an error discard completes with EIO and leaves the data', () => {
    const device = harness();
    device.write(0, stamp(4));
    device.leg.faults.injectNext('discard', 'error');
    expect(device.discard(0, 1)?.errno).toBe('EIO');
    expect(device.leg.content.read(0, 1)).toEqual(stamp(4));
  });

  it('a dropped write is acknowledged but not stored (dm-flakey drop_writes)', () => {
    const device = harness({ writeCache: true });
    device.write(0, stamp(1), true);
    device.leg.faults.injectNext('write', 'drop');
    expect(device.write(0, stamp(2), true)).toBeNull();
    expect(device.read(0).data).toEqual(stamp(1));
    expect(device.leg.stats.droppedWrites).toBe(1);
    device.leg.crash('all');
    expect(device.leg.content.read(0, 1)).toEqual(stamp(1));
  });

  it('a dropped discard is acknowledged but changes nothing', () => {
    const device = harness();
    device.write(0, stamp(1));
    device.leg.faults.injectNext('discard', 'drop');
    expect(device.discard(0, 1)).toBeNull();
    expect(device.read(0).data).toEqual(stamp(1));
  });

  it('a corrupt read changes one byte of what is returned, not what is stored', () => {
    const device = harness();
    device.write(0, stamp(0xaa));
    device.leg.faults.injectNext('read', 'corrupt');
    const { error, data } = device.read(0);
    expect(error).toBeNull();
    const changed = [...data!].filter((byte) => byte !== 0xaa).length;
    expect(changed).toBe(1);
    expect(device.leg.content.read(0, 1)).toEqual(stamp(0xaa));
  });

  it('a corrupt write stores the data with one byte changed', () => {
    const device = harness();
    device.leg.faults.injectNext('write', 'corrupt');
    const data = stamp(0xaa);
    expect(device.write(0, data)).toBeNull();
    const stored = device.leg.content.read(0, 1);
    expect([...stored].filter((byte) => byte !== 0xaa).length).toBe(1);
    // The caller's buffer is untouched.
    expect(data).toEqual(stamp(0xaa));
  });

  it('a corrupt sparse write stores its extents with one byte changed', () => {
    const device = harness();
    device.leg.faults.injectNext('write', 'corrupt');
    const extent = stamp(0xaa);
    expect(device.writeSparse(0, 4, [{ sectorOffset: 0, data: extent }])).toBeNull();
    const stored = device.leg.content.read(0, 4);
    expect([...stored].filter((byte, index) => byte !== (index < SECTOR ? 0xaa : 0)).length).toBe(
      1,
    );
    expect(extent).toEqual(stamp(0xaa));
  });

  it('a corrupt sparse read changes one byte, even inside a hole', () => {
    const device = harness({
      faults: {
        flakey: {
          upTicks: 0,
          downTicks: 10,
          mode: 'corrupt_reads',
          corruptByte: { byteIndex: 1025, value: 7 },
        },
      },
    });
    const { error, extents } = device.readSparse(0, 4);
    expect(error).toBeNull();
    const rebuilt = new Uint8Array(4 * SECTOR);
    for (const extent of extents!) rebuilt.set(extent.data, extent.sectorOffset * SECTOR);
    const expected = new Uint8Array(4 * SECTOR);
    expected[1024] = 7;
    expect(rebuilt).toEqual(expected);
  });

  it('fail() makes the chosen classes fail until heal()', () => {
    const device = harness();
    device.write(0, stamp(1));
    device.leg.faults.fail({ writes: true });
    expect(device.write(0, stamp(2))?.message).toMatch(/device failed \(writes\)/);
    expect(device.discard(0, 1)?.errno).toBe('EIO');
    expect(device.read(0).error).toBeNull();
    expect(device.flush()).toBeNull();
    device.leg.faults.fail();
    expect(device.read(0).error?.message).toMatch(/device failed \(reads\)/);
    expect(device.flush()?.message).toMatch(/device failed \(flushes\)/);
    expect(device.leg.faults.isFaulty).toBe(true);
    device.leg.faults.heal();
    expect(device.leg.faults.isFaulty).toBe(false);
    expect(device.write(0, stamp(3))).toBeNull();
    expect(device.read(0).data).toEqual(stamp(3));
  });
});

describe('explicit one-shot faults', () => {
  it('applies to the next request of that operation only, in the order injected', () => {
    const faults = faultsWith({});
    faults.injectNext('write', 'drop');
    faults.injectNext('read', 'error');
    faults.injectNext('write', 'error');
    expect(faults.isFaulty).toBe(true);
    expect(faults.decide('flush', 0, undefined).outcome).toBe('ok');
    expect(faults.decide('write', 0, ONE_SECTOR).outcome).toBe('drop');
    expect(faults.decide('write', 0, ONE_SECTOR).outcome).toBe('error');
    expect(faults.decide('write', 0, ONE_SECTOR).outcome).toBe('ok');
    expect(faults.decide('read', 0, ONE_SECTOR).outcome).toBe('error');
    expect(faults.decide('read', 0, ONE_SECTOR).outcome).toBe('ok');
    expect(faults.isFaulty).toBe(false);
  });

  it('refuses to drop a read or flush and to corrupt a flush or discard', () => {
    const faults = faultsWith({});
    expect(() => faults.injectNext('read', 'drop')).toThrow(/Cannot drop a read/);
    expect(() => faults.injectNext('flush', 'drop')).toThrow(RangeError);
    expect(() => faults.injectNext('flush', 'corrupt')).toThrow(/Cannot corrupt a flush/);
    expect(() => faults.injectNext('discard', 'corrupt')).toThrow(RangeError);
    expect(faults.isFaulty).toBe(false);
  });

  it('heal() forgets pending one-shots', () => {
    const faults = faultsWith({ readErrorProbability: 1 });
    faults.injectNext('write', 'error');
    faults.heal();
    expect(faults.decide('write', 0, ONE_SECTOR).outcome).toBe('ok');
    expect(faults.decide('read', 0, ONE_SECTOR).outcome).toBe('ok');
  });
});

describe('probabilistic faults drawn from the seed', () => {
  const outcomes = (config: FaultConfig, operation: FaultOperation, seed: number, count = 400) => {
    const faults = faultsWith(config, seed);
    return Array.from({ length: count }, () =>
      faults.decide(operation, 0, { sector: 0, sectorCount: 8 }),
    );
  };
  const rate = (decisions: FaultDecision[], outcome: string) =>
    decisions.filter((decision) => decision.outcome === outcome).length / decisions.length;

  it('fires at about the configured rate for each kind', () => {
    expect(rate(outcomes({ readErrorProbability: 0.3 }, 'read', 1, 4000), 'error')).toBeCloseTo(
      0.3,
      1,
    );
    expect(rate(outcomes({ writeErrorProbability: 0.3 }, 'write', 1, 4000), 'error')).toBeCloseTo(
      0.3,
      1,
    );
    expect(rate(outcomes({ flushErrorProbability: 0.3 }, 'flush', 1, 4000), 'error')).toBeCloseTo(
      0.3,
      1,
    );
    expect(rate(outcomes({ dropWriteProbability: 0.3 }, 'write', 1, 4000), 'drop')).toBeCloseTo(
      0.3,
      1,
    );
    expect(rate(outcomes({ dropWriteProbability: 0.3 }, 'discard', 1, 4000), 'drop')).toBeCloseTo(
      0.3,
      1,
    );
    expect(rate(outcomes({ readCorruptProbability: 0.3 }, 'read', 1, 4000), 'corrupt')).toBeCloseTo(
      0.3,
      1,
    );
    expect(
      rate(outcomes({ writeCorruptProbability: 0.3 }, 'write', 1, 4000), 'corrupt'),
    ).toBeCloseTo(0.3, 1);
  });

  it('never fires at probability 0 and always at 1, and only for its own operation', () => {
    expect(rate(outcomes({ readErrorProbability: 1 }, 'read', 2), 'error')).toBe(1);
    expect(rate(outcomes({ readErrorProbability: 1 }, 'write', 2), 'ok')).toBe(1);
    expect(rate(outcomes({ writeErrorProbability: 1 }, 'read', 2), 'ok')).toBe(1);
    expect(rate(outcomes({ writeCorruptProbability: 1 }, 'discard', 2), 'ok')).toBe(1);
    expect(rate(outcomes({ flushErrorProbability: 1 }, 'write', 2), 'ok')).toBe(1);
    expect(rate(outcomes({}, 'read', 2), 'ok')).toBe(1);
  });

  it('is deterministic per seed and differs between seeds', () => {
    const config = { readErrorProbability: 0.2, readCorruptProbability: 0.2 };
    expect(outcomes(config, 'read', 5)).toEqual(outcomes(config, 'read', 5));
    expect(outcomes(config, 'read', 5)).not.toEqual(outcomes(config, 'read', 6));
  });

  it('places random corruption inside the request, with a byte value 0-255', () => {
    for (const decision of outcomes({ writeCorruptProbability: 1 }, 'write', 9, 200)) {
      expect(decision.byteIndex).toBeGreaterThanOrEqual(0);
      expect(decision.byteIndex).toBeLessThan(8 * SECTOR);
      expect(decision.value).toBeGreaterThanOrEqual(0);
      expect(decision.value).toBeLessThanOrEqual(255);
    }
  });

  it('rejects probabilities outside [0, 1], naming the device and the key', () => {
    expect(() => faultsWith({ readErrorProbability: 1.5 })).toThrow(
      'Device "leg0" fault readErrorProbability 1.5 is not in [0, 1]',
    );
    expect(() => faultsWith({ dropWriteProbability: -0.1 })).toThrow(RangeError);
    expect(() => faultsWith({ writeErrorProbability: Number.NaN })).toThrow(RangeError);
  });

  it('on a device, fault draws never shift latency draws (separate streams)', () => {
    const times = (config: FaultConfig) => {
      const scheduler = new DeterministicScheduler();
      const leg = new SimulatedDevice({
        name: 'leg0',
        sizeSectors: 64,
        scheduler,
        random: new SeededRandom(8),
        faults: config,
        latency: { write: { kind: 'exponential', minimumTicks: 0, meanTicks: 100 } },
      });
      const result: number[] = [];
      for (let index = 0; index < 30; index++) {
        leg.write({ sector: index, data: stamp(1) }, () => result.push(scheduler.now()));
      }
      scheduler.runUntilIdle();
      return result;
    };
    expect(times({ writeErrorProbability: 0.5, dropWriteProbability: 0.5 })).toEqual(times({}));
  });
});

describe('dm-dust bad blocks', () => {
  const dust = (blocks: number[], enabled?: boolean) =>
    faultsWith({
      badBlocks: { blockSizeBytes: 4096, blocks, ...(enabled === undefined ? {} : { enabled }) },
    });

  it('fails reads that touch a listed block and passes the rest', () => {
    const faults = dust([2]);
    expect(faults.decide('read', 0, { sector: 16, sectorCount: 1 }).outcome).toBe('error');
    expect(faults.decide('read', 0, { sector: 23, sectorCount: 1 }).reason).toBe('bad block 2');
    expect(faults.decide('read', 0, { sector: 8, sectorCount: 9 }).outcome).toBe('error');
    expect(faults.decide('read', 0, { sector: 8, sectorCount: 8 }).outcome).toBe('ok');
    expect(faults.decide('read', 0, { sector: 24, sectorCount: 8 }).outcome).toBe('ok');
  });

  it('a write to a bad block succeeds and removes it from the list (remap)', () => {
    const device = harness({ faults: { badBlocks: { blockSizeBytes: 4096, blocks: [2, 3] } } });
    expect(device.read(16).error?.message).toMatch(/bad block 2/);
    expect(device.write(17, stamp(5))).toBeNull();
    expect(device.leg.faults.queryBadBlock(2)).toBe(false);
    expect(device.leg.faults.queryBadBlock(3)).toBe(true);
    expect(device.read(16, 8).error).toBeNull();
    expect(device.read(17).data).toEqual(stamp(5));
    expect(device.read(24).error?.errno).toBe('EIO');
  });

  it('adding a listed block or removing an absent one is an error (EINVAL in dm-dust)', () => {
    const faults = dust([1]);
    expect(() => faults.addBadBlock(1)).toThrow(
      'Device "leg0" block 1 is already in the bad-block list',
    );
    expect(() => faults.removeBadBlock(7)).toThrow(
      'Device "leg0" block 7 is not in the bad-block list',
    );
    expect(() => faults.addBadBlock(-1)).toThrow(RangeError);
    expect(() => dust([4, 4])).toThrow(/already/);
    faults.addBadBlock(9);
    expect(faults.badBlockCount).toBe(2);
    faults.removeBadBlock(1);
    expect(faults.queryBadBlock(1)).toBe(false);
    expect(faults.badBlockCount).toBe(1);
    faults.clearBadBlocks();
    expect(faults.badBlockCount).toBe(0);
  });

  it('can be prepared disabled and armed later (enable/disable)', () => {
    const faults = dust([0], false);
    expect(faults.decide('read', 0, ONE_SECTOR).outcome).toBe('ok');
    expect(faults.isFaulty).toBe(false);
    faults.enableBadBlocks();
    expect(faults.decide('read', 0, ONE_SECTOR).outcome).toBe('error');
    faults.disableBadBlocks();
    expect(faults.decide('read', 0, ONE_SECTOR).outcome).toBe('ok');
    // A write while disabled does not remap.
    faults.decide('write', 0, ONE_SECTOR);
    expect(faults.queryBadBlock(0)).toBe(true);
  });

  it('needs a configured block size, a power of two from 512 bytes', () => {
    const bare = faultsWith({});
    expect(() => bare.addBadBlock(1)).toThrow(/no bad-block list configured/);
    expect(() => bare.enableBadBlocks()).toThrow(/no bad-block list/);
    expect(() => faultsWith({ badBlocks: { blockSizeBytes: 1000 } })).toThrow(
      /bad-block size 1000 is not a power of two/,
    );
    expect(() => faultsWith({ badBlocks: { blockSizeBytes: 256 } })).toThrow(RangeError);
    expect(() => faultsWith({ badBlocks: { blockSizeBytes: 512 } })).not.toThrow();
  });
});

describe('dm-flakey up/down intervals', () => {
  const flakey = (mode: FlakeyMode, extra: Partial<FaultConfig['flakey']> = {}) =>
    faultsWith({ flakey: { upTicks: 100, downTicks: 50, mode, ...extra } });

  it('works normally while up and misbehaves while down, cycle after cycle', () => {
    const faults = flakey('error');
    const at = (time: number) => faults.decide('read', time, ONE_SECTOR).outcome;
    expect([0, 99, 100, 149, 150, 249, 250, 299, 300].map(at)).toEqual([
      'ok',
      'ok',
      'error',
      'error',
      'ok',
      'ok',
      'error',
      'error',
      'ok',
    ]);
  });

  it('starts its cycle at startTicks and is up before it', () => {
    const faults = flakey('error', { startTicks: 1000 });
    expect(faults.decide('write', 500, ONE_SECTOR).outcome).toBe('ok');
    expect(faults.decide('write', 1099, ONE_SECTOR).outcome).toBe('ok');
    expect(faults.decide('write', 1100, ONE_SECTOR).outcome).toBe('error');
  });

  it('in each mode fails, drops or corrupts only its own class while down', () => {
    const table: Array<[FlakeyMode, Record<FaultOperation, string>]> = [
      ['error', { read: 'error', write: 'error', discard: 'error', flush: 'error' }],
      ['error_reads', { read: 'error', write: 'ok', discard: 'ok', flush: 'ok' }],
      ['error_writes', { read: 'ok', write: 'error', discard: 'error', flush: 'ok' }],
      ['drop_writes', { read: 'ok', write: 'drop', discard: 'drop', flush: 'ok' }],
      ['corrupt_reads', { read: 'corrupt', write: 'ok', discard: 'ok', flush: 'ok' }],
      ['corrupt_writes', { read: 'ok', write: 'corrupt', discard: 'ok', flush: 'ok' }],
    ];
    for (const [mode, expected] of table) {
      const faults = flakey(mode);
      for (const operation of ['read', 'write', 'discard', 'flush'] as const) {
        const range = operation === 'flush' ? undefined : ONE_SECTOR;
        expect(faults.decide(operation, 120, range).outcome, `${mode} ${operation}`).toBe(
          expected[operation],
        );
        expect(faults.decide(operation, 20, range).outcome, `${mode} ${operation} up`).toBe('ok');
      }
    }
  });

  it('corrupt_bio_byte sets the Nth byte (1-based) when the request is long enough', () => {
    const faults = flakey('corrupt_writes', { corruptByte: { byteIndex: 600, value: 0x5a } });
    const short = faults.decide('write', 120, ONE_SECTOR);
    expect(short.outcome).toBe('ok');
    const long = faults.decide('write', 120, { sector: 0, sectorCount: 2 });
    expect(long).toEqual({
      outcome: 'corrupt',
      byteIndex: 599,
      value: 0x5a,
      xor: false,
      reason: 'flakey corrupt_bio_byte',
    });
  });

  it('drop_writes on a device acknowledges writes while down and stores them while up', () => {
    const device = harness({
      faults: { flakey: { upTicks: 100, downTicks: 100, mode: 'drop_writes' } },
    });
    expect(device.write(0, stamp(1))).toBeNull();
    device.scheduler.runFor(150);
    expect(device.write(0, stamp(2))).toBeNull();
    expect(device.read(0).data).toEqual(stamp(1));
    device.scheduler.runFor(100);
    expect(device.write(0, stamp(3))).toBeNull();
    expect(device.read(0).data).toEqual(stamp(3));
  });

  it('rejects bad intervals and bad corrupt bytes', () => {
    expect(() => faultsWith({ flakey: { upTicks: 0, downTicks: 0, mode: 'error' } })).toThrow(
      /both zero/,
    );
    expect(() => faultsWith({ flakey: { upTicks: -1, downTicks: 5, mode: 'error' } })).toThrow(
      /up -1 \/ down 5/,
    );
    expect(() => faultsWith({ flakey: { upTicks: 1, downTicks: 1.5, mode: 'error' } })).toThrow(
      RangeError,
    );
    expect(() =>
      faultsWith({
        flakey: {
          upTicks: 1,
          downTicks: 1,
          mode: 'corrupt_reads',
          corruptByte: { byteIndex: 0, value: 1 },
        },
      }),
    ).toThrow(/1-based/);
    expect(() =>
      faultsWith({
        flakey: {
          upTicks: 1,
          downTicks: 1,
          mode: 'corrupt_reads',
          corruptByte: { byteIndex: 1, value: 256 },
        },
      }),
    ).toThrow(/0-255/);
  });

  it('explicit failures take precedence over flakey, and flakey over probabilities', () => {
    const faults = faultsWith({
      readErrorProbability: 1,
      flakey: { upTicks: 10, downTicks: 10, mode: 'corrupt_reads' },
    });
    expect(faults.decide('read', 15, ONE_SECTOR).outcome).toBe('corrupt');
    expect(faults.decide('read', 5, ONE_SECTOR).outcome).toBe('error');
    faults.injectNext('read', 'error');
    expect(faults.decide('read', 15, ONE_SECTOR).reason).toBe('injected error');
  });

  it('configure() replaces the whole configuration', () => {
    const faults = flakey('error');
    faults.configure({ writeErrorProbability: 1 });
    expect(faults.decide('read', 120, ONE_SECTOR).outcome).toBe('ok');
    expect(faults.decide('write', 0, ONE_SECTOR).outcome).toBe('error');
  });
});
