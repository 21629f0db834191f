/**
 * What `mirrorsim run` prints: the summary for a person, or the `--json`
 * object (CLI.md's fields, plus a few more, and the replay line).
 */
import type { RunResult } from '../sim/scenario/run-scenario.js';
import { formatBytes } from './parse-size.js';
import { oneLine } from './quote-value.js';
import type { RunFlags } from './run-options.js';

/** The `--json` object: the fields of CLI.md, plus a few more. */
export function runJson(result: RunResult, replay: string): Record<string, unknown> {
  return {
    seed: result.seed,
    table: result.table,
    logType: result.logType,
    regions: result.regions,
    ops: result.ops,
    writesAcknowledged: result.writesAcknowledged,
    crashed: result.crashed,
    crashEvent: result.crashEvent,
    crashStateId: result.crashStateId,
    dirtyRegionsAtCrash: result.dirtyRegionsAtCrash,
    regionsResynced: result.regionsResynced,
    bytesResynced: result.bytesResynced,
    recoveryTicks: result.recoveryTicks,
    legsIdentical: result.legsIdentical,
    oracle: result.oracle,
    expected: result.expected,
    violations: result.violations,
    statusInfo: result.statusInfo,
    statusTable: result.statusTable,
    traceHash: result.traceHash,
    simulatedTicks: result.simulatedTicks,
    events: result.events,
    logDaemonReconnects: result.logDaemonReconnects,
    hazards: result.hazards,
    replay,
  };
}

export function formatRunReport(result: RunResult, flags: RunFlags, replay: string): string {
  const lines: string[] = [];
  const ms = (ticks: number) => `${(ticks / 1000).toFixed(1)} ms`;
  lines.push(`mirrorsim run — seed ${result.seed}`);
  lines.push(`table:            ${result.table}`);
  lines.push(
    `workload:         ${oneLine(flags.workload)}, ${result.ops} requests of ${oneLine(flags.blockSize)}, ${flags.depth} in flight, a flush every ${flags.fsync} writes`,
  );
  lines.push(`status before:    ${result.statusInfoBefore}`);
  if (result.crashed) {
    lines.push(
      `crash:            at event ${result.crashEvent} (state ${result.crashStateId}), ${result.writesAcknowledged} writes acknowledged before it`,
    );
    lines.push(
      `dirty at crash:   ${result.dirtyRegionsAtCrash} of ${result.regions} regions out of sync in the log`,
    );
    lines.push(
      `resynced:         ${result.regionsResynced} of ${result.regions} regions (${formatBytes(result.bytesResynced)}) in ${ms(result.recoveryTicks)} simulated`,
    );
  } else {
    lines.push(`crash:            none; ${result.writesAcknowledged} writes acknowledged`);
  }
  if (result.logDaemonReconnects > 0) {
    lines.push(
      `log daemon:       reconnected ${result.logDaemonReconnects} times (CTR and RESUME after -ESRCH, userspace §2.7)`,
    );
  }
  lines.push(`status after:     ${result.statusInfo}`);
  lines.push(`table after:      ${result.statusTable}`);
  const perCell = Math.max(1, Math.ceil(result.regions / result.regionMap.length));
  lines.push(
    `region map (${perCell === 1 ? 'one region' : `${perCell} regions`} per cell, # = resynced after the crash):`,
  );
  lines.push(`  [${result.regionMap}]`);
  if (result.oracle === 'ok' && result.expected !== null) {
    lines.push(
      `verification:     passed with differences Linux itself allows${result.crashed ? ' after a crash' : ''}:`,
    );
    lines.push(`                  ${result.expected}`);
    for (const violation of result.violations) lines.push(`  - ${violation}`);
  } else if (result.oracle === 'ok') {
    lines.push('verification:     passed — legs byte-identical; every durable write reads back;');
    lines.push('                  every other sector holds its old value or a value written to it');
  } else {
    lines.push('verification:     FAILED');
    for (const violation of result.violations) lines.push(`  - ${violation}`);
    lines.push(`replay with:      ${replay}`);
  }
  lines.push(
    `trace hash:       ${result.traceHash} (${result.events} events, ${ms(result.simulatedTicks)} simulated)`,
  );
  return `${lines.join('\n')}\n`;
}
