/**
 * The crash-consistency commands that break things and bring them back:
 * crash (with a crash point and a crash state per device), recover, leg and
 * log-device faults, userspace-daemon faults, suspend/resume and reload.
 * Faults are commands, so fast-check shrinks the fault schedule too. Each
 * fault command runs only when its kind is switched on for the seed (swarm)
 * and its roll falls under the kind's weight; whether it is within the
 * budget is decided against the live mirror (which leg is the default now).
 */
import type { CrashStrategy } from '../../src/block/crash-state.js';
import { DM_ULOG_RETRY_TIMEOUT_TICKS } from '../../src/log/userspace/ulog-transfer.js';
import type { FaultKind } from './fault-budget.js';
import type { FuzzModel } from './fuzz-model.js';
import type { CrashPoint, FuzzSystem } from './fuzz-system.js';
import { FuzzCommand } from './io-commands.js';
import { FUZZ_LOG_DEVICE } from './mirror-profile.js';

/** `crash(after 12 events; leg0:torn, leg1:none, log0:prefix)`. */
export class CrashCommand extends FuzzCommand {
  constructor(
    private readonly point: CrashPoint,
    /**
     * For leg0, leg1, leg2 and the log device: an index into the seed's
     * strategies (resolved modulo their number), or a strategy by name.
     */
    private readonly strategyChoices: readonly (number | CrashStrategy)[],
  ) {
    super();
  }

  protected act(model: FuzzModel, real: FuzzSystem): string {
    const strategies = model.config.crashStrategies;
    const chosen = new Map<string, CrashStrategy>();
    const strategyOf = (name: string): CrashStrategy => {
      const index = name === FUZZ_LOG_DEVICE ? 3 : Number(name.replace(/^leg/, ''));
      const choice = this.strategyChoices[index] ?? 0;
      const picked = typeof choice === 'string' ? choice : strategies[choice % strategies.length]!;
      chosen.set(name, picked);
      return picked;
    };
    const outcome = real.crash(this.point, strategyOf);
    const states = [...chosen.entries()]
      .sort(([left], [right]) => left.localeCompare(right))
      .map(([name, strategy]) => `${name}:${strategy}`)
      .join(', ');
    return `crash(${describePoint(this.point)}; ${states === '' ? 'not crashed' : states}) → ${outcome}`;
  }

  protected unresolved(): string {
    return `crash(${describePoint(this.point)})`;
  }
}

function legText(reference: number | string): string {
  return typeof reference === 'string' ? reference : `leg#${reference}`;
}

function describePoint(point: CrashPoint): string {
  switch (point.kind) {
    case 'now':
      return 'now';
    case 'events':
      return `after ${point.events} events`;
    case 'persistence':
      return `at persistence point ${point.count}`;
  }
}

/** `recover()`: recovery runs to convergence (bounded), then what changed is verified. */
export class RecoverCommand extends FuzzCommand {
  protected act(_model: FuzzModel, real: FuzzSystem): string {
    return `recover() → ${real.recover()}`;
  }

  protected unresolved(): string {
    return 'recover()';
  }
}

/** Shared by the fault commands: the swarm roll and the budget admission. */
abstract class FaultCommand extends FuzzCommand {
  constructor(
    protected readonly kind: FaultKind,
    private readonly roll: number,
  ) {
    super();
  }

  override check(model: Readonly<FuzzModel>): boolean {
    return model.rolls(this.kind, this.roll);
  }
}

/** A one-shot error: the leg fails the one request the command then issues. */
abstract class LegIoErrorCommand extends FaultCommand {
  constructor(
    kind: 'legWriteError' | 'legReadError',
    private readonly op: 'write' | 'read',
    roll: number,
    private readonly legIndex: number | string,
    private readonly at: number,
    private readonly length: number,
  ) {
    super(kind, roll);
  }

