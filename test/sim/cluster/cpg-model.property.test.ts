/**
 * Property tests of the simulated CPG's guarantees (§4.10) under random
 * joins, leaves, multicasts, process exits, node failures and latencies:
 * every handle receives one contiguous stretch of its group's agreed
 * order — from its own join to its own leave, or to its death — which is
 * agreed order, virtual synchrony and self-delivery at once; and the
 * order itself is consistent: every message comes from a member of the
 * view it is sequenced in, and every confchg lists the view it makes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CpgEvent } from '../../../sim/cluster/cpg/cpg-event.js';
import type { CpgMembershipMerge } from '../../../sim/cluster/cpg/cpg-model-options.js';
import { type CpgAddress, CS_OK } from '../../../src/log/cluster/cpg.js';
import { CpgTestProcess, newCpg, type Seen } from './cpg-test-kit.js';

const GROUP = 'property-group';

type Op =
  | { readonly op: 'start'; readonly node: number }
  | { readonly op: 'join' | 'leave' | 'send' | 'exit'; readonly process: number }
  | { readonly op: 'node-down' | 'node-up'; readonly node: number }
  | { readonly op: 'wait'; readonly ticks: number };

const process = fc.nat(7);
const node = fc.integer({ min: 1, max: 3 });
/** Mostly multicasts and waits, with enough starts and joins to keep the group busy. */
const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ op: fc.constant('start' as const), node }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('join' as const), process }) },
  { weight: 8, arbitrary: fc.record({ op: fc.constant('send' as const), process }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('leave' as const), process }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('exit' as const), process }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constantFrom('node-down' as const, 'node-up' as const), node }),
  },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('wait' as const), ticks: fc.nat(300) }) },
);

/** Three processes on three nodes start and ask to join before anything else happens. */
const PROLOGUE: readonly Op[] = [1, 2, 3].flatMap((nodeid, index) => [
  { op: 'start' as const, node: nodeid },
  { op: 'join' as const, process: index },
]);

interface Tracked {
  readonly process: CpgTestProcess;
  readonly nodeid: number;
  readonly pid: number;
  /** Messages multicast with CS_OK. */
  readonly sent: string[];
  dead: boolean;
  left: boolean;
}

function sameEvent(seen: Seen, event: CpgEvent): boolean {
  if (event.kind === 'message') {
    return (
      seen.kind === 'message' &&
      seen.nodeid === event.nodeid &&
      seen.pid === event.pid &&
      seen.text === new TextDecoder().decode(event.message)
    );
  }
  return (
    seen.kind === 'confchg' &&
    JSON.stringify([seen.members, seen.left, seen.joined]) ===
      JSON.stringify([event.members, event.left, event.joined])
  );
}

const key = (address: { nodeid: number; pid: number }) => `${address.nodeid}/${address.pid}`;

/** Runs `ops` and returns everything needed to check the properties. */
function run(ops: readonly Op[], seed: number, merge: CpgMembershipMerge) {
  const { world, model } = newCpg({
    seed,
    merge,
    recordHistory: true,
    latency: { kind: 'exponential', minimumTicks: 1, meanTicks: 80 },
  });
  const tracked: Tracked[] = [];
  const down = new Set<number>();
  let pidNext = 100;
  let counter = 0;
  for (const op of ops) {
    if (op.op === 'wait') {
      world.scheduler.runFor(op.ticks);
      continue;
    }
    if (op.op === 'start') {
      if (down.has(op.node)) continue;
      const pid = pidNext++;
      tracked.push({
        process: new CpgTestProcess(model, op.node, pid),
        nodeid: op.node,
        pid,
        sent: [],
        dead: false,
        left: false,
      });
      continue;
    }
    if (!('process' in op)) {
      if (op.op === 'node-down') {
        down.add(op.node);
        model.nodeDown(op.node);
        for (const entry of tracked) if (entry.nodeid === op.node) entry.dead = true;
      } else {
        down.delete(op.node);
        model.nodeUp(op.node);
      }
      continue;
    }
    // Index among the processes still alive, so that most operations do something.
    const alive = tracked.filter((candidate) => !candidate.dead);
    const entry = alive[op.process % Math.max(1, alive.length)];
    if (entry === undefined || entry.dead) continue;
    const handle = entry.process.handle;
    if (op.op === 'join' && !entry.left) handle.join(GROUP);
    if (op.op === 'leave' && handle.leave(GROUP) === CS_OK) entry.left = true;
    if (op.op === 'send') {
      const text = `${key(entry)}#${counter++}`;
      if (entry.process.send(text) === CS_OK) entry.sent.push(text);
    }
    if (op.op === 'exit') {
      entry.dead = true;
      entry.process.service.processExited();
    }
  }
  world.scheduler.runUntilIdle();
  return { tracked, history: model.history(GROUP) };
}

