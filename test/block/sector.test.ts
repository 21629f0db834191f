import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../sim/random.js';
import { DeterministicScheduler } from '../../sim/scheduler.js';
import {
  checkGeometry,
  checkRange,
  DEVICE_SIZE_BYTES_MAX,
  DEVICE_SIZE_SECTORS_MAX,
  SECTOR_SIZE_BYTES,
  sectorsOfBuffer,
} from '../../src/block/sector.js';
import { SimulatedDevice } from '../../src/block/simulated-device.js';

const PIB_SECTORS = 2 ** 50 / 512;

function device(options: { sizeSectors: number; logicalBlockSizeBytes?: number }): SimulatedDevice {
  return new SimulatedDevice({
    name: 'leg0',
    scheduler: new DeterministicScheduler(),
    random: new SeededRandom(1),
    ...options,
  });
}

describe('sector geometry', () => {
  it('uses 512-byte sectors and a 2^50-byte maximum', () => {
    expect(SECTOR_SIZE_BYTES).toBe(512);
    expect(DEVICE_SIZE_BYTES_MAX).toBe(2 ** 50);
    expect(DEVICE_SIZE_SECTORS_MAX).toBe(2 ** 41);
  });

  it('accepts a 1 PiB device and rejects anything larger, naming the device and the size', () => {
    expect(() => device({ sizeSectors: PIB_SECTORS })).not.toThrow();
    expect(() => device({ sizeSectors: PIB_SECTORS + 1 })).toThrow(RangeError);
    expect(() => device({ sizeSectors: PIB_SECTORS + 1 })).toThrow(
      /"leg0".*2199023255553 sectors.*maximum/,
    );
  });

  it('rejects a size that is not a positive integer', () => {
    for (const sizeSectors of [0, -8, 1.5, Number.NaN, 2 ** 53]) {
      expect(() => checkGeometry({ name: 'd', sizeSectors, logicalBlockSizeBytes: 512 })).toThrow(
        RangeError,
      );
    }
  });

  it('accepts logical blocks that are powers of two from 512 to 65536 bytes only', () => {
    for (const size of [512, 1024, 4096, 65536]) {
      expect(() =>
        checkGeometry({ name: 'd', sizeSectors: 1024, logicalBlockSizeBytes: size }),
      ).not.toThrow();
    }
    for (const size of [0, 256, 768, 1000, 3072, 131072]) {
      expect(() =>
        checkGeometry({ name: 'd', sizeSectors: 1024, logicalBlockSizeBytes: size }),
      ).toThrow(/logical block size/);
    }
  });

  it('rejects a size that is not a whole number of logical blocks', () => {
    expect(() => device({ sizeSectors: 12, logicalBlockSizeBytes: 4096 })).toThrow(
      /"leg0" size 12 sectors is not a multiple of its 4096-byte blocks/,
    );
  });
});

