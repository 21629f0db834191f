import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvariantError } from '../../src/assert.js';
import { type BlockDevice, BlockIoError } from '../../src/block/block-device.js';
import { SparseStore } from '../../src/block/sparse-store.js';
import { spawn } from '../../src/concurrency/blocking.js';
import { EIO, EOPNOTSUPP } from '../../src/errno.js';
import type { DirtyLog } from '../../src/log/dirty-log.js';
import { DISK_LOG_TYPE_NAME, DiskLog } from '../../src/log/disk-log.js';
import { readDiskLogImage } from '../../src/log/disk-log-format.js';
import { createDirtyLog, findDirtyLogType } from '../../src/log/registry.js';
import { TableError } from '../../src/table/table-error.js';
import { type HarnessOptions, headerBytes, imageBytes, LogHarness, run } from './log-test-kit.js';

/** 100 regions of 1024 sectors: a 16-byte bitset, a 1536-byte (3-sector) buffer. */
const REGIONS = 100;

function setup(
  args: string[] = ['log0', '1024'],
  options: HarnessOptions = {},
): { harness: LogHarness; log: DiskLog } {
  const harness = new LogHarness({ targetLengthSectors: REGIONS * 1024, ...options });
  const log = createDirtyLog('disk', harness.context, args);
  expect(log).toBeInstanceOf(DiskLog);
  return { harness, log: log as DiskLog };
}

/** Puts a header and a bitmap (from byte 1024) on the log device, as a previous run left them. */
function preload(harness: LogHarness, header: number[], bitmap: number[] | Uint8Array): void {
  const store = new SparseStore(harness.device.sizeSectors);
  const bytes = new Uint8Array(4096);
  bytes.set(header, 0);
  bytes.set(bitmap, 1024);
  store.write(0, bytes);
  harness.device.loadImage(store);
}

function cleanBitsOf(log: DiskLog): boolean[] {
  return Array.from({ length: log.regionCount }, (_, region) => log.isCleanBit(region));
}

function syncBitsOf(log: DiskLog): boolean[] {
  return Array.from({ length: log.regionCount }, (_, region) => log.isSyncBit(region));
}

function resumed(args: string[] = ['log0', '1024'], options: HarnessOptions = {}) {
  const made = setup(args, options);
  expect(run(made.harness.world, made.log.resume())).toBe(0);
  made.harness.takeTrace();
  return made;
}

describe('disk ctr', () => {
  it('§2.1 takes <log_dev> <region_size> [sync|nosync]: 2 or 3 arguments', () => {
    expect(setup(['log0', '1024']).log.regionCount).toBe(REGIONS);
    expect(setup(['log0', '1024', 'nosync']).log.sync).toBe('nosync');
    expect(setup(['log0', '1024', 'sync']).log.sync).toBe('forcesync');
    expect(() => setup(['log0'])).toThrow(
      /Wrong number of arguments to disk dirty region log: got 1 \("log0"\), expected 2 or 3/,
    );
    expect(() => setup(['log0', '1024', 'sync', 'x'])).toThrow(/got 4/);
  });

  it('§2.1 opens the log device first, then checks the rest as the core log does', () => {
    expect(() => setup(['nodev', '1000'])).toThrow(/Device "nodev" not found/);
    expect(() => setup(['log0', '1000'])).toThrow(/Invalid region size "1000"/);
    expect(() => setup(['log0', '1024', 'block_on_error'])).toThrow(TableError);
  });

  it('§2.1 §8 (12) fails when buf_size exceeds the log device: "log device too small"', () => {
    expect(() => setup(['log0', '1024'], { logSizeSectors: 2 })).toThrow(
      /Log device "log0" too small: need 1536 bytes for 100 regions, it has 1024/,
    );
    expect(setup(['log0', '1024'], { logSizeSectors: 3 }).log.bufferSizeBytes).toBe(1536);
    expect(() =>
      setup(['log0', '1024'], { logSizeSectors: 8, logicalBlockSizeBytes: 4096 }),
    ).not.toThrow();
    expect(() => setup(['log0', '2'], { logSizeSectors: 8, logicalBlockSizeBytes: 4096 })).toThrow(
      /need 8192 bytes for 51200 regions, it has 4096/,
    );
  });

  it('§2.1 sizes the header I/O by the log device’s logical block size', () => {
    const { harness, log } = setup(['log0', '1024'], { logicalBlockSizeBytes: 4096 });
    expect(log.bufferSizeBytes).toBe(4096);
    run(harness.world, log.resume());
    expect(harness.takeTrace()).toEqual([
      'log.read 0+8',
      'log.read:done',
      'log.write 0+8',
      'log.write:done',
      'log.flush',
      'log.flush:done',
    ]);
  });

  it('§2.1 initial state: all clean, none in sync, nothing touched, status A', () => {
    const { harness, log } = setup();
    expect(cleanBitsOf(log).every(Boolean)).toBe(true);
    expect(syncBitsOf(log).some(Boolean)).toBe(false);
    expect(log.touchedCleaned || log.touchedDirtied || log.flushFailed).toBe(false);
    expect(log.logDevFailed || log.logDevFlushFailed).toBe(false);
    expect(run(harness.world, log.status('info'))).toBe('3 disk log0 A');
    expect(harness.trace).toEqual([]);
  });
});

