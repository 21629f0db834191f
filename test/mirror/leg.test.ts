/**
 * One leg's recorded errors (`struct mirror` in dm-raid1.c): the health
 * character `device_status_char` derives from them (reference §4.2), and
 * the error type names the mirror's events carry.
 */
import { describe, expect, it } from 'vitest';
import type { BlockDevice } from '../../src/block/block-device.js';
import {
  DM_RAID1_FLUSH_ERROR,
  DM_RAID1_READ_ERROR,
  DM_RAID1_SYNC_ERROR,
  DM_RAID1_WRITE_ERROR,
  errorTypeName,
  Leg,
  type MirrorErrorType,
} from '../../src/mirror/leg.js';

const DEVICE = { name: 'leg0' } as BlockDevice;

/** A leg with `errorCount` errors and the given error-type bits recorded. */
function legWith(errorCount: number, types: readonly MirrorErrorType[]): Leg {
  const leg = new Leg(0, DEVICE, 0);
  leg.errorCount = errorCount;
  for (const type of types) leg.errorTypeBits |= 1 << type;
  return leg;
}

describe('device_status_char (§4.2)', () => {
  it('§4.2 A with no errors, whatever type bits are left', () => {
    expect(legWith(0, []).statusChar()).toBe('A');
    expect(legWith(0, [DM_RAID1_FLUSH_ERROR]).statusChar()).toBe('A');
  });

  it('§4.2 each recorded type alone gives its own character', () => {
    expect(legWith(1, [DM_RAID1_FLUSH_ERROR]).statusChar()).toBe('F');
    expect(legWith(1, [DM_RAID1_WRITE_ERROR]).statusChar()).toBe('D');
    expect(legWith(1, [DM_RAID1_SYNC_ERROR]).statusChar()).toBe('S');
    expect(legWith(1, [DM_RAID1_READ_ERROR]).statusChar()).toBe('R');
  });

  it('§4.2 U for errors counted without a recorded type', () => {
    expect(legWith(3, []).statusChar()).toBe('U');
  });

  it('§4.2 the most severe type wins: F, then D, then S, then R', () => {
    const all: MirrorErrorType[] = [
      DM_RAID1_READ_ERROR,
      DM_RAID1_SYNC_ERROR,
      DM_RAID1_WRITE_ERROR,
      DM_RAID1_FLUSH_ERROR,
    ];
    // Dropping the most severe type each time walks down the order.
    expect(
      ['F', 'D', 'S', 'R', 'U'].map((_, dropped) =>
        legWith(1, all.slice(0, all.length - dropped)).statusChar(),
      ),
    ).toEqual(['F', 'D', 'S', 'R', 'U']);
  });

  it('resetErrors forgets the count and every type', () => {
    const leg = legWith(2, [DM_RAID1_WRITE_ERROR, DM_RAID1_READ_ERROR]);
    leg.resetErrors();
    expect([leg.errorCount, leg.errorTypeBits, leg.statusChar()]).toEqual([0, 0, 'A']);
    expect(leg.hasErrorType(DM_RAID1_WRITE_ERROR)).toBe(false);
  });
});

describe('error type names', () => {
  it('name the kernel enum in order (the mirror events carry them)', () => {
    const types: MirrorErrorType[] = [
      DM_RAID1_WRITE_ERROR,
      DM_RAID1_FLUSH_ERROR,
      DM_RAID1_SYNC_ERROR,
      DM_RAID1_READ_ERROR,
    ];
    expect(types.map(errorTypeName)).toEqual([
      'WRITE_ERROR',
      'FLUSH_ERROR',
      'SYNC_ERROR',
      'READ_ERROR',
    ]);
  });
});
