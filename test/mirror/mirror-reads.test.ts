import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bio } from '../../src/dm/bio.js';
import { EIO, EWOULDBLOCK } from '../../src/errno.js';
import {
  MirrorHarness,
  registerRecordingLogTypes,
  unregisterRecordingLogTypes,
} from './mirror-test-kit.js';

beforeAll(registerRecordingLogTypes);
afterAll(unregisterRecordingLogTypes);

const NOSYNC_3 = '0 128 mirror rec-core 2 8 nosync 3 leg0 0 leg1 0 leg2 0';
const NOSYNC_2_HANDLE = '0 128 mirror rec-core 2 8 nosync 2 leg0 0 leg1 0 1 handle_errors';

/** Leg reads issued (not completions), in order. */
const LEG_READS = /^leg\d read \d+\+\d+$/;

/** Makes region 5 NOSYNC for the rest of the activation: a write that fails on leg1 (no handle_errors). */
function makeRegion5Nosync(h: MirrorHarness): void {
  h.write(40, 8, { fill: 0x11 });
  h.settle();
  h.sim('leg1').faults.injectNext('write', 'error');
  const write = h.write(40, 8, { fill: 0x22 });
  h.settle();
  expect(write.error, 'acknowledged without handle_errors').toBeNull();
  expect(h.mirror.rh.lookup(5)?.state).toBe(4);
}

function readBio(sector: number, readahead: boolean): Bio {
  return new Bio('read', sector, 8, null, false, readahead, () => {});
}

function messages(h: MirrorHarness): string[] {
  return h.mirror.messages.map((message) => message.text);
}