describe('disk_resume', () => {
  it('§2.5 on a blank device: a new log, every region out of sync, header written then flushed', () => {
    const { harness, log } = setup(['log0', '1024'], { writeCache: true });
    expect(run(harness.world, log.resume())).toBe(0);
    expect(harness.takeTrace()).toEqual([
      'log.read 0+3',
      'log.read:done',
      'log.write 0+3',
      'log.write:done',
      'log.flush',
      'log.flush:done',
    ]);
    expect(syncBitsOf(log).some(Boolean)).toBe(false);
    expect(cleanBitsOf(log).some(Boolean)).toBe(false);
    expect(run(harness.world, log.getSyncCount())).toBe(0);
    // Durable: the resume flushed the log device.
    expect(imageBytes(harness.device.durableContent, 0, 16)).toEqual(headerBytes(2, REGIONS));
    expect(imageBytes(harness.device.durableContent, 1024, 16)).toEqual(new Array(16).fill(0));
    expect(harness.events).toEqual([]);
  });

  it('§2.5 the touched flags set by the resume stay set, so the first flush writes again', () => {
    const { harness, log } = resumed();
    expect(log.touchedDirtied).toBe(true);
    expect(log.touchedCleaned).toBe(false);
    expect(run(harness.world, log.flush())).toBe(0);
    expect(harness.takeTrace()).toEqual([
      'log.write 0+3',
      'log.write:done',
      'log.flush',
      'log.flush:done',
    ]);
  });

  it('§2.5 default mode on a valid log keeps the disk’s bits; sync := clean, sync_count := popcount', () => {
    const { harness, log } = setup();
    const bitmap = Array.from({ length: 13 }, (_, index) => (index * 37) & 0xff);
    preload(harness, headerBytes(2, REGIONS), bitmap);
    expect(run(harness.world, log.resume())).toBe(0);
    let ones = 0;
    for (let region = 0; region < REGIONS; region++) {
      const bit = ((bitmap[region >> 3] ?? 0) >> (region & 7)) & 1;
      ones += bit;
      expect(log.isCleanBit(region)).toBe(bit === 1);
      // §5 (4): at resume sync equals clean.
      expect(log.isSyncBit(region)).toBe(bit === 1);
    }
    expect(run(harness.world, log.getSyncCount())).toBe(ones);
    expect(log.syncSearchPosition).toBe(0);
    log.checkInvariants();
  });

  it('§2.5 a resume that changes no bit leaves the log untouched: the next flush does no I/O', () => {
    // 128 regions: the bitset ends on a 64-bit boundary, so there is no tail to clear.
    const harness = new LogHarness({ targetLengthSectors: 128 * 1024 });
    const log = createDirtyLog('disk', harness.context, ['log0', '1024']) as DiskLog;
    preload(harness, headerBytes(2, 128), new Array(16).fill(0xf0));
    run(harness.world, log.resume());
    expect(log.touchedDirtied || log.touchedCleaned).toBe(false);
    harness.takeTrace();
    expect(run(harness.world, log.flush())).toBe(0);
    expect(harness.trace).toEqual([]);
    expect(run(harness.world, log.getSyncCount())).toBe(64);
  });

  it('§2.5 `sync` (FORCESYNC) ignores a valid log: every region out of sync', () => {
    const { harness, log } = setup(['log0', '1024', 'sync']);
    preload(harness, headerBytes(2, REGIONS), new Array(16).fill(0xff));
    expect(run(harness.world, log.resume())).toBe(0);
    expect(syncBitsOf(log).some(Boolean)).toBe(false);
    expect(imageBytes(harness.device.content, 1024, 16)).toEqual(new Array(16).fill(0));
  });

  it('§2.5 §5 (5) `nosync` ignores on-disk dirty state: every region in sync', () => {
    const { harness, log } = setup(['log0', '1024', 'nosync']);
    preload(harness, headerBytes(2, REGIONS), new Array(16).fill(0));
    expect(run(harness.world, log.resume())).toBe(0);
    expect(syncBitsOf(log).every(Boolean)).toBe(true);
    expect(cleanBitsOf(log).every(Boolean)).toBe(true);
    expect(run(harness.world, log.getSyncCount())).toBe(REGIONS);
    expect(log.touchedCleaned).toBe(true);
    // Regions 96..99 set, the tail 100..127 cleared.
    expect(imageBytes(harness.device.content, 1024 + 12, 4)).toEqual([0x0f, 0, 0, 0]);
  });

  it('§2.5 a bad magic means a new log: every region out of sync', () => {
    const { harness, log } = setup();
    preload(harness, headerBytes(2, REGIONS, 0x4d695273), new Array(16).fill(0xff));
    expect(run(harness.world, log.resume())).toBe(0);
    expect(syncBitsOf(log).some(Boolean)).toBe(false);
    expect(log.logDevFailed).toBe(false);
    expect(imageBytes(harness.device.content, 0, 16)).toEqual(headerBytes(2, REGIONS));
  });

  it('§2.5 §2.6 §8 (3) a read error fails the log device and assumes every region out of sync', () => {
    const { harness, log } = setup();
    preload(harness, headerBytes(2, REGIONS), new Array(16).fill(0xff));
    harness.device.faults.injectNext('read', 'error');
    // The write succeeds, so the read failure is not returned.
    expect(run(harness.world, log.resume())).toBe(0);
    expect(syncBitsOf(log).some(Boolean)).toBe(false);
    expect(harness.events).toEqual(['dirty log device "log0" failed']);
    expect(run(harness.world, log.status('info'))).toBe('3 disk log0 D');
    expect(harness.takeTrace()).toEqual([
      'log.read 0+3',
      'log.read:done error',
      'log.write 0+3',
      'log.write:done',
      'log.flush',
      'log.flush:done',
    ]);
  });

  it('§2.5 a read error under `nosync` still starts every region in sync', () => {
    const { harness, log } = setup(['log0', '1024', 'nosync']);
    harness.device.faults.injectNext('read', 'error');
    expect(run(harness.world, log.resume())).toBe(0);
    expect(syncBitsOf(log).every(Boolean)).toBe(true);
    expect(log.logDevFailed).toBe(true);
  });

  it('§2.2 §2.5 a wrong version (-EINVAL) is handled like a read failure, and is written back', () => {
    const { harness, log } = setup();
    preload(harness, headerBytes(3, REGIONS), new Array(16).fill(0xff));
    expect(run(harness.world, log.resume())).toBe(0);
    expect(syncBitsOf(log).some(Boolean)).toBe(false);
    expect(harness.events).toHaveLength(1);
    expect(log.logDevFailed).toBe(true);
    // read_header left version 3 in lc->header, and header_to_disk writes it back.
    expect(log.headerCopy).toEqual({ magic: 0x4d695272, version: 3, nrRegions: 100n });
    expect(imageBytes(harness.device.content, 0, 16)).toEqual(headerBytes(3, REGIONS));
  });

  it('§2.2 a version-1 header is accepted as version 2 and rewritten as 2', () => {
    const { harness, log } = setup();
    preload(harness, headerBytes(1, REGIONS), new Array(16).fill(0xff));
    expect(run(harness.world, log.resume())).toBe(0);
    expect(log.logDevFailed).toBe(false);
    expect(syncBitsOf(log).every(Boolean)).toBe(true);
    expect(imageBytes(harness.device.content, 0, 16)).toEqual(headerBytes(2, REGIONS));
  });

  it('§2.5 the device grew: regions past the disk’s nr_regions start out of sync', () => {
    const { harness, log } = setup();
    preload(harness, headerBytes(2, 40), new Array(16).fill(0xff));
    run(harness.world, log.resume());
    const clean = cleanBitsOf(log);
    expect(clean.slice(0, 40).every(Boolean)).toBe(true);
    expect(clean.slice(40).some(Boolean)).toBe(false);
    expect(run(harness.world, log.getSyncCount())).toBe(40);
    expect(log.touchedDirtied).toBe(true);
    expect(imageBytes(harness.device.content, 0, 16)).toEqual(headerBytes(2, REGIONS));
  });

  it('§2.5 §8 (4) the device shrank: bits past region_count are cleared only to a 64-bit boundary', () => {
    const { harness, log } = setup();
    preload(harness, headerBytes(2, 400), new Array(50).fill(0xff));
    run(harness.world, log.resume());
    expect(run(harness.world, log.getSyncCount())).toBe(REGIONS);
    const bitmap = imageBytes(harness.device.content, 1024, 50);
    // Regions 0..95 clean; 96..99 clean and 100..103 cleared; 104..127 cleared.
    expect(bitmap.slice(0, 12)).toEqual(new Array(12).fill(0xff));
    expect(bitmap.slice(12, 16)).toEqual([0x0f, 0, 0, 0]);
    // Past the bitset, inside the buffer: read, untouched, written back as it was.
    expect(bitmap.slice(16)).toEqual(new Array(34).fill(0xff));
    expect(imageBytes(harness.device.content, 0, 16)).toEqual(headerBytes(2, REGIONS));
  });

  it('§2.5 disk_resume counts nr_regions in an unsigned int: only its low 32 bits cover regions', () => {
    const { harness, log } = setup();
    const header = headerBytes(2, 0);
    const bytes = Uint8Array.from(header);
    new DataView(bytes.buffer).setBigUint64(8, 2n ** 32n + 10n, true);
    preload(harness, [...bytes], new Array(16).fill(0xff));
    run(harness.world, log.resume());
    const clean = cleanBitsOf(log);
    expect(clean.slice(0, 10).every(Boolean)).toBe(true);
    expect(clean.slice(10).some(Boolean)).toBe(false);
  });

  it('§2.5 §2.6 a failed header write fails the log device and is returned', () => {
    const { harness, log } = setup();
    harness.device.faults.injectNext('write', 'error');
    expect(run(harness.world, log.resume())).toBe(EIO);
    expect(harness.takeTrace()).toEqual([
      'log.read 0+3',
      'log.read:done',
      'log.write 0+3',
      'log.write:done error',
    ]);
    expect(run(harness.world, log.status('info'))).toBe('3 disk log0 D');
    expect(harness.events).toHaveLength(1);
    // The in-memory state is set up all the same.
    expect(syncBitsOf(log).some(Boolean)).toBe(false);
  });

  it('§2.5 §2.6 a failed log-device flush sets log_dev_flush_failed: status F', () => {
    const { harness, log } = setup();
    harness.device.faults.fail({ flushes: true });
    expect(run(harness.world, log.resume())).toBe(EIO);
    expect(log.logDevFlushFailed).toBe(true);
    expect(run(harness.world, log.status('info'))).toBe('3 disk log0 F');
    expect(harness.events).toHaveLength(1);
  });

  it('§2.5 §2.7 disk_resume rewinds sync_search: a region whose recovery failed is handed out again', () => {
    const { harness, log } = resumed();
    expect(run(harness.world, log.getResyncWork())).toEqual({ result: 1, region: 0 });
    run(harness.world, log.setRegionSync(0, false));
    expect(run(harness.world, log.getResyncWork())).toEqual({ result: 1, region: 1 });
    run(harness.world, log.setRegionSync(1, false));
    run(harness.world, log.resume());
    expect(log.syncSearchPosition).toBe(0);
    expect(run(harness.world, log.getResyncWork())).toEqual({ result: 1, region: 0 });
  });

  it('§2.3 recovering bits are not reset by resume', () => {
    const { harness, log } = resumed();
    expect(run(harness.world, log.getResyncWork())).toEqual({ result: 1, region: 0 });
    run(harness.world, log.resume());
    expect(log.isRecoveringBit(0)).toBe(true);
    expect(run(harness.world, log.getResyncWork())).toEqual({ result: 1, region: 1 });
  });
});

