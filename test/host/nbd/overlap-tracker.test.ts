/** Regions where concurrent overlapping writes may leave the legs apart (Linux does not order them). */
import { describe, expect, it } from 'vitest';
import { OverlapTracker } from '../../../host/nbd/overlap-tracker.js';
import { invariantMessage } from '../../assert-test-kit.js';

describe('OverlapTracker', () => {
  it('marks the regions two writes in flight at once both touch, until a resync copies them', () => {
    const tracker = new OverlapTracker(8);
    const first = tracker.begin(4, 10);
    const apart = tracker.begin(40, 4);
    const second = tracker.begin(12, 8);
    expect([...tracker.overlapRegions]).toEqual([1]);
    tracker.end(first);
    const third = tracker.begin(4, 10);
    expect(tracker.overlapRegions.size).toBe(1);
    expect(tracker.inFlightCount).toBe(3);
    tracker.end(second);
    tracker.end(third);
    tracker.end(apart);
    const fourth = tracker.begin(0, 64);
    expect([...tracker.overlapRegions]).toEqual([1]);
    tracker.resynced(1);
    expect(tracker.overlapRegions.size).toBe(0);
    tracker.clearInFlight();
    expect(tracker.inFlightCount).toBe(0);
    expect(invariantMessage(() => tracker.end(fourth))).toBe('an unknown write ended');
  });

  it('writes that only touch end to end do not overlap', () => {
    const tracker = new OverlapTracker(8);
    tracker.begin(0, 8);
    tracker.begin(8, 8);
    expect(tracker.overlapRegions.size).toBe(0);
  });
});
