/**
 * `mirrorsim ctl --control PATH ACTION [DEVICE]`: talks to a running
 * `mirrorsim serve` over its control socket (host/nbd/control-server.ts).
 * Actions: `status`, `metrics`, `fail DEVICE`, `restore DEVICE`,
 * `suspend`, `resume`, `power-cut`. Prints for a person, or the JSON the
 * server answered with `--json`. Exit 0 on success, 1 when a power cut's
 * oracle found a violation, 2 for bad usage or a request the server refused.
 */
import { request } from 'node:http';
import { resolve } from 'node:path';
import { type Command, Option } from 'commander';
import type { PowerCutReport } from '../host/nbd/power-cut.js';
import type { ServeStatus } from '../host/nbd/serve-service.js';
import { CRASH_STRATEGIES } from '../src/block/crash-state.js';
import { type CliIo, EXIT_OK, EXIT_VIOLATION, UsageError } from './cli-io.js';
import { formatBytes } from './parse-size.js';

interface CtlFlags {
  control?: string;
  crashState?: string;
  json?: boolean;
}

const ACTIONS: Record<string, { readonly method: 'GET' | 'POST'; readonly device: boolean }> = {
  status: { method: 'GET', device: false },
  metrics: { method: 'GET', device: false },
  fail: { method: 'POST', device: true },
  restore: { method: 'POST', device: true },
  suspend: { method: 'POST', device: false },
  resume: { method: 'POST', device: false },
  'power-cut': { method: 'POST', device: false },
};

/** Registers `ctl` on the program. */
export function registerCtlCommand(
  program: Command,
  io: CliIo,
  setExitCode: (code: number) => void,
): void {
  program
    .command('ctl')
    .description(
      'control a running mirrorsim serve: status, metrics, fail/restore a device, suspend/resume, power-cut',
    )
    .argument('<action>', `one of ${Object.keys(ACTIONS).join(', ')}`)
    .argument('[device]', 'the device for fail and restore (a leg or the log device)')
    .option('--control <path>', 'the control socket mirrorsim serve --control listens on')
    .addOption(
      new Option(
        '--crash-state <s>',
        'power-cut: what each device keeps of its not-yet-durable writes',
      ).choices([...CRASH_STRATEGIES]),
    )
    .option('--json', 'print the JSON the server answered')
    .action(async (action: string, device: string | undefined, flags: CtlFlags) => {
      const spec = ACTIONS[action];
      if (spec === undefined) {
        throw new UsageError(
          `Unknown ctl action "${action}": expected one of ${Object.keys(ACTIONS).join(', ')}`,
        );
      }
      if (flags.control === undefined || flags.control === '')
        throw new UsageError('ctl needs --control PATH');
      if (spec.device !== (device !== undefined)) {
        throw new UsageError(
          spec.device ? `ctl ${action} needs a DEVICE` : `ctl ${action} takes no DEVICE`,
        );
      }
      const query = new URLSearchParams();
      if (device !== undefined) query.set('device', device);
      if (flags.crashState !== undefined) query.set('crash-state', flags.crashState);
      const path = `/${action}${query.size > 0 ? `?${query}` : ''}`;
      const answer = await call(resolve(flags.control), spec.method, path);
      if (answer.status !== 200) {
        const message = parseError(answer.body) ?? `HTTP ${answer.status}`;
        throw new UsageError(`ctl ${action}: ${message}`);
      }
      if (action === 'metrics' || flags.json === true) {
        io.stdout(answer.body.endsWith('\n') ? answer.body : `${answer.body}\n`);
      } else if (action === 'power-cut') {
        io.stdout(formatPowerCut(JSON.parse(answer.body) as PowerCutReport));
      } else {
        io.stdout(formatStatus(JSON.parse(answer.body) as ServeStatus));
      }
      const violated =
        action === 'power-cut' && (JSON.parse(answer.body) as PowerCutReport).oracle !== 'ok';
      setExitCode(violated ? EXIT_VIOLATION : EXIT_OK);
    });
}