describe('disk_flush', () => {
  it('§2.4 (1) an untouched log does no I/O and returns 0', () => {
    const { harness, log } = resumed();
    run(harness.world, log.flush());
    harness.takeTrace();
    const before = { ...harness.device.stats };
    expect(run(harness.world, log.flush())).toBe(0);
    expect(harness.trace).toEqual([]);
    expect(harness.device.stats).toEqual(before);
  });

  it('§2.4 (3) (5) dirtied only: no leg flush; the whole buffer at sector 0 without FUA, then a log-device flush', () => {
    const { harness, log } = resumed();
    run(harness.world, log.flush());
    harness.takeTrace();
    log.markRegion(9);
    const before = { ...harness.device.stats };
    expect(run(harness.world, log.flush())).toBe(0);
    expect(harness.takeTrace()).toEqual([
      'log.write 0+3',
      'log.write:done',
      'log.flush',
      'log.flush:done',
    ]);
    expect(harness.device.stats.fuaWrites).toBe(0);
    expect(harness.device.stats.sectorsWritten - before.sectorsWritten).toBe(3);
    expect(log.touchedDirtied || log.touchedCleaned).toBe(false);
  });

  it('§2.4 (2) (6) cleaned only: the leg flush comes first, then the write, and no log-device flush', () => {
    const { harness, log } = resumed();
    run(harness.world, log.flush());
    harness.takeTrace();
    log.clearRegion(9);
    expect(run(harness.world, log.flush())).toBe(0);
    expect(harness.takeTrace()).toEqual([
      'leg.flush',
      'leg.flush:done',
      'log.write 0+3',
      'log.write:done',
    ]);
    expect(log.touchedCleaned).toBe(false);
  });

  it('§2.4 both: leg flush, then the log write, then the log-device flush', () => {
    const { harness, log } = resumed();
    log.clearRegion(1);
    log.markRegion(2);
    expect(run(harness.world, log.flush())).toBe(0);
    expect(harness.takeTrace()).toEqual([
      'leg.flush',
      'leg.flush:done',
      'log.write 0+3',
      'log.write:done',
      'log.flush',
      'log.flush:done',
    ]);
  });

  it('§2.1 §2.2 §2.4 the clean bitset is the buffer at byte 1024: the device holds exactly header + bitmap', () => {
    const { harness, log } = resumed(['log0', '1024', 'nosync']);
    log.markRegion(9);
    log.markRegion(0);
    log.markRegion(99);
    run(harness.world, log.flush());
    expect(imageBytes(harness.device.content, 0, 16)).toEqual([
      0x72, 0x52, 0x69, 0x4d, 0x02, 0x00, 0x00, 0x00, 100, 0, 0, 0, 0, 0, 0, 0,
    ]);
    const expected = new Array(16).fill(0xff);
    expected[0] = 0xfe;
    expected[1] = 0xfd;
    expected[12] = 0x07;
    expected[13] = expected[14] = expected[15] = 0;
    expect(imageBytes(harness.device.content, 1024, 16)).toEqual(expected);
    // The 1008 bytes between header and bitmap are not interpreted: zeros as first read.
    expect(imageBytes(harness.device.content, 16, 1008).every((byte) => byte === 0)).toBe(true);
  });

  it('§2.4 (2) a failed leg flush sets flush_failed and makes every region dirty, for good', () => {
    const { harness, log } = resumed(['log0', '1024', 'nosync']);
    run(harness.world, log.flush());
    harness.takeTrace();
    harness.legFlushResults.push(EIO);
    log.clearRegion(5);
    expect(run(harness.world, log.flush())).toBe(0);
    expect(log.flushFailed).toBe(true);
    expect(cleanBitsOf(log).some(Boolean)).toBe(false);
    // Clearing every bit dirtied the log, so the log device is flushed too.
    expect(harness.takeTrace()).toEqual([
      'leg.flush',
      'leg.flush:done',
      'log.write 0+3',
      'log.write:done',
      'log.flush',
      'log.flush:done',
    ]);
    expect(imageBytes(harness.device.content, 1024, 16)).toEqual(new Array(16).fill(0));
    // Sync bits are untouched: only the persistent record goes dirty.
    expect(syncBitsOf(log).every(Boolean)).toBe(true);
    // From now on clear_region is a no-op and touches nothing.
    log.clearRegion(5);
    expect(log.isCleanBit(5)).toBe(false);
    expect(log.touchedCleaned).toBe(false);
    expect(run(harness.world, log.flush())).toBe(0);
    expect(harness.trace).toEqual([]);
    // The log device itself did not fail.
    expect(harness.events).toEqual([]);
    expect(run(harness.world, log.status('info'))).toBe('3 disk log0 A');
  });

  it('§2.4 (4) §2.6 a failed write fails the log device once; both touched flags stay and the next flush retries', () => {
    const { harness, log } = resumed();
    log.markRegion(3);
    log.clearRegion(4);
    harness.device.faults.injectNext('write', 'error');
    expect(run(harness.world, log.flush())).toBe(EIO);
    expect(harness.takeTrace()).toEqual([
      'leg.flush',
      'leg.flush:done',
      'log.write 0+3',
      'log.write:done error',
    ]);
    expect(log.touchedDirtied && log.touchedCleaned).toBe(true);
    expect(log.logDevFailed).toBe(true);
    expect(run(harness.world, log.status('info'))).toBe('3 disk log0 D');
    // The retry succeeds; the flag and the status stay, and no second event is raised.
    expect(run(harness.world, log.flush())).toBe(0);
    expect(harness.takeTrace()).toEqual([
      'leg.flush',
      'leg.flush:done',
      'log.write 0+3',
      'log.write:done',
      'log.flush',
      'log.flush:done',
    ]);
    expect(run(harness.world, log.status('info'))).toBe('3 disk log0 D');
    expect(harness.events).toEqual(['dirty log device "log0" failed']);
  });

  it('§2.4 (5) §2.6 a failed log-device flush: status F, touched_dirtied stays, touched_cleaned is cleared', () => {
    const { harness, log } = resumed();
    log.markRegion(3);
    log.clearRegion(4);
    harness.device.faults.injectNext('flush', 'error');
    expect(run(harness.world, log.flush())).toBe(EIO);
    expect(log.logDevFlushFailed && log.logDevFailed).toBe(true);
    expect(log.touchedDirtied).toBe(true);
    expect(log.touchedCleaned).toBe(false);
    expect(run(harness.world, log.status('info'))).toBe('3 disk log0 F');
    harness.takeTrace();
    // Still dirtied: the next flush writes and flushes again, without a leg flush.
    expect(run(harness.world, log.flush())).toBe(0);
    expect(harness.takeTrace()).toEqual([
      'log.write 0+3',
      'log.write:done',
      'log.flush',
      'log.flush:done',
    ]);
    expect(harness.events).toHaveLength(1);
  });

  it('§2.6 §5 (8) one event for the first failure only, across resume and flushes', () => {
    const { harness, log } = setup();
    harness.device.faults.fail({ reads: true, writes: true, flushes: true });
    expect(run(harness.world, log.resume())).toBe(EIO);
    log.markRegion(1);
    expect(run(harness.world, log.flush())).toBe(EIO);
    expect(run(harness.world, log.flush())).toBe(EIO);
    expect(harness.events).toHaveLength(1);
    // A write failure alone never sets the flush flag: D, not F.
    expect(run(harness.world, log.status('info'))).toBe('3 disk log0 D');
  });

  it('§2.4 (2) without a flush callback, a cleaned-only flush just writes', () => {
    const { harness, log } = resumed(['log0', '1024'], { noFlushCallback: true });
    run(harness.world, log.flush());
    harness.takeTrace();
    log.clearRegion(0);
    expect(run(harness.world, log.flush())).toBe(0);
    expect(harness.takeTrace()).toEqual(['log.write 0+3', 'log.write:done']);
  });

  it('§1.1 §2 postsuspend is disk_flush; there is no presuspend or is_remote_recovering', () => {
    const { harness, log } = resumed();
    log.clearRegion(0);
    expect(run(harness.world, log.postsuspend())).toBe(0);
    expect(harness.takeTrace()).toEqual([
      'leg.flush',
      'leg.flush:done',
      'log.write 0+3',
      'log.write:done',
      'log.flush',
      'log.flush:done',
    ]);
    const asDirtyLog: DirtyLog = log;
    expect(asDirtyLog.presuspend).toBeUndefined();
    expect(asDirtyLog.isRemoteRecovering).toBeUndefined();
  });

  it('§2.3 recovery bookkeeping touches the log: get_resync_work and set_region_sync make the next flush write', () => {
    const { harness, log } = resumed();
    run(harness.world, log.flush());
    harness.takeTrace();
    const work = run(harness.world, log.getResyncWork());
    expect(work).toEqual({ result: 1, region: 0 });
    run(harness.world, log.flush());
    expect(harness.takeTrace()).toEqual([
      'leg.flush',
      'leg.flush:done',
      'log.write 0+3',
      'log.write:done',
    ]);
    run(harness.world, log.setRegionSync(0, true));
    run(harness.world, log.flush());
    expect(harness.takeTrace()).toEqual([
      'leg.flush',
      'leg.flush:done',
      'log.write 0+3',
      'log.write:done',
      'log.flush',
      'log.flush:done',
    ]);
  });

  it('§2.4 §5 (1) (2) with a write cache, a dirtied bit is durable after flush; a cleaned bit is not yet', () => {
    const { harness, log } = resumed(['log0', '1024', 'nosync'], { writeCache: true });
    log.markRegion(10);
    run(harness.world, log.flush());
    const durableByte = () => imageBytes(harness.device.durableContent, 1024 + 1, 1)[0];
    const visibleByte = () => imageBytes(harness.device.content, 1024 + 1, 1)[0];
    expect(durableByte()).toBe(0xfb);
    log.clearRegion(10);
    run(harness.world, log.flush());
    expect(visibleByte()).toBe(0xff);
    expect(durableByte()).toBe(0xfb);
    // The next flush that dirties something makes the earlier clean durable too.
    log.markRegion(0);
    run(harness.world, log.flush());
    expect(durableByte()).toBe(0xff);
  });

  it('§5 (4) nosync state survives a crash in the on-disk bitmap', () => {
    const { harness, log } = resumed(['log0', '1024'], { writeCache: true });
    // Recover region 7, write to it, then lose a leg write: it goes nosync.
    run(harness.world, log.setRegionSync(7, true));
    log.clearRegion(7);
    run(harness.world, log.flush());
    log.markRegion(7);
    run(harness.world, log.flush());
    run(harness.world, log.setRegionSync(7, false));
    run(harness.world, log.flush());
    harness.world.crash('none');
    const after = createDirtyLog('disk', harness.context, ['log0', '1024']) as DiskLog;
    expect(run(harness.world, after.resume())).toBe(0);
    expect(after.isSyncBit(7)).toBe(false);
  });
});

