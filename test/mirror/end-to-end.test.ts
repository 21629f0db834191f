import { describe, expect, it } from 'vitest';
import { type RunScenarioOptions, runScenario } from '../../sim/scenario/run-scenario.js';
import { CRASH_STRATEGIES, type CrashStrategy } from '../../src/block/crash-state.js';
import { fixedLatency } from '../../src/block/latency.js';

/** 128 MiB in 256 regions of 512 KiB; a few hundred 4 KiB requests with a flush every 16 writes. */
function options(overrides: Partial<RunScenarioOptions> = {}): RunScenarioOptions {
  return {
    seed: 7,
    logType: 'disk',
    legCount: 2,
    regionSizeSectors: 1024,
    sizeSectors: 256 * 1024,
    workload: 'randwrite',
    ops: 300,
    depth: 8,
    blockSizeSectors: 8,
    crash: { kind: 'never' },
    crashState: 'random',
    flushEveryWrites: 16,
    legLatency: {
      read: fixedLatency(80),
      write: { kind: 'exponential', minimumTicks: 50, meanTicks: 150 },
      flush: fixedLatency(500),
    },
    logLatency: { read: fixedLatency(80), write: fixedLatency(100), flush: fixedLatency(300) },
    writeCache: true,
    ...overrides,
  };
}

const REGIONS = 256;

describe('end to end: runScenario (§5)', () => {
  for (const logType of ['core', 'disk']) {
    for (const legCount of [2, 3]) {
      it(`§5 ${logType} log, ${legCount} legs, no crash: the oracle holds and the legs are identical`, () => {
        const result = runScenario(options({ logType, legCount }));
        expect(result.violations).toEqual([]);
        expect(result.oracle).toBe('ok');
        expect(result.legsIdentical).toBe(true);
        expect(result.crashed).toBe(false);
        expect(result.writesAcknowledged).toBeGreaterThan(0);
        expect(result.statusInfo).toMatch(
          new RegExp(`^${legCount} .* ${REGIONS}/${REGIONS} 1 ${'A'.repeat(legCount)} `),
        );
      });
    }
  }

  describe('§5.3 §5.5 a crash at a random point, each crash strategy', () => {
    const diskResynced: number[] = [];
    for (const crashState of CRASH_STRATEGIES) {
      it(`§5.3 disk log, crash state "${crashState}": consistent after recovery, resyncing only the dirty regions`, () => {
        const result = runScenario(options({ crash: { kind: 'random' }, crashState }));
        expect(result.crashed).toBe(true);
        expect(result.violations).toEqual([]);
        expect(result.oracle).toBe('ok');
        expect(result.legsIdentical).toBe(true);
        expect(result.regions).toBe(REGIONS);
        expect(result.regionsResynced).toBeLessThanOrEqual(result.dirtyRegionsAtCrash);
        expect(result.regionsResynced).toBeLessThan(REGIONS / 8);
        diskResynced.push(result.regionsResynced);
      });
    }

    it('§5.3 across the strategies the disk log did resync some dirty regions', () => {
      expect(diskResynced).toHaveLength(CRASH_STRATEGIES.length);
      expect(diskResynced.some((count) => count > 0)).toBe(true);
    });

    for (const crashState of ['none', 'torn'] as CrashStrategy[]) {
      it(`§5.5 core log, crash state "${crashState}": consistent after recovery, resyncing every region`, () => {
        const result = runScenario(
          options({ logType: 'core', crash: { kind: 'random' }, crashState }),
        );
        expect(result.crashed).toBe(true);
        expect(result.oracle).toBe('ok');
        expect(result.legsIdentical).toBe(true);
        expect(result.dirtyRegionsAtCrash).toBe(REGIONS);
        expect(result.regionsResynced).toBe(REGIONS);
      });
    }

    it('§5.3 three legs with a disk log survive a torn crash', () => {
      const result = runScenario(
        options({ legCount: 3, crash: { kind: 'random' }, crashState: 'torn', seed: 11 }),
      );
      expect(result.crashed).toBe(true);
      expect(result.oracle).toBe('ok');
      expect(result.legsIdentical).toBe(true);
      expect(result.regionsResynced).toBeLessThan(REGIONS / 8);
    });

    it('§5.3 a crash in the middle of the writes leaves dirty regions that the disk log resyncs', () => {
      const result = runScenario(
        options({ crash: { kind: 'afterWrites', writes: 100 }, crashState: 'prefix' }),
      );
      expect(result.crashed).toBe(true);
      expect(result.oracle).toBe('ok');
      expect(result.legsIdentical).toBe(true);
      expect(result.dirtyRegionsAtCrash).toBeGreaterThan(0);
      expect(result.regionsResynced).toBeGreaterThan(0);
      expect(result.regionsResynced).toBeLessThan(REGIONS / 8);
    });
  });

  describe('determinism', () => {
    it('the same options give the same trace hash; another seed gives another', () => {
      const crashing = options({ crash: { kind: 'random' }, crashState: 'random', ops: 150 });
      const first = runScenario(crashing);
      const again = runScenario(crashing);
      expect(again.traceHash).toBe(first.traceHash);
      expect(again.crashEvent).toBe(first.crashEvent);
      expect(again.crashStateId).toBe(first.crashStateId);
      expect(again.simulatedTicks).toBe(first.simulatedTicks);
      const other = runScenario({ ...crashing, seed: crashing.seed + 1 });
      expect(other.traceHash).not.toBe(first.traceHash);
    });
  });
});