function call(
  socketPath: string,
  method: string,
  path: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolvePromise, reject) => {
    const outgoing = request({ socketPath, method, path }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => resolvePromise({ status: response.statusCode ?? 0, body }));
      response.on('error', reject);
    });
    outgoing.on('error', (error) =>
      reject(new UsageError(`Cannot reach the control socket "${socketPath}": ${error.message}`)),
    );
    outgoing.end();
  });
}

function parseError(body: string): string | null {
  try {
    const parsed = JSON.parse(body) as { error?: unknown };
    return typeof parsed.error === 'string' ? parsed.error : null;
  } catch {
    return null;
  }
}

/** `/status` for a person. */
export function formatStatus(status: ServeStatus): string {
  const cuts = status.powerCuts;
  const failedCuts = cuts.filter((cut) => cut.oracle !== 'ok').length;
  const devices = status.devices
    .map(
      (device) =>
        `${device.name} (${device.role}${device.faulty ? ', FAILING' : ''}): ${device.writes} writes, ${device.flushes} flushes, ${device.volatileWrites} volatile`,
    )
    .join('\n              ');
  const lines = [
    `export:       ${status.uri} ("${status.exportName}", ${formatBytes(status.sizeBytes)}), clock ${status.clock}, seed ${status.seed}`,
    `table:        ${status.table}`,
    `status:       ${status.status}`,
    `regions:      ${status.regionsInSync ?? '?'} of ${status.regions} in sync${status.inSync ? '' : ' (resync running)'}; ${status.suspended ? 'SUSPENDED' : 'live'}`,
    `requests:     ${status.requestsInFlight} in flight on ${status.connections} connections; ${status.writesTracked} writes tracked`,
    `devices:      ${devices}`,
    `oracle:       ${status.readViolations} read violations, ${status.invariantViolations.length} invariant violations, ${cuts.length} power cuts (${failedCuts} failed)`,
    `simulated:    ${status.simulatedSeconds.toFixed(6)} s, ${status.events} events, trace hash ${status.traceHash}`,
  ];
  for (const sample of [...status.invariantViolations, ...status.readViolationSamples]) {
    lines.push(`  - ${sample}`);
  }
  return `${lines.join('\n')}\n`;
}

/** A power cut's report for a person. */
export function formatPowerCut(report: PowerCutReport): string {
  const lines = [
    `power cut ${report.number}: crash state ${report.crashState} (${report.crashStateId}) at event ${report.atEvent}, ${report.requestsLost} requests in flight lost`,
    `dirty at crash:  ${report.dirtyRegionsAtCrash} of ${report.regions} regions out of sync in the log`,
    `resynced:        ${report.regionsResynced} of ${report.regions} regions (${formatBytes(report.bytesResynced)}) in ${(report.recoveryTicks / 1000).toFixed(1)} ms simulated${report.recovered ? '' : ' — NOT FINISHED'}`,
    `checked:         ${report.sectorsChecked} sectors; legs ${report.legsIdentical ? 'identical' : 'DIFFER'}${report.overlapRegions > 0 ? ` (${report.overlapRegions} regions exempt: concurrent overlapping writes)` : ''}`,
    `status after:    ${report.statusInfo}`,
  ];
  if (report.oracle === 'ok' && report.expected !== null) {
    lines.push('verification:    passed with differences Linux itself allows after a crash:');
    lines.push(`                 ${report.expected}`);
    for (const violation of report.violations) lines.push(`  - ${violation}`);
  } else if (report.oracle === 'ok') {
    lines.push(
      'verification:    passed — every durable write reads back; every other sector holds a value a write may have left',
    );
  } else {
    lines.push(`verification:    FAILED (${report.violationCount} violations)`);
    for (const violation of report.violations) lines.push(`  - ${violation}`);
    lines.push(
      report.replay === null
        ? 'replay:          serve with --record FILE to capture the requests as a reproducible run'
        : `replay:          ${report.replay}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