describe('disk status', () => {
  it('§2.6 §2.7 INFO "3 disk <dev> <A|D|F>"; TABLE "disk <2|3> <dev> <region_size> [sync |nosync ]"', () => {
    const { harness, log } = setup();
    expect(run(harness.world, log.status('info'))).toBe('3 disk log0 A');
    expect(run(harness.world, log.status('table'))).toBe('disk 2 log0 1024 ');
    const forced = setup(['log0', '1024', 'sync']);
    expect(run(forced.harness.world, forced.log.status('table'))).toBe('disk 3 log0 1024 sync ');
    const nosync = setup(['log0', '1024', 'nosync']);
    expect(run(nosync.harness.world, nosync.log.status('table'))).toBe('disk 3 log0 1024 nosync ');
  });
});

describe('disk log discipline', () => {
  it('state changes while a flush waits on I/O are invariant violations (kmirrord is single-threaded)', () => {
    const { harness, log } = resumed();
    log.markRegion(1);
    spawn(log.flush(), () => {});
    expect(() => log.markRegion(2)).toThrow(InvariantError);
    expect(() => log.clearRegion(2)).toThrow(InvariantError);
    expect(() => log.setRegionSync(2, true)).toThrow(InvariantError);
    expect(() => log.getResyncWork()).toThrow(InvariantError);
    expect(() => spawn(log.flush(), () => {})).toThrow(/disk_flush started while another/);
    harness.world.scheduler.runUntilIdle();
    // Reads are always allowed, and the log works again once the flush is done.
    log.markRegion(2);
    expect(log.isCleanBit(2)).toBe(false);
  });

  it('refuses I/O after destroy', () => {
    const { harness, log } = resumed();
    run(harness.world, log.destroy());
    expect(() => spawn(log.flush(), () => {})).toThrow(/disk_flush on a destroyed disk log/);
  });
});

