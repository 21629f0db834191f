/**
 * The model-based crash-consistency suites: fast-check command sequences
 * (writes, FUA writes, reads, reads twice, flushes, discards, concurrent
 * batches, advancing time, crashes with a crash state per device, recovery,
 * leg and log faults, suspend/resume, reloads) against a real simulated
 * stack, for both built-in logs, 2 and 3 legs, every table mode and every
 * feature set, with the continuous invariants, the register oracle, the
 * fault reports and the final liveness phase checked in every run.
 *
 * Within the budget every violation is a bug. Beyond it, every violation
 * must be explained by the documented Linux behaviour of a fault that fired
 * (fault-budget.ts), and every fault must still be reported. A failure
 * prints the one `mirrorsim replay` line that re-runs it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assertFuzz, fuzzProperty } from '../../sim/fuzz/fuzz-property.js';
import type { FuzzSystem } from '../../sim/fuzz/fuzz-system.js';
import '../../src/log/builtin-logs.js';

const FEATURE_SETS = ['none', 'handle_errors', 'keep_log'] as const;

describe('within the fault budget: every violation is a bug', () => {
  for (const logType of ['core', 'disk'] as const) {
    for (const features of FEATURE_SETS) {
      it(`${logType} log, ${features}: 2 and 3 legs, every table mode, cache on and off`, () => {
        const runs = assertFuzz(
          { budget: 'within', logTypes: [logType], featureSets: [features] },
          { numRuns: 140 },
        );
        expect(runs).toBe(140);
      });
    }
  }

  it('userspace log (disk backing, with and without integrated_flush): daemon crashes, lost and late messages', () => {
    expect(assertFuzz({ budget: 'within', logTypes: ['userspace'] }, { numRuns: 40 })).toBe(40);
  });
});

describe('beyond the fault budget: violations are documented Linux behaviour, and reported', () => {
  for (const logType of ['core', 'disk'] as const) {
    it(`${logType} log, every feature set, every fault kind`, () => {
      expect(assertFuzz({ budget: 'beyond', logTypes: [logType] }, { numRuns: 250 })).toBe(250);
    });
  }

  it('userspace log, every fault kind, leg caches too', () => {
    expect(assertFuzz({ budget: 'beyond', logTypes: ['userspace'] }, { numRuns: 30 })).toBe(30);
  });

  it('a sample of beyond-budget runs meets documented behaviour and names it', () => {
    const facts = new Set<string>();
    fc.assert(
      fuzzProperty(
        { budget: 'beyond', logTypes: ['core', 'disk'] },
        { onSystem: (system) => afterRun(system, () => collectFacts(system, facts)) },
      ),
      { numRuns: 80, seed: 4242 },
    );
    const sections = [...facts].join('\n');
    for (const section of ['§4.8', '§2.5', '§3.4']) expect(sections).toContain(section);
  });
});

describe('the suites exercise what they claim', () => {
  it('a sample of within-budget runs crashes, recovers, injects faults and checks reads', () => {
    const seen = new Map<string, number>();
    fc.assert(
      fuzzProperty(
        { budget: 'within', logTypes: ['core', 'disk'] },
        { onSystem: (system) => afterRun(system, () => countCommands(system, seen)) },
      ),
      { numRuns: 80, seed: 4242 },
    );
    for (const name of ['crash', 'recover', 'write', 'readTwice', 'batch', 'reload', 'discard']) {
      expect(seen.get(name) ?? 0, name).toBeGreaterThan(10);
    }
    const faults = ['legWriteError', 'legReadError', 'failLeg', 'failLog', 'logWriteError'];
    expect(faults.reduce((sum, name) => sum + (seen.get(name) ?? 0), 0)).toBeGreaterThan(10);
  });
});

/** Calls `then` once the system's run is over (after its liveness phase). */
function afterRun(system: FuzzSystem, then: () => void): void {
  const finish = system.finish.bind(system);
  system.finish = () => {
    finish();
    then();
  };
}

/** Counts, by name, the commands a run acted on (not skipped by the budget). */
function countCommands(system: FuzzSystem, seen: Map<string, number>): void {
  for (const line of system.journal) {
    const name = /^\[\d+\] ([A-Za-z]+)\(/.exec(line)?.[1];
    if (name !== undefined && !line.includes('[skipped')) seen.set(name, (seen.get(name) ?? 0) + 1);
  }
}

function collectFacts(system: FuzzSystem, facts: Set<string>): void {
  for (const outcome of system.expected) facts.add(outcome.fact);
}
