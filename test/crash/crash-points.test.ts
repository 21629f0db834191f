/**
 * Crash points, three ways (reference crash-simulation.md §4, §7.3):
 *
 * - exhaustive: a small fixed scenario, crashed after every event k it
 *   runs, with every crash strategy on every device and with the legs and
 *   the log device crashing differently;
 * - B3 persistence points: crashed right after every flush or FUA write
 *   that completes on any device;
 * - random: the crash command at seed-chosen points of random scenarios.
 *
 * Every crash runs the full flow: reboot, resume, invariant 3, the register
 * oracle pinned to what the crash left, recovery, the legs identical.
 */
import { describe, expect, it } from 'vitest';
import type { FuzzConfigSpec } from '../../sim/fuzz/fuzz-config.js';
import { assertFuzz } from '../../sim/fuzz/fuzz-property.js';
import { CRASH_STRATEGIES, type CrashStrategy } from '../../src/block/crash-state.js';
import { fixedLatency } from '../../src/block/latency.js';
import { runScript } from './crash-kit.js';

/** Writes in flight together, overlapping ones (serialised), FUA writes, flushes, a discard. */
const WORKLOAD = [
  'write(sector=0, 8, nowait)',
  'write(sector=8, 4, fua, nowait)',
  'flush(nowait)',
  'write(sector=16, 8, nowait)',
  'write(sector=2, 3, nowait)',
  'discard(sector=28, 4, nowait)',
  'write(sector=24, 2, fua, nowait)',
  'flush(nowait)',
  'write(sector=9, 10, nowait)',
];

/** After the crash: recover, read everything twice, write again, crash cleanly, recover. */
const AFTER = [
  'readTwice(sector=0, 16)',
  'recover()',
  'readTwice(sector=16, 16)',
  'write(sector=4, 8, fua)',
  'crash(now; leg0:none, leg1:none, leg2:none, log0:none)',
  'recover()',
];

/** The strategies every device gets in turn, then combinations where the devices disagree. */
function strategyCombos(): CrashStrategy[][] {
  const uniform = CRASH_STRATEGIES.map((strategy) => [strategy, strategy, strategy, strategy]);
  const mixed: CrashStrategy[][] = [
    ['all', 'none', 'torn', 'none'],
    ['none', 'all', 'random', 'all'],
    ['torn', 'prefix', 'all', 'random'],
    ['prefix', 'torn', 'none', 'torn'],
  ];
  return [...uniform, ...mixed];
}

function crashLine(point: string, combo: readonly CrashStrategy[]): string {
  return `crash(${point}; leg0:${combo[0]}, leg1:${combo[1]}, leg2:${combo[2]}, log0:${combo[3]})`;
}

/** Events the workload runs before the world is idle, measured with a crash far past its end. */
function workloadEvents(spec: FuzzConfigSpec): number {
  const system = runScript(spec, [...WORKLOAD, 'advance(100000 events)']);
  const line = system.journal.find((entry) => /advance\(\d+ events\)/.test(entry));
  return Number(/advance\((\d+) events\)/.exec(line ?? '')?.[1] ?? '0');
}

const LATENCY = {
  read: fixedLatency(10),
  write: fixedLatency(20),
  flush: fixedLatency(30),
};
const SLOW_LEG = { read: fixedLatency(15), write: fixedLatency(45), flush: fixedLatency(25) };

const SCENARIOS: ReadonlyArray<{ readonly name: string; readonly spec: FuzzConfigSpec }> = [
  {
    name: 'disk log, 2 legs, write caches',
    spec: {
      profile: { logType: 'disk', writeCache: true },
      legLatencies: [LATENCY, SLOW_LEG],
    },
  },
  {
    name: 'core log, 3 legs, write caches, handle_errors',
    spec: {
      profile: { logType: 'core', legCount: 3, writeCache: true, features: 'handle_errors' },
      legLatencies: [LATENCY, SLOW_LEG, LATENCY],
    },
  },
  {
    name: 'disk log, 3 legs, no cache, keep_log',
    spec: {
      profile: { logType: 'disk', legCount: 3, features: 'keep_log' },
      legLatencies: [SLOW_LEG, LATENCY, LATENCY],
    },
  },
  {
    name: 'disk log, 2 legs, write caches, nosync (divergence expected and reported)',
    spec: {
      profile: { logType: 'disk', writeCache: true, tableMode: 'nosync' },
      legLatencies: [LATENCY, SLOW_LEG],
    },
  },
];

describe('exhaustive crash points: after every event, every strategy, devices crashing independently', () => {
  for (const scenario of SCENARIOS) {
    it(scenario.name, () => {
      const events = workloadEvents(scenario.spec);
      expect(events, 'the workload runs long enough to crash inside it').toBeGreaterThan(20);
      let crashes = 0;
      for (let event = 0; event <= events; event++) {
        for (const combo of strategyCombos()) {
          runScript(scenario.spec, [
            ...WORKLOAD,
            crashLine(`after ${event} events`, combo),
            ...AFTER,
          ]);
          crashes++;
        }
      }
      expect(crashes).toBe((events + 1) * strategyCombos().length);
    });
  }
});

describe('B3: a crash right after every persistence point (flush or FUA completion)', () => {
  for (const scenario of SCENARIOS) {
    it(scenario.name, () => {
      let reached = 0;
      for (let point = 1; point <= 40; point++) {
        const system = runScript(scenario.spec, [
          ...WORKLOAD,
          crashLine(`at persistence point ${point}`, ['random', 'torn', 'prefix', 'random']),
          ...AFTER,
        ]);
        const crashed = system.journal.some((line) =>
          line.includes(`right after persistence point ${point}`),
        );
        if (!crashed) break;
        reached = point;
      }
      expect(reached, 'persistence points reached inside the workload').toBeGreaterThan(3);
    });
  }
});

describe('random crash points', () => {
  it('crash commands at seed-chosen points of random scenarios, every log and mode', () => {
    expect(
      assertFuzz(
        { budget: 'within', logTypes: ['core', 'disk'], maxCommands: 80 },
        { numRuns: 100 },
      ),
    ).toBe(100);
  });
});