describe('readDiskLogImage', () => {
  it('§2.2 decodes what the log wrote: each region’s on-disk clean bit', () => {
    const { harness, log } = resumed(['log0', '1024', 'nosync']);
    for (const region of [0, 17, 63, 64, 99]) log.markRegion(region);
    run(harness.world, log.flush());
    const image = readDiskLogImage(harness.device.content, REGIONS);
    expect(image.valid).toBe(true);
    expect(image.header.nrRegions).toBe(100n);
    for (let region = 0; region < REGIONS; region++) {
      expect(image.cleanOnResume(region)).toBe(log.isCleanBit(region));
    }
  });
});

type Step =
  | { readonly kind: 'mark'; readonly region: number }
  | { readonly kind: 'clear'; readonly region: number }
  | { readonly kind: 'work' }
  | { readonly kind: 'flush' };

const steps = (regionCount: number): fc.Arbitrary<Step[]> => {
  const region = fc.nat({ max: regionCount - 1 });
  const step: fc.Arbitrary<Step> = fc.oneof(
    { weight: 3, arbitrary: region.map((r): Step => ({ kind: 'mark', region: r })) },
    { weight: 3, arbitrary: region.map((r): Step => ({ kind: 'clear', region: r })) },
    { weight: 1, arbitrary: fc.constant<Step>({ kind: 'work' }) },
    { weight: 2, arbitrary: fc.constant<Step>({ kind: 'flush' }) },
  );
  return fc.array(step, { maxLength: 40 });
};