describe('request validation', () => {
  const geometry = { name: 'leg1', sizeSectors: 1024, logicalBlockSizeBytes: 512 };

  it('rejects a request that ends past the device, naming the request and the device', () => {
    expect(() => checkRange(geometry, 'write', { sector: 1020, sectorCount: 8 })).toThrow(
      'Invalid write of 8 sectors at sector 1020 on device "leg1": it ends past the device\'s last sector (size 1024 sectors)',
    );
    expect(() => checkRange(geometry, 'read', { sector: 1024, sectorCount: 1 })).toThrow(
      RangeError,
    );
    expect(() => checkRange(geometry, 'read', { sector: 1023, sectorCount: 1 })).not.toThrow();
  });

  it('rejects zero and negative lengths and bad start sectors', () => {
    expect(() => checkRange(geometry, 'discard', { sector: 0, sectorCount: 0 })).toThrow(
      /Invalid discard of 0 sectors at sector 0 on device "leg1": the length/,
    );
    expect(() => checkRange(geometry, 'read', { sector: 0, sectorCount: -1 })).toThrow(RangeError);
    expect(() => checkRange(geometry, 'read', { sector: 0, sectorCount: 0.5 })).toThrow(RangeError);
    expect(() => checkRange(geometry, 'read', { sector: -1, sectorCount: 1 })).toThrow(
      /start sector/,
    );
    expect(() => checkRange(geometry, 'read', { sector: 2.5, sectorCount: 1 })).toThrow(RangeError);
  });

  it('rejects requests not aligned to a 4096-byte logical block device', () => {
    const large = { name: 'nvme', sizeSectors: 1024, logicalBlockSizeBytes: 4096 };
    expect(() => checkRange(large, 'write', { sector: 4, sectorCount: 8 })).toThrow(
      /Invalid write of 8 sectors at sector 4 on device "nvme": not aligned to the device's 4096-byte logical blocks/,
    );
    expect(() => checkRange(large, 'write', { sector: 8, sectorCount: 4 })).toThrow(/aligned/);
    expect(() => checkRange(large, 'write', { sector: 8, sectorCount: 16 })).not.toThrow();
  });

  it('accepts exactly the in-range, aligned, non-empty requests (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(512, 1024, 4096),
        fc.integer({ min: -4, max: 140 }),
        fc.integer({ min: -2, max: 140 }),
        (blockBytes, sector, sectorCount) => {
          const blockSectors = blockBytes / 512;
          const checked = { name: 'p', sizeSectors: 128, logicalBlockSizeBytes: blockBytes };
          const valid =
            sector >= 0 &&
            sectorCount > 0 &&
            sector + sectorCount <= 128 &&
            sector % blockSectors === 0 &&
            sectorCount % blockSectors === 0;
          let threw: unknown;
          try {
            checkRange(checked, 'read', { sector, sectorCount });
          } catch (error) {
            threw = error;
          }
          expect(threw === undefined).toBe(valid);
          if (threw !== undefined) {
            expect(threw).toBeInstanceOf(RangeError);
            expect(String(threw)).toContain(`${sectorCount} sectors at sector ${sector}`);
            expect(String(threw)).toContain('"p"');
          }
        },
      ),
    );
  });

  it('requires write data to be a positive whole number of sectors', () => {
    expect(sectorsOfBuffer(geometry, 'write', new Uint8Array(1536))).toBe(3);
    expect(() => sectorsOfBuffer(geometry, 'write', new Uint8Array(0))).toThrow(
      'Invalid write on device "leg1": data of 0 bytes is not a positive multiple of 512',
    );
    expect(() => sectorsOfBuffer(geometry, 'write', new Uint8Array(700))).toThrow(/700 bytes/);
  });

  it('the device applies every check before it accepts a request', () => {
    const leg = device({ sizeSectors: 64, logicalBlockSizeBytes: 4096 });
    const never = (): void => {
      throw new Error('a rejected request must not complete');
    };
    expect(() => leg.read({ sector: 64, sectorCount: 8 }, never)).toThrow(/read .*"leg0".*past/);
    expect(() => leg.readSparse({ sector: 1, sectorCount: 8 }, never)).toThrow(/aligned/);
    expect(() => leg.write({ sector: 0, data: new Uint8Array(4097) }, never)).toThrow(/4097 bytes/);
    expect(() => leg.write({ sector: 0, data: new Uint8Array(512) }, never)).toThrow(
      /write of 1 sectors at sector 0 on device "leg0": not aligned/,
    );
    expect(() => leg.write({ sector: 60, data: new Uint8Array(8 * 512) }, never)).toThrow(/past/);
    expect(() => leg.discard({ sector: 0, sectorCount: 0 }, never)).toThrow(/discard of 0/);
    expect(() => leg.writeSparse({ sector: 0, sectorCount: 8, extents: [] }, never)).not.toThrow();
    expect(() =>
      leg.writeSparse(
        {
          sector: 0,
          sectorCount: 8,
          extents: [{ sectorOffset: 6, data: new Uint8Array(1024 * 2) }],
        },
        never,
      ),
    ).toThrow(/extent at offset 6 runs outside its 8-sector range/);
    expect(leg.stats.writes).toBe(1);
    expect(leg.stats.reads).toBe(0);
    expect(leg.stats.discards).toBe(0);
  });
});
