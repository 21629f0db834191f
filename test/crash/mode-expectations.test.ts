/**
 * What each table mode promises after a crash, pinned on small fixed
 * scenarios (reference §2.5, §5.3, §5.5): a core log resyncs every region,
 * a disk log exactly the regions dirty on disk, `sync` every region,
 * `nosync` none — and then the legs may differ, which the run reports as
 * an expected divergence instead of failing.
 */
import { describe, expect, it } from 'vitest';
import type { FuzzConfigSpec } from '../../sim/fuzz/fuzz-config.js';
import { fixedLatency } from '../../src/block/latency.js';
import { expectExplained, runScript } from './crash-kit.js';

const SLOW_SECOND_LEG = [
  { read: fixedLatency(10), write: fixedLatency(20), flush: fixedLatency(30) },
  { read: fixedLatency(10), write: fixedLatency(500), flush: fixedLatency(30) },
];

/** Six regions; one write is durable, one is in flight on the slow leg when the world stops. */
const SCRIPT = [
  'write(sector=0, 8, fua)',
  'write(sector=24, 8, nowait)',
  'advance(6 events)',
  'crash(now; leg0:all, leg1:none, log0:all)',
  'recover()',
];

function spec(logType: 'core' | 'disk', tableMode: 'default' | 'sync' | 'nosync'): FuzzConfigSpec {
  return {
    profile: { logType, tableMode, writeCache: true },
    regionCount: 6,
    legLatencies: SLOW_SECOND_LEG,
  };
}

function resynced(journal: readonly string[]): number {
  const line = journal.find((entry) => entry.includes('recover() → converged'));
  return Number(/converged, (\d+) regions resynced/.exec(line ?? '')?.[1] ?? Number.NaN);
}

function outOfSyncAtResume(journal: readonly string[]): number {
  const line = journal.find((entry) => entry.includes('regions out of sync at resume'));
  return Number(/(\d+) regions out of sync at resume/.exec(line ?? '')?.[1] ?? Number.NaN);
}

describe('after a crash, per table mode (§2.5, §5.5)', () => {
  it('§5.5 a core log resyncs every region', () => {
    const system = runScript(spec('core', 'default'), SCRIPT);
    expect(outOfSyncAtResume(system.journal)).toBe(6);
    expect(resynced(system.journal)).toBe(6);
  });

  it('§5.3 a disk log resyncs exactly the regions dirty on disk: the one written in flight', () => {
    const system = runScript(spec('disk', 'default'), SCRIPT);
    expect(outOfSyncAtResume(system.journal)).toBe(1);
    expect(resynced(system.journal)).toBe(1);
  });

  it('§2.5 a sync table resyncs every region, whatever the disk says', () => {
    for (const logType of ['core', 'disk'] as const) {
      const system = runScript(spec(logType, 'sync'), SCRIPT);
      expect(resynced(system.journal), logType).toBe(6);
    }
  });

  it('§2.5 §5.5 a nosync table resyncs nothing; the legs differ, and the run says so instead of failing', () => {
    for (const logType of ['core', 'disk'] as const) {
      const system = runScript(spec(logType, 'nosync'), SCRIPT);
      expect(outOfSyncAtResume(system.journal), logType).toBe(0);
      expect(resynced(system.journal), logType).toBe(0);
      expectExplained(system, 'legs-differ', '§5.5');
    }
  });

  it('§8(3) a disk log unreadable at the reboot resyncs every region (handle_errors holds writes meanwhile)', () => {
    const system = runScript(
      {
        profile: { logType: 'disk', features: 'handle_errors', writeCache: true },
        regionCount: 6,
      },
      ['write(sector=0, 8, fua)', 'failLog()', 'crash(now; leg0:all, leg1:all, log0:all)'],
    );
    expect(outOfSyncAtResume(system.journal)).toBe(6);
  });
});