/** Replays the confchgs of the order: each lists its view (by nodeid, then pid), and each message's sender is in it. */
function checkOrder(history: readonly CpgEvent[]): void {
  let view: string[] = [];
  let last = -1;
  for (const event of history) {
    expect(event.sequence).toBeGreaterThan(last);
    last = event.sequence;
    if (event.kind === 'message') {
      expect(view, `sender of ${event.sequence}`).toContain(key(event));
      continue;
    }
    const gone = new Set(event.left.map(key));
    view = view.filter((member) => !gone.has(member)).concat(event.joined.map(key));
    const sorted = event.members.map((member) => [member.nodeid, member.pid, key(member)] as const);
    expect(sorted.map((entry) => entry[2]).sort()).toEqual([...view].sort());
    for (let index = 1; index < sorted.length; index++) {
      const [nodeid, pid] = sorted[index]!;
      const [previousNodeid, previousPid] = sorted[index - 1]!;
      expect(nodeid > previousNodeid || (nodeid === previousNodeid && pid > previousPid)).toBe(
        true,
      );
    }
    expect(event.joined.length + event.left.length).toBeGreaterThan(0);
  }
}

/** Each handle saw one contiguous stretch of the order, starting at its own join. */
function checkStretch(entry: Tracked, history: readonly CpgEvent[]): void {
  const seen = entry.process.seen;
  if (seen.length === 0) return;
  const first = seen[0]!;
  expect(first.kind).toBe('confchg');
  const start = history.findIndex(
    (event) =>
      event.kind === 'confchg' &&
      event.joined.some((address: CpgAddress) => key(address) === key(entry)) &&
      sameEvent(first, event),
  );
  expect(start, `${key(entry)}'s join is in the order`).toBeGreaterThanOrEqual(0);
  seen.forEach((event, index) => {
    expect(sameEvent(event, history[start + index]!), `${key(entry)} event ${index}`).toBe(true);
  });
  const stretch = history.slice(start);
  const leaveIndex = stretch.findIndex(
    (event) =>
      event.kind === 'confchg' && event.left.some((address) => key(address) === key(entry)),
  );
  if (entry.dead) {
    // Death cuts the stretch short, never past its own departure.
    if (leaveIndex >= 0) expect(seen.length).toBeLessThanOrEqual(leaveIndex + 1);
    return;
  }
  // Alive: everything up to its own orderly leave, or to the end; its own messages among them.
  expect(seen.length).toBe(leaveIndex >= 0 ? leaveIndex + 1 : stretch.length);
  const texts = new Set(entry.process.texts);
  for (const text of entry.sent)
    expect(texts.has(text), `${key(entry)} got its own ${text}`).toBe(true);
}

describe('the simulated CPG keeps its guarantees under random membership and latency (§4.10)', () => {
  for (const merge of ['node-failures', false, true] as const) {
    it(`agreed order, virtual synchrony and self-delivery (mergeMembershipChanges ${merge})`, () => {
      fc.assert(
        fc.property(
          fc.array(opArbitrary, { minLength: 10, maxLength: 120 }),
          fc.nat(),
          (ops, seed) => {
            const { tracked, history } = run([...PROLOGUE, ...ops], seed, merge);
            checkOrder(history);
            for (const entry of tracked) checkStretch(entry, history);
          },
        ),
        { numRuns: 80 },
      );
    });
  }

  it('the same seed and operations give the same deliveries (determinism)', () => {
    const ops: Op[] = [
      { op: 'start', node: 1 },
      { op: 'start', node: 2 },
      { op: 'join', process: 0 },
      { op: 'join', process: 1 },
      { op: 'send', process: 0 },
      { op: 'send', process: 1 },
      { op: 'wait', ticks: 30 },
      { op: 'send', process: 1 },
    ];
    const first = run(ops, 7, false).tracked.map((entry) => entry.process.seen);
    const second = run(ops, 7, false).tracked.map((entry) => entry.process.seen);
    expect(second).toEqual(first);
    expect(first[1]!.filter((event) => event.kind === 'message').length).toBe(3);
  });
});
