/**
 * `mirrorsim run` with a userspace log whose daemon dies and restarts
 * mid-run (here the in-process daemon, killed right after it answered a
 * MARK, before the FLUSH that commits it; `run --log-daemon` with a real
 * daemon restarted by hand does the same). Legs that differ afterwards are
 * Linux's documented behaviour, and the verdict names which:
 *
 * - without a crash: the kernel keeps `in_sync_hint` across the reconnect
 *   (only `userspace_resume` resets it), so it never asks the restarted
 *   daemon for resync work, and regions the daemon reports out of sync get
 *   their writes on the default leg only (userspace §2.5, §2.7);
 * - a crash after the restart: the fault budget's `marks-lost` hazard,
 *   unless integrated_flush carried the marks in the FLUSH (§2.2).
 */
import { describe, expect, it } from 'vitest';
import { RUN_LEG_LATENCY, RUN_LOG_LATENCY } from '../../cli/run-command.js';
import {
  type CrashWhen,
  DAEMON_RECONNECT_FACT,
  type RunResult,
  runScenario,
} from '../../sim/scenario/run-scenario.js';
import { existingUlogMachine } from '../../sim/userspace/ulog-machine.js';
import '../../src/log/builtin-logs.js';
import { UlogRequestType } from '../../src/log/userspace/ulog-request-type.js';

/**
 * A small userspace-log run whose daemon dies and restarts 1 ms later: after
 * its third MARK (between a MARK and its FLUSH), or, with integrated_flush
 * (no MARK requests: marks ride in the FLUSH), after its third FLUSH.
 */
function runWithDaemonRestart(logType: string, crash: CrashWhen): RunResult {
  return runScenario({
    seed: 1,
    logType,
    legCount: 2,
    regionSizeSectors: 64,
    sizeSectors: 2048,
    workload: 'randwrite',
    ops: 120,
    depth: 4,
    blockSizeSectors: 8,
    crash,
    crashState: 'none',
    flushEveryWrites: 0,
    legLatency: RUN_LEG_LATENCY,
    logLatency: RUN_LOG_LATENCY,
    writeCache: false,
    onWorkloadStart: (stack) => {
      const daemon = existingUlogMachine(stack.world)!.daemon!;
      const trigger = logType.includes('integrated_flush')
        ? UlogRequestType.FLUSH
        : UlogRequestType.MARK_REGION;
      let seen = 0;
      daemon.onHandled = (type) => {
        if (type === trigger && ++seen === 3) daemon.crash({ restartAfterTicks: 1000 });
      };
    },
  });
}

describe('run: a userspace log daemon that dies and restarts mid-run', () => {
  it.each(['userspace', 'userspace+integrated_flush'])(
    'userspace §2.5 §2.7 (%s): legs differ without a crash, named as the kernel keeping in_sync_hint, not failed',
    (logType) => {
      const result = runWithDaemonRestart(logType, { kind: 'never' });
      expect(result.logDaemonReconnects).toBe(1);
      expect(result.legsIdentical).toBe(false);
      // The restarted daemon reports regions out of sync that the kernel never resyncs.
      const inSync = Number(/^2 leg0 leg1 (\d+)\/32 1 AA /.exec(result.statusInfo)?.[1]);
      expect(inSync).toBeLessThan(32);
      expect(result.violations).toEqual(['legs differ after recovery']);
      expect(result.oracle).toBe('ok');
      expect(result.expected).toBe(DAEMON_RECONNECT_FACT);
      expect(result.hazards).toEqual([]);
    },
  );

  it('userspace §2.2: a crash after the restart is judged with the marks-lost hazard, unless integrated_flush', () => {
    const plain = runWithDaemonRestart('userspace', { kind: 'random' });
    expect(plain.crashed).toBe(true);
    expect(plain.logDaemonReconnects).toBe(1);
    expect(plain.hazards).toEqual(['marks-lost']);
    expect(plain.oracle).toBe('ok');
    const integrated = runWithDaemonRestart('userspace+integrated_flush', { kind: 'random' });
    expect(integrated.logDaemonReconnects).toBe(1);
    expect(integrated.hazards).toEqual([]);
    expect(integrated.oracle).toBe('ok');
  });

  it('with no restart, nothing is explained away', () => {
    const result = runScenario({
      seed: 1,
      logType: 'userspace',
      legCount: 2,
      regionSizeSectors: 64,
      sizeSectors: 2048,
      workload: 'randwrite',
      ops: 120,
      depth: 4,
      blockSizeSectors: 8,
      crash: { kind: 'never' },
      crashState: 'none',
      flushEveryWrites: 0,
      legLatency: RUN_LEG_LATENCY,
      logLatency: RUN_LOG_LATENCY,
      writeCache: false,
    });
    expect(result.logDaemonReconnects).toBe(0);
    expect([result.legsIdentical, result.expected, result.violations]).toEqual([true, null, []]);
  });
});