describe('reads (§4.3)', () => {
  it('§4.3 an in-sync read is remapped straight to the default leg, without kmirrord; reads are never balanced', () => {
    const h = new MirrorHarness({ table: NOSYNC_3 });
    h.write(16, 8, { fill: 7 });
    h.settle();
    const passes = h.mirror.stats.kmirrordPasses;
    const start = h.timeline.entries.length;
    const reads = Array.from({ length: 6 }, () => h.read(16, 8));
    h.settle();
    expect(reads.every((read) => read.error === null && read.data![0] === 7)).toBe(true);
    expect(h.textsSince(start, LEG_READS)).toEqual(new Array(6).fill('leg0 read 16+8'));
    expect(h.textsSince(start, /in_sync/)).toEqual(new Array(6).fill('log in_sync 2 noblock -> 1'));
    expect(h.mirror.stats.kmirrordPasses, 'no worker pass for fast-path reads').toBe(passes);
  });

  it('§4.3 choose_mirror walks down from the default leg with wrap-around: with leg 0 failed, leg 2 of 3 serves', () => {
    const h = new MirrorHarness({ table: NOSYNC_3 });
    h.write(16, 8, { fill: 9 });
    h.settle();
    h.sim('leg0').faults.injectNext('read', 'error');
    const start = h.timeline.entries.length;
    const first = h.read(16, 8);
    h.settle();
    const second = h.read(16, 8);
    h.settle();
    expect(first.error).toBeNull();
    expect(first.data![0]).toBe(9);
    expect(second.data![0]).toBe(9);
    expect(h.textsSince(start, LEG_READS)).toEqual([
      'leg0 read 16+8',
      'leg2 read 16+8',
      'leg2 read 16+8',
    ]);
    expect(messages(h)).toContain('Mirror read failed from leg0. Trying alternative device.');
    expect(h.mirror.defaultLeg.index, 'no switch without handle_errors').toBe(0);
    expect(h.status('info')).toBe('3 leg0 leg1 leg2 16/16 1 RAA 1 core');
    expect(h.events, 'no event without handle_errors').toEqual(['mirror in sync']);
  });

  it('§4.3 a readahead read of a region not in sync is killed; in sync it is remapped to leg offset + sector', () => {
    const h = new MirrorHarness({
      table: '0 128 mirror rec-core 1 8 2 leg0 100 leg1 0',
      settle: false,
    });
    expect(h.mirror.map(readBio(120, true))).toEqual({ kind: 'kill' });
    h.settle();
    const mapped = h.mirror.map(readBio(120, true));
    expect(mapped.kind).toBe('remapped');
    if (mapped.kind === 'remapped') {
      expect(mapped.device.name).toBe('leg0');
      expect(mapped.sector).toBe(220);
    }
  });

  it('§4.3 reads of a region not in sync go through kmirrord to the default leg only; with the default leg failed they get EIO', () => {
    const h = new MirrorHarness({ table: NOSYNC_3 });
    makeRegion5Nosync(h);
    const start = h.timeline.entries.length;
    const read = h.read(40, 8);
    h.settle();
    expect(read.data![0], 'the default leg has the newer data').toBe(0x22);
    expect(h.textsSince(start, /in_sync 5|^leg\d read \d+\+\d+$/)).toEqual([
      'log in_sync 5 noblock -> 0',
      'leg0 read 40+8',
    ]);
    h.sim('leg0').faults.injectNext('read', 'error');
    const failing = h.read(40, 8);
    h.settle();
    expect(failing.error).toBe('EIO');
    expect(messages(h)).toContain('Read failure on mirror device leg0.  Failing I/O.');
    const after = h.timeline.entries.length;
    const refused = h.read(40, 8);
    h.settle();
    expect(refused.error).toBe('EIO');
    expect(h.textsSince(after, LEG_READS), 'refused without touching a leg').toEqual([]);
    // An in-sync region is still readable: from the first leg without errors, walking down.
    const elsewhere = h.read(16, 8);
    h.settle();
    expect(elsewhere.error).toBeNull();
    expect(h.textsSince(after, LEG_READS)).toEqual(['leg2 read 16+8']);
  });

  it('§4.3 in_sync answering EWOULDBLOCK queues the read; kmirrord asks again with can_block and chooses a leg', () => {
    const h = new MirrorHarness({ table: NOSYNC_3 });
    h.hooks.inSync = (_region, canBlock) => (canBlock ? undefined : EWOULDBLOCK);
    const start = h.timeline.entries.length;
    const read = h.read(16, 8);
    h.settle();
    expect(read.error).toBeNull();
    expect(h.textsSince(start, /in_sync 2|^leg\d read \d+\+\d+$/)).toEqual([
      `log in_sync 2 noblock -> ${EWOULDBLOCK}`,
      'log in_sync 2 block -> 1',
      'leg0 read 16+8',
    ]);
  });

  it('§4.3 any other in_sync error kills the read', () => {
    const h = new MirrorHarness({ table: NOSYNC_3 });
    h.hooks.inSync = (_region, canBlock) => (canBlock ? undefined : EIO);
    const start = h.timeline.entries.length;
    const read = h.read(16, 8);
    h.settle();
    expect(read.error).toBe('EIO');
    expect(h.textsSince(start, LEG_READS)).toEqual([]);
    expect(messages(h), 'a killed bio never reaches end_io').toEqual([]);
  });

  it('§4.3 §4.6 with handle_errors a fast-path read error on the default leg switches the default and raises an event', () => {
    const h = new MirrorHarness({ table: NOSYNC_2_HANDLE });
    h.write(16, 8, { fill: 3 });
    h.settle();
    h.sim('leg0').faults.injectNext('read', 'error');
    const read = h.read(16, 8);
    h.settle();
    expect(read.data![0]).toBe(3);
    expect(h.mirror.defaultLeg.index).toBe(1);
    expect(h.events).toEqual(['mirror in sync', 'leg0 READ_ERROR']);
    expect(h.status('info')).toBe('2 leg0 leg1 16/16 1 RA 1 core');
  });

  it('§4.3 a queued read error is retried once the default leg is fine again (here: switched)', () => {
    const h = new MirrorHarness({
      table: '0 128 mirror rec-core 2 8 nosync 3 leg0 0 leg1 0 leg2 0 1 handle_errors',
    });
    h.hooks.inSync = (_region, canBlock) => (canBlock ? undefined : EWOULDBLOCK);
    h.sim('leg0').faults.injectNext('read', 'error');
    const start = h.timeline.entries.length;
    const read = h.read(16, 8);
    h.settle();
    expect(read.error).toBeNull();
    expect(h.textsSince(start, LEG_READS)).toEqual(['leg0 read 16+8', 'leg1 read 16+8']);
    expect(messages(h)).toContain('Read failure on mirror device leg0. Trying alternative device.');
  });

  it('§4.3 a fast-path read error with no usable leg left passes the error up: "All replicated volumes dead"', () => {
    const h = new MirrorHarness({ table: '0 128 mirror rec-core 2 8 nosync 2 leg0 0 leg1 0' });
    h.sim('leg1').faults.injectNext('write', 'error');
    h.write(16, 8);
    h.settle();
    expect(h.status('info')).toContain(' AD ');
    h.sim('leg0').faults.injectNext('read', 'error');
    const read = h.read(64, 8);
    h.settle();
    expect(read.error).toBe('EIO');
    expect(messages(h)).toContain('All replicated volumes dead, failing I/O');
    // Now no leg is usable: the next read is killed at map time without I/O.
    const start = h.timeline.entries.length;
    const killed = h.read(64, 8);
    h.settle();
    expect(killed.error).toBe('EIO');
    expect(h.textsSince(start, LEG_READS)).toEqual([]);
  });

  it('§4.3 a read error on the last usable leg of a queued read fails it', () => {
    const h = new MirrorHarness({ table: '0 128 mirror rec-core 2 8 nosync 2 leg0 0 leg1 0' });
    h.sim('leg0').faults.fail({ reads: true });
    h.sim('leg1').faults.fail({ reads: true });
    const read = h.read(16, 8);
    h.settle();
    expect(read.error).toBe('EIO');
    expect(h.timeline.texts(LEG_READS)).toEqual(['leg0 read 16+8', 'leg1 read 16+8']);
    expect(messages(h)).toEqual([
      'Mirror read failed from leg0. Trying alternative device.',
      'Read failure on mirror device leg1.  Failing I/O.',
      'Mirror read failed.',
    ]);
    expect(h.status('info')).toBe('2 leg0 leg1 16/16 1 RR 1 core');
  });
});
