/**
 * The fault budget and the crash expectations, pinned row by row: which
 * faults each profile is designed to survive, which documented Linux
 * behaviour explains the others, and what each table mode promises after a
 * crash.
 */
import { describe, expect, it } from 'vitest';
import {
  crashExpectation,
  FAULT_KINDS,
  type FaultKind,
  faultApplies,
  faultExpectation,
  type Hazard,
  type LegRole,
  reloadLeavesVolatileFirstLeg,
} from '../../sim/fuzz/fault-budget.js';
import {
  type FeatureSet,
  type MirrorProfile,
  profileTable,
  type TableMode,
} from '../../sim/fuzz/mirror-profile.js';

function profile(overrides: Partial<MirrorProfile> = {}): MirrorProfile {
  return {
    logType: 'disk',
    legCount: 2,
    tableMode: 'default',
    features: 'none',
    writeCache: true,
    integratedFlush: false,
    ...overrides,
  };
}

function within(features: FeatureSet, kind: FaultKind, role: LegRole, logType = 'disk' as const) {
  return faultExpectation(profile({ features, logType }), kind, role).within;
}

describe('the fault budget (reference §4.4–§4.8, §8)', () => {
  it('§4.4 §5.6 a write error on the default leg is survivable only with handle_errors', () => {
    expect(within('none', 'legWriteError', 'default')).toBe(false);
    expect(within('handle_errors', 'legWriteError', 'default')).toBe(true);
    expect(within('keep_log', 'legWriteError', 'default')).toBe(true);
    expect(within('none', 'legWriteError', 'other')).toBe(true);
  });

  it('§4.4 §4.6 keep_log acknowledges without the default leg: the table must be repaired before a reboot', () => {
    const verdict = faultExpectation(profile({ features: 'keep_log' }), 'legWriteError', 'default');
    expect(verdict.leaves).toBe('stale-first-leg');
    expect(verdict.needsQuiet).toBe(true);
    expect(
      faultExpectation(profile({ features: 'handle_errors' }), 'legWriteError', 'default').leaves,
    ).toBeNull();
  });

  it('§3.4 §8(5) a dead leg is beyond budget without handle_errors (a failed resync is recorded in sync)', () => {
    const verdict = faultExpectation(profile(), 'legFail', 'other');
    expect(verdict.within).toBe(false);
    expect(verdict.fact).toMatch(/§8\(5\)/);
    expect(verdict.allowed).toContain('legs-differ-in-sync');
    expect(within('handle_errors', 'legFail', 'default')).toBe(true);
    expect(within('handle_errors', 'legFail', 'other')).toBe(true);
  });

  it('§4.6 with keep_log a dead default leg is beyond budget (the default switches while out of sync)', () => {
    expect(within('keep_log', 'legFail', 'default')).toBe(false);
    expect(within('keep_log', 'legFail', 'other')).toBe(true);
  });

  it('§4.8 §3.3 a failed leg PREFLUSH is beyond budget for every profile, and may hang recovery', () => {
    for (const features of ['none', 'handle_errors', 'keep_log'] as const) {
      for (const role of ['default', 'other'] as const) {
        const verdict = faultExpectation(profile({ features }), 'legFlushError', role);
        expect(verdict.within).toBe(false);
        expect(verdict.allowed).toContain('liveness');
      }
    }
  });

  it('§4.4 without handle_errors a failed log is ignored: beyond budget, invariant 1 may break, and it is reported in the log status', () => {
    for (const kind of ['logFail', 'logWriteError'] as const) {
      const verdict = faultExpectation(profile(), kind, 'none');
      expect(verdict.within).toBe(false);
      expect(verdict.allowed).toContain('write-ahead-marking');
      expect(verdict.reported).toEqual(['log-status']);
      expect(within('handle_errors', kind, 'none')).toBe(true);
      expect(within('keep_log', kind, 'none')).toBe(true);
    }
  });

  it('§4.3 a read error is survivable everywhere when it hits a user read of a quiet mirror', () => {
    for (const features of ['none', 'handle_errors', 'keep_log'] as const) {
      const verdict = faultExpectation(profile({ features }), 'legReadError', 'default');
      expect(verdict.within).toBe(true);
      expect(verdict.needsQuiet).toBe(true);
    }
  });

  it('§6 log-device faults need a log device; daemon faults need a userspace log', () => {
    const core = profile({ logType: 'core' });
    expect(faultApplies(core, 'logFail')).toBe(false);
    expect(faultApplies(core, 'daemonCrash')).toBe(false);
    expect(faultApplies(profile({ logType: 'userspace' }), 'daemonCrash')).toBe(true);
    expect(faultApplies(profile(), 'ulogLateReply')).toBe(false);
  });

  it('userspace §2.2 a daemon crash without integrated_flush may lose marks: a later machine crash is beyond budget', () => {
    const plain = profile({ logType: 'userspace', features: 'handle_errors' });
    expect(faultExpectation(plain, 'daemonCrash', 'none').leaves).toBe('marks-lost');
    const integrated = { ...plain, integratedFlush: true };
    expect(faultExpectation(integrated, 'daemonCrash', 'none').leaves).toBeNull();
    for (const kind of ['ulogMessageLoss', 'ulogLateReply'] as const) {
      expect(faultExpectation(plain, kind, 'none').within).toBe(true);
    }
  });

  it('every kind has a verdict for every profile and role, and every beyond-budget verdict names a section and what it may break', () => {
    for (const logType of ['core', 'disk', 'userspace'] as const) {
      for (const features of ['none', 'handle_errors', 'keep_log'] as const) {
        for (const kind of FAULT_KINDS) {
          for (const role of ['default', 'other', 'none'] as const) {
            const verdict = faultExpectation(profile({ logType, features }), kind, role);
            expect(verdict.fact).toMatch(/§|only a userspace log/);
            if (!verdict.within && faultApplies(profile({ logType }), kind)) {
              expect(
                verdict.allowed.length,
                `${logType} ${features} ${kind} ${role}`,
              ).toBeGreaterThan(0);
            }
          }
        }
      }
    }
  });
});