  protected act(model: FuzzModel, real: FuzzSystem): string {
    const leg = model.leg(this.legIndex);
    const role = real.roleOf(leg);
    const range = model.range(this.at, this.length);
    const head = `${this.kind}(${leg} [${role}], ${this.op}(sector=${range.sector}, ${range.sectorCount}))`;
    const skipped = real.admitFault(this.kind, role, leg);
    if (skipped !== null) return `${head} [skipped: ${skipped}]`;
    real.world.device(leg).faults.injectNext(this.op, 'error');
    const request = real.io({ kind: this.op, ...range, fua: false }, true);
    real.disarm(leg);
    return `${head} → ${request.state !== 'done' ? 'pending' : (request.error ?? 'ok')}`;
  }

  protected unresolved(): string {
    return `${this.kind}(${legText(this.legIndex)})`;
  }
}

/** `legWriteError(leg1, write(sector=40, 8))`: the leg fails that one write. */
export class LegWriteErrorCommand extends LegIoErrorCommand {
  constructor(roll: number, legIndex: number | string, at: number, length: number) {
    super('legWriteError', 'write', roll, legIndex, at, length);
  }
}

/** `legReadError(leg0, read(sector=40, 8))`: the leg fails that one read. */
export class LegReadErrorCommand extends LegIoErrorCommand {
  constructor(roll: number, legIndex: number | string, at: number, length: number) {
    super('legReadError', 'read', roll, legIndex, at, length);
  }
}

/** `failLeg(leg1)`: the leg fails every read and write until restored. */
export class FailLegCommand extends FaultCommand {
  constructor(
    roll: number,
    private readonly legIndex: number | string,
  ) {
    super('legFail', roll);
  }

  protected act(model: FuzzModel, real: FuzzSystem): string {
    const leg = model.leg(this.legIndex);
    const role = real.roleOf(leg);
    if (real.isLegFailed(leg)) return `failLeg(${leg}) [already failed]`;
    const skipped = real.admitFault('legFail', role, leg);
    if (skipped !== null) return `failLeg(${leg} [${role}]) [skipped: ${skipped}]`;
    real.failLeg(leg);
    return `failLeg(${leg} [${role}])`;
  }

  protected unresolved(): string {
    return `failLeg(${legText(this.legIndex)})`;
  }
}

/** `restoreLeg(leg1)`: the leg works again (its stale data stays until a resync). */
export class RestoreLegCommand extends FaultCommand {
  constructor(
    roll: number,
    private readonly legIndex: number | string,
  ) {
    super('legFail', roll);
  }

  protected act(model: FuzzModel, real: FuzzSystem): string {
    const leg = model.leg(this.legIndex);
    if (!real.isLegFailed(leg)) return `restoreLeg(${leg}) [not failed]`;
    real.restoreLeg(leg);
    return `restoreLeg(${leg})`;
  }

  protected unresolved(): string {
    return `restoreLeg(${legText(this.legIndex)})`;
  }
}

/** `legFlushError(leg1)`: the next PREFLUSH on the leg fails (always beyond budget). */
export class LegFlushErrorCommand extends FaultCommand {
  constructor(
    roll: number,
    private readonly legIndex: number | string,
  ) {
    super('legFlushError', roll);
  }

  protected act(model: FuzzModel, real: FuzzSystem): string {
    const leg = model.leg(this.legIndex);
    const role = real.roleOf(leg);
    const skipped = real.admitFault('legFlushError', role, leg);
    if (skipped !== null) return `legFlushError(${leg} [${role}]) [skipped: ${skipped}]`;
    real.world.device(leg).faults.injectNext('flush', 'error');
    return `legFlushError(${leg} [${role}])`;
  }

  protected unresolved(): string {
    return `legFlushError(${legText(this.legIndex)})`;
  }
}

/** `logWriteError()`: the next write to the log device fails. */
export class LogWriteErrorCommand extends FaultCommand {
  constructor(roll: number) {
    super('logWriteError', roll);
  }

  protected act(_model: FuzzModel, real: FuzzSystem): string {
    const skipped = real.admitFault('logWriteError', 'none');
    if (skipped !== null) return `logWriteError() [skipped: ${skipped}]`;
    real.world.device(FUZZ_LOG_DEVICE).faults.injectNext('write', 'error');
    return 'logWriteError()';
  }