const crashScenario = fc.integer({ min: 1, max: 130 }).chain((regionCount) =>
  fc.record({
    regionCount: fc.constant(regionCount),
    steps: steps(regionCount),
    /** Events the last flush may run before the crash; past its end it simply completes. */
    lastFlushEvents: fc.nat({ max: 6 }),
    strategy: fc.constantFrom<'none' | 'all'>('none', 'all'),
    seed: fc.nat(),
  }),
);

describe('disk log crash model', () => {
  it('§2.4 §2.5 §5 (1) (3) after a crash, a fresh log sees the clean bits last written durably (none) or last written (all)', () => {
    fc.assert(
      fc.property(crashScenario, ({ regionCount, steps, lastFlushEvents, strategy, seed }) => {
        const harness = new LogHarness({
          seed,
          targetLengthSectors: regionCount * 2,
          writeCache: true,
        });
        const log = createDirtyLog('disk', harness.context, ['log0', '2']) as DiskLog;
        expect(run(harness.world, log.resume())).toBe(0);
        // The model: clean bits in memory, in the last issued write, and durable.
        const memory = new Array<boolean>(regionCount).fill(false);
        let written = memory.slice();
        let durable = memory.slice();
        let touchedCleaned = false;
        let touchedDirtied = true; // the resume cleared every bit
        const flushModel = (): { image: boolean[]; dirtied: boolean } | null => {
          if (!touchedCleaned && !touchedDirtied) return null;
          return { image: memory.slice(), dirtied: touchedDirtied };
        };
        for (const step of steps) {
          switch (step.kind) {
            case 'mark':
              log.markRegion(step.region);
              memory[step.region] = false;
              touchedDirtied = true;
              break;
            case 'clear':
              log.clearRegion(step.region);
              memory[step.region] = true;
              touchedCleaned = true;
              break;
            case 'work':
              if (run(harness.world, log.getResyncWork()).result === 1) touchedCleaned = true;
              break;
            case 'flush': {
              const expected = flushModel();
              expect(run(harness.world, log.flush())).toBe(0);
              if (expected !== null) {
                written = expected.image;
                if (expected.dirtied) durable = written;
              }
              touchedCleaned = touchedDirtied = false;
              break;
            }
          }
          expect(log.touchedCleaned).toBe(touchedCleaned);
          expect(log.touchedDirtied).toBe(touchedDirtied);
        }
        // A last flush, cut short by the crash after a few events.
        const last = flushModel();
        let finished = false;
        harness.takeTrace();
        spawn(log.flush(), () => {
          finished = true;
        });
        for (let event = 0; event < lastFlushEvents; event++) harness.world.scheduler.step();
        if (last !== null) {
          // Under `all`, an issued write lands even if it had not completed.
          const issued = harness.trace.some((entry) => entry.startsWith('log.write '));
          if (issued && strategy === 'all') written = last.image;
          if (finished) {
            written = last.image;
            if (last.dirtied) durable = last.image;
          }
        }
        harness.world.crash(strategy);
        const after = createDirtyLog('disk', harness.context, ['log0', '2']) as DiskLog;
        expect(run(harness.world, after.resume())).toBe(0);
        const expected = strategy === 'none' ? durable : written;
        for (let region = 0; region < regionCount; region++) {
          expect(after.isCleanBit(region)).toBe(expected[region]);
          expect(after.isSyncBit(region)).toBe(expected[region]);
        }
        after.checkInvariants();
      }),
      { numRuns: 120 },
    );
  });
});

