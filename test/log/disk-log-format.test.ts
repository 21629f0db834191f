import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SparseStore } from '../../src/block/sparse-store.js';
import {
  coveredRegionCount,
  decodeLogHeader,
  encodeLogHeader,
  isCompatibleLogVersion,
  LOG_HEADER_SIZE_BYTES,
  LOG_OFFSET_BYTES,
  LOG_OFFSET_SECTORS,
  logBufferSizeBytes,
  MIRROR_DISK_VERSION,
  MIRROR_MAGIC,
  normalizeLogVersion,
  readDiskLogImage,
} from '../../src/log/disk-log-format.js';
import { headerBytes } from './log-test-kit.js';

describe('constants', () => {
  it('§7 MIRROR_MAGIC, MIRROR_DISK_VERSION and LOG_OFFSET', () => {
    expect(MIRROR_MAGIC).toBe(0x4d695272);
    expect(MIRROR_DISK_VERSION).toBe(2);
    expect(LOG_OFFSET_SECTORS).toBe(2);
    expect(LOG_OFFSET_BYTES).toBe(1024);
    expect(LOG_HEADER_SIZE_BYTES).toBe(16);
  });
});

describe('header encoding', () => {
  it('§2.2 writes magic, version and nr_regions little-endian: 72 52 69 4D 02 00 00 00 ...', () => {
    const buffer = new Uint8Array(32).fill(0xee);
    encodeLogHeader({ magic: MIRROR_MAGIC, version: 2, nrRegions: 0x0102_0304_0506n }, buffer);
    expect([...buffer.subarray(0, 16)]).toEqual([
      0x72, 0x52, 0x69, 0x4d, 0x02, 0x00, 0x00, 0x00, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, 0x00,
      0x00,
    ]);
    // Bytes past the header are not the header's.
    expect(buffer[16]).toBe(0xee);
    expect(new TextDecoder().decode(buffer.subarray(0, 4))).toBe('rRiM');
  });

  it('§2.2 decodes what it encodes, including u64 region counts past 2^53', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 0xffff_ffff }),
        fc.nat({ max: 0xffff_ffff }),
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        (magic, version, nrRegions) => {
          const buffer = new Uint8Array(16);
          encodeLogHeader({ magic, version, nrRegions }, buffer);
          expect(decodeLogHeader(buffer)).toEqual({ magic, version, nrRegions });
        },
      ),
    );
  });

  it('matches the test kit’s independent encoding', () => {
    const buffer = new Uint8Array(16);
    encodeLogHeader({ magic: MIRROR_MAGIC, version: 2, nrRegions: 1600n }, buffer);
    expect([...buffer]).toEqual(headerBytes(2, 1600));
  });

  it('rejects a buffer shorter than the header', () => {
    expect(() => decodeLogHeader(new Uint8Array(15))).toThrow(/15 bytes is too short/);
  });
});

describe('version rule', () => {
  it('§2.2 accepts version 1 as version 2 on little-endian hosts, and nothing else', () => {
    expect(normalizeLogVersion(1)).toBe(2);
    expect(normalizeLogVersion(2)).toBe(2);
    expect(normalizeLogVersion(3)).toBe(3);
    expect(isCompatibleLogVersion(1)).toBe(true);
    expect(isCompatibleLogVersion(2)).toBe(true);
    expect(isCompatibleLogVersion(0)).toBe(false);
    expect(isCompatibleLogVersion(3)).toBe(false);
  });
});

describe('buffer size', () => {
  it('§2.1 buf_size = round_up(1024 + bitset_size, logical block size)', () => {
    // 1 region: an 8-byte bitset.
    expect(logBufferSizeBytes(1, 512)).toBe(1536);
    expect(logBufferSizeBytes(1, 4096)).toBe(4096);
    // 4096 regions: 512 bytes of bitset, exactly 3 sectors.
    expect(logBufferSizeBytes(4096, 512)).toBe(1536);
    expect(logBufferSizeBytes(4097, 512)).toBe(2048);
    expect(logBufferSizeBytes(30_000, 4096)).toBe(8192);
  });

  it('rejects a logical block size below a sector', () => {
    expect(() => logBufferSizeBytes(1, 256)).toThrow(/256 bytes/);
  });
});

describe('covered regions', () => {
  it('§2.5 disk_resume counts nr_regions in an unsigned int, so only its low 32 bits matter', () => {
    expect(coveredRegionCount(100n)).toBe(100);
    expect(coveredRegionCount(2n ** 32n + 5n)).toBe(5);
  });
});

describe('readDiskLogImage', () => {
  function storeWith(header: number[], bitmap: number[], sizeSectors = 8): SparseStore {
    const store = new SparseStore(sizeSectors);
    const bytes = new Uint8Array(2048);
    bytes.set(header, 0);
    bytes.set(bitmap, LOG_OFFSET_BYTES);
    store.write(0, bytes);
    return store;
  }

  it('§2.2 decodes the header and the clean bitmap at byte 1024', () => {
    const image = readDiskLogImage(storeWith(headerBytes(2, 100), [0b0000_0101, 0x80]), 100);
    expect(image.header).toEqual({ magic: MIRROR_MAGIC, version: 2, nrRegions: 100n });
    expect(image.valid).toBe(true);
    expect(image.cleanBits.bytes.length).toBe(16);
    expect([0, 1, 2, 15].map((region) => image.cleanOnResume(region))).toEqual([
      true,
      false,
      true,
      true,
    ]);
  });

  it('§2.5 a default resume keeps no bit of an image with a bad magic or version', () => {
    expect(readDiskLogImage(storeWith(headerBytes(2, 16, 0x1234), [0xff]), 16).valid).toBe(false);
    const wrongVersion = readDiskLogImage(storeWith(headerBytes(3, 16), [0xff]), 16);
    expect(wrongVersion.valid).toBe(false);
    expect(wrongVersion.cleanOnResume(0)).toBe(false);
    const versionOne = readDiskLogImage(storeWith(headerBytes(1, 16), [0xff]), 16);
    expect(versionOne.valid).toBe(true);
    expect(versionOne.cleanOnResume(0)).toBe(true);
  });

  it('§2.5 regions past nr_regions (the device grew) start out of sync', () => {
    const image = readDiskLogImage(storeWith(headerBytes(2, 4), [0xff, 0xff]), 16);
    expect(image.cleanOnResume(3)).toBe(true);
    expect(image.cleanOnResume(4)).toBe(false);
    expect(image.cleanOnResume(15)).toBe(false);
  });

  it('checks the region and the image size', () => {
    const store = storeWith(headerBytes(2, 16), [0xff]);
    const image = readDiskLogImage(store, 16);
    expect(() => image.cleanOnResume(16)).toThrow(/Region 16 is out of range/);
    expect(() => readDiskLogImage(new SparseStore(2), 16)).toThrow(/at least 3 sectors/);
  });

  it('refuses a region that is not an integer in [0, regionCount) with the range it expected', () => {
    const image = readDiskLogImage(storeWith(headerBytes(2, 16), [0xff, 0xff]), 16);
    for (const region of [16, -1, 1.5, -0.5, Number.NaN, 2 ** 53]) {
      expect(() => image.cleanOnResume(region)).toThrow(
        new RangeError(`Region ${region} is out of range: expected an integer from 0 to 15`),
      );
    }
    expect(image.cleanOnResume(0)).toBe(true);
    expect(image.cleanOnResume(15)).toBe(true);
  });
});