  protected unresolved(): string {
    return 'logWriteError()';
  }
}

/** `failLog()` / `restoreLog()`: the log device fails every request, or works again. */
export class FailLogCommand extends FaultCommand {
  constructor(
    roll: number,
    private readonly restore: boolean,
  ) {
    super('logFail', roll);
  }

  protected act(_model: FuzzModel, real: FuzzSystem): string {
    if (this.restore) {
      if (!real.isLogFailed) return 'restoreLog() [not failed]';
      real.restoreLog();
      return 'restoreLog()';
    }
    if (real.isLogFailed) return 'failLog() [already failed]';
    const skipped = real.admitFault('logFail', 'none');
    if (skipped !== null) return `failLog() [skipped: ${skipped}]`;
    real.failLog();
    return 'failLog()';
  }

  protected unresolved(): string {
    return this.restore ? 'restoreLog()' : 'failLog()';
  }
}

/** `daemonCrash(restart in 3000000 ticks)`: the userspace log daemon dies and restarts. */
export class DaemonCrashCommand extends FaultCommand {
  constructor(
    roll: number,
    private readonly restartAfterTicks: number,
  ) {
    super('daemonCrash', roll);
  }

  protected act(_model: FuzzModel, real: FuzzSystem): string {
    const daemon = real.ulogMachine().daemon;
    if (daemon === null || !daemon.listening) return 'daemonCrash() [daemon down]';
    const skipped = real.admitFault('daemonCrash', 'none');
    if (skipped !== null) return `daemonCrash() [skipped: ${skipped}]`;
    daemon.crash({ restartAfterTicks: this.restartAfterTicks });
    return `daemonCrash(restart in ${this.restartAfterTicks} ticks)`;
  }

  protected unresolved(): string {
    return `daemonCrash(restart in ${this.restartAfterTicks} ticks)`;
  }
}

/** `ulogLoss(request|reply)` / `ulogLateReply()`: one message of the userspace link misbehaves. */
export class UlogMessageCommand extends FaultCommand {
  constructor(
    roll: number,
    private readonly what: 'request' | 'reply' | 'late',
  ) {
    super(what === 'late' ? 'ulogLateReply' : 'ulogMessageLoss', roll);
  }

  protected act(_model: FuzzModel, real: FuzzSystem): string {
    const transport = real.ulogMachine().transport;
    const name = this.unresolved();
    if (transport === null) return `${name} [no simulated link]`;
    const skipped = real.admitFault(this.kind, 'none');
    if (skipped !== null) return `${name} [skipped: ${skipped}]`;
    if (this.what === 'request') transport.dropNextRequest();
    else if (this.what === 'reply') transport.dropNextReply();
    else transport.delayNextReply(DM_ULOG_RETRY_TIMEOUT_TICKS + 1_000_000);
    return name;
  }

  protected unresolved(): string {
    return this.what === 'late' ? 'ulogLateReply()' : `ulogLoss(${this.what})`;
  }
}

/** `suspendResume(noflush)`: the same table suspended and resumed (held writes: EIO or requeued). */
export class SuspendResumeCommand extends FuzzCommand {
  constructor(private readonly noflush: boolean) {
    super();
  }

  protected act(_model: FuzzModel, real: FuzzSystem): string {
    return `suspendResume(${this.noflush ? 'noflush' : ''}) → ${real.suspendResume(this.noflush)}`;
  }

  protected unresolved(): string {
    return `suspendResume(${this.noflush ? 'noflush' : ''})`;
  }
}

/** `reload(noflush)`: a new table, the current default leg first (as a repair keeps it). */
export class ReloadCommand extends FuzzCommand {
  constructor(private readonly noflush: boolean) {
    super();
  }

  protected act(_model: FuzzModel, real: FuzzSystem): string {
    return `reload(${this.noflush ? 'noflush' : ''}) → ${real.reload(this.noflush)}`;
  }

  protected unresolved(): string {
    return `reload(${this.noflush ? 'noflush' : ''})`;
  }
}