describe('disk ctr: the size it asks of a missing log device (§2.2 §8(12))', () => {
  /** The minimum size `disk_ctr` passes when it opens the log device. */
  function hintFor(targetLengthSectors: number, regionSize: string): number {
    const harness = new LogHarness({ targetLengthSectors, logSizeSectors: 4096 });
    const asked: number[] = [];
    const context = {
      ...harness.context,
      getDevice: (name: string, minimumSizeSectors?: number) => {
        asked.push(minimumSizeSectors ?? -1);
        return harness.context.getDevice(name);
      },
    };
    try {
      createDirtyLog('disk', context, ['log0', regionSize]);
    } catch (error) {
      if (!(error instanceof TableError)) throw error;
    }
    return asked[0]!;
  }

  it('is the header sectors plus the bitmap, rounded up to a 512-byte block', () => {
    // 128 regions: 1024 header bytes + 16 bitmap bytes = 1040 → 3 sectors.
    expect(hintFor(131072, '1024')).toBe(3);
    // 65,536 regions: 1024 + 8192 bytes = 9216 → 18 sectors.
    expect(hintFor(524288, '8')).toBe(18);
    // Region size 1 (rejected later by the ctr): one region per sector, 131072 bits.
    expect(hintFor(131072, '1')).toBe(34);
  });

  it('is one sector when the region size does not parse (the ctr then reports it)', () => {
    expect(hintFor(131072, 'abc')).toBe(1);
    expect(hintFor(131072, '0')).toBe(1);
    expect(hintFor(131072, '-8')).toBe(1);
  });
});

