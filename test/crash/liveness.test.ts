/**
 * Liveness (TigerBeetle's two phases, crash-simulation.md §1.4, §7.4 17):
 * once every fault heals — devices healed, a new table loaded when the
 * mirror needs one to forget its errors, as dmeventd would — recovery must
 * converge (in sync, legs identical, every request answered) within a
 * bounded number of events and simulated time. A run that does not is a
 * liveness finding, except the documented Linux hang (§3.3 §4.8: a failed
 * PREFLUSH can stall recovery and suspend for good), which is named.
 */
import { describe, expect, it } from 'vitest';
import { makeFuzzConfig } from '../../sim/fuzz/fuzz-config.js';
import { assertFuzz } from '../../sim/fuzz/fuzz-property.js';
import { LIVENESS_BOUND } from '../../sim/fuzz/fuzz-system.js';
import { expectExplained, runScript } from './crash-kit.js';

function finishedLine(journal: readonly string[]): string {
  return journal.find((line) => line.includes('finished:')) ?? '';
}

describe('after faults heal, recovery converges within a bound', () => {
  it('§4.4 §8(9) writes held for a failed leg are resubmitted by a noflush reload, as dmeventd would load one', () => {
    const system = runScript({ profile: { logType: 'disk', features: 'handle_errors' } }, [
      'failLeg(leg1)',
      'write(sector=0, 8)',
      'write(sector=20, 4)',
      'recover()',
    ]);
    expect(
      system.journal.some((line) => /\(pending\)/.test(line)),
      'the writes were held',
    ).toBe(true);
    expect(system.journal.some((line) => /reload .*\(noflush\)/.test(line))).toBe(true);
    expect(finishedLine(system.journal)).toMatch(/AA .*held 0, outstanding \[\]/);
  });

  it('§2.7 §4.4 a region that failed behind the resync cursor waits for the next resume, then converges', () => {
    const system = runScript({ profile: { logType: 'core' } }, [
      'legWriteError(leg1, write(sector=8, 8))',
      'recover()',
      'suspendResume()',
      'recover()',
    ]);
    const recovers = system.journal.filter((line) => line.includes('recover() →'));
    expect(recovers[0]).toMatch(/not converged \(legs have errors recorded/);
    expect(recovers[1]).toMatch(/converged, 1 regions resynced/);
  });

  it('§4.4 §2.6 with handle_errors a failed log holds writes; healed and reloaded, the mirror converges', () => {
    const system = runScript({ profile: { logType: 'disk', features: 'handle_errors' } }, [
      'failLog()',
      'write(sector=0, 8)',
      'recover()',
      'restoreLog()',
    ]);
    expect(system.journal.some((line) => /write\(sector=0, 8\) \(pending\)/.test(line))).toBe(true);
    expect(finishedLine(system.journal)).toMatch(/3 disk log0 A", in_sync true/);
  });

  it('userspace §2.7: a daemon crash mid-write; the kernel reconnects and the mirror converges', () => {
    const system = runScript(
      { profile: { logType: 'userspace', integratedFlush: true, features: 'handle_errors' } },
      [
        'write(sector=0, 8, nowait)',
        'daemonCrash(restart in 3000000 ticks)',
        'write(sector=16, 8)',
        'recover()',
      ],
    );
    expect(system.ulogMachine().daemon?.stats.crashes).toBe(1);
    expect(finishedLine(system.journal)).toMatch(/in_sync true/);
  });

  it(`every within-budget run with every fault kind switched on converges within ${LIVENESS_BOUND.stepsMax} events of healing`, () => {
    expect(
      assertFuzz(
        { budget: 'within', logTypes: ['core', 'disk'], faultWeightMin: 60, maxCommands: 80 },
        { numRuns: 120 },
      ),
    ).toBe(120);
  });
});

describe('the documented hang is named, not reported as a bug', () => {
  it('§3.3 §4.8 quirk: after a failed PREFLUSH a region handed to recovery drains to NOSYNC; recovery and the suspend of a reload never finish', () => {
    const config = makeFuzzConfig({
      profile: { logType: 'core', writeCache: true },
      regionCount: 3,
      tailShortSectors: 1,
      budget: 'beyond',
      legLatencies: [
        {
          read: { kind: 'fixed', ticks: 5 },
          write: { kind: 'exponential', minimumTicks: 0, meanTicks: 2 },
          flush: { kind: 'fixed', ticks: 0 },
        },
        {
          read: { kind: 'fixed', ticks: 0 },
          write: { kind: 'fixed', ticks: 0 },
          flush: { kind: 'exponential', minimumTicks: 3, meanTicks: 1 },
        },
      ],
      logLatency: {
        read: { kind: 'exponential', minimumTicks: 0, meanTicks: 1 },
        write: { kind: 'exponential', minimumTicks: 0, meanTicks: 1 },
        flush: { kind: 'fixed', ticks: 0 },
      },
    });
    const system = runScript(
      {
        profile: config.profile,
        regionCount: 3,
        tailShortSectors: 1,
        budget: 'beyond',
        legLatencies: config.legLatencies,
        logLatency: config.logLatency,
      },
      [
        'legFlushError(leg0)',
        'crash(after 0 events; leg0:torn, leg1:torn)',
        'batch(write 0+1, flush, flush)',
        'batch(write 0+1, write 16+1, write 0+1)',
        'write(sector=13, 4, nowait)',
        'readTwice(sector=0, 1)',
      ],
    );
    expect(system.stopped ?? 'the run did not stop', 'why the run stopped').toMatch(/hung/);
    expectExplained(system, 'liveness', '§4.8 §3.3');
    expectExplained(system, 'register', '§4.8 §3.3');
  });
});
