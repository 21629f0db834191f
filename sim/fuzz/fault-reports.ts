/**
 * Checks that every device error the mirror saw was reported the way Linux
 * reports it (reference §4.2, §4.6, §2.6): a leg error turns the leg's
 * health character from `A` to `F`/`D`/`S`/`R` until full sync resets it
 * (`reset_ms_flags`), with `handle_errors` the first error of a leg raises
 * an event, and a failed disk-log device shows `D` or `F` in the log's
 * status and raises an event at its first failure. Two leg errors are
 * reported only to the request: a failed discard (§4.4: NOTSUPP, no
 * degradation) and a failed write to a region out of sync, which goes to
 * the default leg alone and whose error the user sees as EIO (§4.4 step 3.7).
 * That EIO is recognised by the bio that carried it, not by its user
 * request: a request split across regions ends only with its last part,
 * which may be held for userspace long after the failed part ended.
 *
 * Errors are observed as devices complete requests; they are checked when
 * the world is next idle (a write's failure is only handled once every leg
 * has answered, and the event work the mirror queues runs after that), and
 * only while the table that saw them is still live.
 */
import type { SimulatedDevice } from '../../src/block/simulated-device.js';
import { DiskLog } from '../../src/log/disk-log.js';
import type { MirrorSet } from '../../src/mirror/mirror-set.js';
import type { MirrorStack } from '../mirror-stack.js';
import type { World } from '../world.js';

interface SeenError {
  readonly deviceName: string;
  readonly operation: 'read' | 'write' | 'flush' | 'discard';
  readonly mirror: MirrorSet;
  /** The mapped device's event count when the error was seen. */
  readonly eventsBefore: number;
  /** The leg already had errors recorded (so no new event is owed), or the log had failed. */
  readonly alreadyFailed: boolean;
  /** Bios the mapped device had failed back to their requests when the error was seen. */
  readonly biosFailedBefore: number;
}

/** Watches devices for errors and checks each was reported as Linux reports it. */
export class FaultReports {
  private pending: SeenError[] = [];
  private readonly detachers: Array<() => void> = [];

  constructor(
    private readonly world: World,
    private readonly stack: () => MirrorStack,
    devices: readonly SimulatedDevice[],
  ) {
    for (const device of devices) {
      this.detachers.push(
        device.observe({
          completed: (request, error) => {
            if (error !== null) this.seen(device.name, request.kind);
          },
        }),
      );
    }
  }

  detach(): void {
    for (const detach of this.detachers.splice(0)) detach();
  }

  /** Returns a description of every error now due that was not reported as Linux reports it. */
  check(): string[] {
    if (this.world.scheduler.pendingCount > 0) return [];
    const problems: string[] = [];
    const live = this.stack().mirror;
    for (const error of this.pending) {
      if (error.mirror !== live) continue;
      const problem = this.checkOne(error);
      if (problem !== null) problems.push(problem);
    }
    this.pending = [];
    return problems;
  }

  private seen(deviceName: string, operation: SeenError['operation']): void {
    const stack = this.stack();
    const mirror = stack.mirror;
    const leg = mirror.legs.find((each) => each.name === deviceName);
    const log = mirror.log;
    const alreadyFailed =
      leg !== undefined
        ? leg.errorCount > 0
        : log instanceof DiskLog && log.device.name === deviceName && log.logDevFailed;
    this.pending.push({
      deviceName,
      operation,
      mirror,
      eventsBefore: stack.device.events,
      alreadyFailed,
      biosFailedBefore: stack.device.stats.biosFailed,
    });
  }

  private checkOne(error: SeenError): string | null {
    const stack = this.stack();
    const mirror = error.mirror;
    const leg = mirror.legs.find((each) => each.name === error.deviceName);
    const reasons = eventsSince(stack, error.eventsBefore);
    if (leg !== undefined) {
      // §4.4: a failed discard is answered NOTSUPP and never degrades the array.
      if (error.operation === 'discard') return null;
      // A write to a region out of sync fails back to the user alone (no fail_mirror).
      if (stack.device.stats.biosFailed > error.biosFailedBefore) return null;
      const reset = reasons.includes('mirror in sync');
      if (leg.statusChar() === 'A' && !reset) {
        return `a ${error.operation} error on ${leg.name} left its health character A (§4.2 §4.6)`;
      }
      if (mirror.features.handleErrors && !error.alreadyFailed && reasons.length === 0) {
        return `a first ${error.operation} error on ${leg.name} raised no event with handle_errors (§4.6)`;
      }
      return null;
    }
    const log = mirror.log;
    if (!(log instanceof DiskLog) || log.device.name !== error.deviceName) return null;
    if (!log.logDevFailed) {
      return `a ${error.operation} error on log device ${error.deviceName} left the log status A (§2.6)`;
    }
    if (!error.alreadyFailed && !reasons.some((reason) => reason.startsWith('dirty log device'))) {
      return `the first ${error.operation} error on log device ${error.deviceName} raised no event (§2.6)`;
    }
    return null;
  }
}

/** Event reasons raised on the mapped device since its count was `before`. */
function eventsSince(stack: MirrorStack, before: number): readonly string[] {
  const count = stack.device.events - before;
  if (count <= 0) return [];
  return stack.device.recentEventReasons.slice(-count);
}