describe('the disk log type in the registry', () => {
  it('§2 registers as "disk" with the summary mirrorsim shows', () => {
    expect(DISK_LOG_TYPE_NAME).toBe('disk');
    const type = findDirtyLogType('disk');
    expect(type?.name).toBe('disk');
    expect(type?.summary).toBe(
      'persistent dirty log: clean bitmap on a log device, written before data (resync only dirty regions)',
    );
    expect(setup().log.typeName).toBe('disk');
  });
});

/** `inner` with some of its methods replaced: for completions no simulated device gives. */
function replacing(
  inner: BlockDevice,
  changes: Partial<Pick<BlockDevice, 'read' | 'flush'>>,
): BlockDevice {
  return {
    name: inner.name,
    sizeSectors: inner.sizeSectors,
    logicalBlockSizeBytes: inner.logicalBlockSizeBytes,
    read: (request, callback) => inner.read(request, callback),
    readSparse: (request, callback) => inner.readSparse(request, callback),
    write: (request, callback) => inner.write(request, callback),
    writeSparse: (request, callback) => inner.writeSparse(request, callback),
    discard: (request, callback) => inner.discard(request, callback),
    flush: (callback) => inner.flush(callback),
    ...changes,
  };
}

/** A disk log of {@link REGIONS} regions whose log device is the harness's, changed by `change`. */
function setupOver(change: (inner: BlockDevice) => BlockDevice): {
  harness: LogHarness;
  log: DiskLog;
} {
  const harness = new LogHarness({ targetLengthSectors: REGIONS * 1024 });
  const device = change(harness.recording);
  const context = { ...harness.context, getDevice: () => device };
  const log = createDirtyLog('disk', context, ['log0', '1024']);
  expect(log).toBeInstanceOf(DiskLog);
  return { harness, log: log as DiskLog };
}

describe('disk log errors from the log device (§2.5 §2.6)', () => {
  it('§2.5 §2.6 a log-device flush that is not supported returns EOPNOTSUPP, not EIO', () => {
    const { harness, log } = setupOver((inner) =>
      replacing(inner, {
        flush: (callback) =>
          inner.flush(() =>
            callback(new BlockIoError('EOPNOTSUPP', inner.name, 'flush', 'no flush support')),
          ),
      }),
    );
    expect(run(harness.world, log.resume())).toBe(EOPNOTSUPP);
    expect(log.logDevFlushFailed).toBe(true);
    log.markRegion(3);
    expect(run(harness.world, log.flush())).toBe(EOPNOTSUPP);
  });

  it('§2.5 §2.6 any other log-device error returns EIO', () => {
    const { harness, log } = setupOver((inner) =>
      replacing(inner, {
        flush: (callback) =>
          inner.flush(() => callback(new BlockIoError('EIO', inner.name, 'flush', 'medium error'))),
      }),
    );
    expect(run(harness.world, log.resume())).toBe(EIO);
    expect(log.logDevFlushFailed).toBe(true);
  });

  it('§2.5 a header read that returns fewer bytes than the buffer is an invariant violation', () => {
    const { harness, log } = setupOver((inner) =>
      replacing(inner, {
        read: (request, callback) =>
          inner.read(request, (error, data) => callback(error, data?.subarray(512) ?? null)),
      }),
    );
    expect(() => run(harness.world, log.resume())).toThrow(
      new InvariantError('log header read size'),
    );
  });

  it('§2.5 a header read that completes without error and without data is an invariant violation', () => {
    const { harness, log } = setupOver((inner) =>
      replacing(inner, {
        read: (request, callback) => inner.read(request, () => callback(null, null)),
      }),
    );
    expect(() => run(harness.world, log.resume())).toThrow('log header read size');
  });
});

describe('disk log discipline: the assertion names what was misused', () => {
  it('a state change while a flush waits on I/O', () => {
    const { harness, log } = resumed();
    log.markRegion(1);
    spawn(log.flush(), () => {});
    expect(() => log.markRegion(2)).toThrow(
      new InvariantError('disk log state changed while its flush or resume waits on I/O'),
    );
    harness.world.scheduler.runUntilIdle();
  });

  it('a resume after destroy, or while another resume waits', () => {
    const busy = setup();
    spawn(busy.log.resume(), () => {});
    expect(() => spawn(busy.log.resume(), () => {})).toThrow(
      'disk_resume started while another disk log I/O waits',
    );
    busy.harness.world.scheduler.runUntilIdle();
    const { harness, log } = resumed();
    run(harness.world, log.destroy());
    expect(() => spawn(log.resume(), () => {})).toThrow('disk_resume on a destroyed disk log');
  });

  it('an I/O end without a begin', () => {
    const { log } = resumed();
    const internals = log as unknown as { endIo(): void };
    expect(() => internals.endIo()).toThrow(new InvariantError('disk log I/O ended twice'));
  });
});