describe('crash expectations per table mode (§2.5, §5.5)', () => {
  const none = new Set<Hazard>();
  const plan = (logType: 'core' | 'disk', mode: TableMode, logReadable = true) =>
    crashExpectation(profile({ logType, tableMode: mode }), { mode, hazards: none, logReadable });

  it('§5.5 core resyncs every region after a crash; disk only the dirty ones; nosync none', () => {
    expect(plan('core', 'default').resync).toBe('all');
    expect(plan('disk', 'default').resync).toBe('dirty');
    expect(plan('disk', 'sync').resync).toBe('all');
    expect(plan('core', 'nosync').resync).toBe('none');
    expect(plan('disk', 'nosync').resync).toBe('none');
  });

  it('§2.5 §5.5 only nosync lets legs differ after a crash, and says so', () => {
    expect(plan('disk', 'nosync').legsMayDiffer).toBe(true);
    expect(plan('disk', 'nosync').fact).toMatch(/nosync/);
    expect(plan('disk', 'default').legsMayDiffer).toBe(false);
    expect(plan('core', 'sync').legsMayDiffer).toBe(false);
  });

  it('§8(3) a disk log unreadable at the reboot resyncs every region', () => {
    expect(plan('disk', 'default', false).resync).toBe('all');
  });

  it('a crash is beyond budget while a hazard is open: a stale first leg, lost marks, a stale log read again, a volatile first leg', () => {
    const base = profile({ features: 'keep_log' });
    for (const hazard of [
      'stale-first-leg',
      'marks-lost',
      'stale-log',
      'volatile-first-leg',
    ] as const) {
      const verdict = crashExpectation(base, {
        mode: 'default',
        hazards: new Set([hazard]),
        logReadable: true,
      });
      expect(verdict.within, hazard).toBe(false);
      expect(verdict.allowed).toContain('register');
    }
    expect(
      crashExpectation(base, {
        mode: 'default',
        hazards: new Set(['stale-log']),
        logReadable: false,
      }).within,
      'an unreadable log is not trusted again',
    ).toBe(true);
  });

  it('§2.4 §4.5 only a core log with leg caches, reloaded with a different first leg that holds unflushed writes, leaves a volatile first leg', () => {
    const core = profile({ logType: 'core' });
    expect(reloadLeavesVolatileFirstLeg(core, 'leg0', 'leg1', 3)).toBe(true);
    expect(reloadLeavesVolatileFirstLeg(core, 'leg0', 'leg0', 3), 'same first leg').toBe(false);
    expect(reloadLeavesVolatileFirstLeg(core, 'leg0', 'leg1', 0), 'nothing volatile').toBe(false);
    expect(
      reloadLeavesVolatileFirstLeg(
        profile({ logType: 'core', writeCache: false }),
        'leg0',
        'leg1',
        3,
      ),
      'no write cache',
    ).toBe(false);
    // §2.4: the disk log calls the mirror's leg flush before it records a region clean or in sync.
    expect(reloadLeavesVolatileFirstLeg(profile({ logType: 'disk' }), 'leg0', 'leg1', 3)).toBe(
      false,
    );
    const verdict = crashExpectation(core, {
      mode: 'default',
      hazards: new Set(['volatile-first-leg']),
      logReadable: true,
    });
    expect(verdict.fact).toMatch(/^§2\.4 §4\.5 §5\.5/);
  });

  it('userspace-log.ts: leg write caches are beyond the userspace log’s budget (no leg flush before clean bits)', () => {
    const verdict = crashExpectation(profile({ logType: 'userspace', writeCache: true }), {
      mode: 'default',
      hazards: none,
      logReadable: true,
    });
    expect(verdict.within).toBe(false);
    expect(verdict.allowed).toContain('clean-before-durable');
  });
});

describe('profile tables (§4.1)', () => {
  it('builds the dm table line of every profile, legs in the given order', () => {
    const geometry = { regionSizeSectors: 8, lengthSectors: 30 };
    expect(profileTable(profile({ logType: 'core' }), geometry)).toBe(
      '0 30 mirror core 1 8 2 leg0 0 leg1 0',
    );
    expect(
      profileTable(profile({ legCount: 3, tableMode: 'nosync', features: 'keep_log' }), geometry),
    ).toBe('0 30 mirror disk 3 log0 8 nosync 3 leg0 0 leg1 0 leg2 0 2 handle_errors keep_log');
    expect(
      profileTable(profile({ features: 'handle_errors' }), geometry, {
        legOrder: ['leg1', 'leg0'],
        mode: 'sync',
      }),
    ).toBe('0 30 mirror disk 3 log0 8 sync 2 leg1 0 leg0 0 1 handle_errors');
    expect(profileTable(profile({ logType: 'userspace', integratedFlush: true }), geometry)).toBe(
      '0 30 mirror userspace 5 fuzz-uuid integrated_flush disk log0 8 2 leg0 0 leg1 0',
    );
  });
});
