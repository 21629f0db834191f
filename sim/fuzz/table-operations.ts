/**
 * `dmsetup load`, `suspend` and `resume` on a running stack, each run to
 * completion within a bound. A suspend can wait forever in Linux (a failed
 * PREFLUSH stalls recovery for good; writes requeued every 200 ms never
 * drain); the stack's own helpers allow 50 million events for it, minutes
 * of wall clock. The suites need to call such a hang in seconds, so they
 * run the same tasks here with their own bounds, in events and in
 * simulated time. A hang surfaces as a
 * {@link StepLimitError} (events kept coming) or an InvariantError saying
 * the task "did not finish" (the world went idle).
 */

import { createMirrorTarget } from '../../src/mirror/mirror-ctr.js';
import type { MirrorSet } from '../../src/mirror/mirror-set.js';
import { parseTableLine } from '../../src/table/table-line.js';
import type { MirrorStack } from '../mirror-stack.js';
import { runTask } from '../run-task.js';
import { existingUlogMachine } from '../userspace/ulog-machine.js';

/** Events one table operation may run before it counts as hung. */
export const TABLE_OPERATION_STEPS_MAX = 2_000_000;

/**
 * Simulated time one table operation may take before it counts as hung:
 * two minutes, far beyond the longest legitimate wait (the userspace log's
 * 15 s resend and 2 s reconnect), yet cheap to reach for a requeue loop
 * that wakes every 200 ms, where the event bound alone took minutes of wall
 * clock (fuzz seed 54472).
 */
export const TABLE_OPERATION_TICKS_MAX = 120_000_000;

/** `dmsetup suspend [--noflush]`, bounded. */
export function suspendStack(stack: MirrorStack, noflush: boolean): void {
  runTask(stack.world.scheduler, stack.device.suspend({ noflush }), {
    what: 'suspend',
    stepsMax: TABLE_OPERATION_STEPS_MAX,
    ticksMax: TABLE_OPERATION_TICKS_MAX,
  });
}

/** `dmsetup resume`, bounded. */
export function resumeStack(stack: MirrorStack): void {
  runTask(stack.world.scheduler, stack.device.resume(), {
    what: 'resume',
    stepsMax: TABLE_OPERATION_STEPS_MAX,
    ticksMax: TABLE_OPERATION_TICKS_MAX,
  });
}

/**
 * A reload: load `table` as the inactive table (its constructor runs now,
 * as `dmsetup load`), then suspend and resume, which swaps it in. Every
 * device the table names already exists (they were created at boot).
 * Throws TableError when the table cannot be loaded; the live table stays.
 */
export function reloadStack(stack: MirrorStack, table: string, noflush: boolean): void {
  const line = parseTableLine(table);
  const world = stack.world;
  const target: MirrorSet = createMirrorTarget(line.args, {
    scheduler: world.scheduler,
    lengthSectors: line.lengthSectors,
    getDevice: (name) => world.device(name),
    raiseEvent: (reason) => stack.device.raiseEvent(reason),
    userspaceTransfer: () => {
      const machine = existingUlogMachine(world);
      if (machine === undefined) throw new RangeError('A userspace log needs the machine’s daemon');
      return machine.transfer();
    },
  });
  runTask(world.scheduler, stack.device.load(target), {
    what: 'table load',
    stepsMax: TABLE_OPERATION_STEPS_MAX,
    ticksMax: TABLE_OPERATION_TICKS_MAX,
  });
  suspendStack(stack, noflush);
  resumeStack(stack);
}
