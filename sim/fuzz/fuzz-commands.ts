/**
 * The arbitrary of crash-consistency command sequences: every command of
 * io-commands.ts and fault-commands.ts with its arguments as plain indices
 * and flags, weighted so writes dominate and faults appear at the rate the
 * seed's swarm weights allow.
 */
import fc from 'fast-check';
import {
  CrashCommand,
  DaemonCrashCommand,
  FailLegCommand,
  FailLogCommand,
  LegFlushErrorCommand,
  LegReadErrorCommand,
  LegWriteErrorCommand,
  LogWriteErrorCommand,
  RecoverCommand,
  ReloadCommand,
  RestoreLegCommand,
  SuspendResumeCommand,
  UlogMessageCommand,
} from './fault-commands.js';
import type { FuzzModel } from './fuzz-model.js';
import type { CrashPoint, FuzzSystem } from './fuzz-system.js';
import {
  AdvanceCommand,
  BatchCommand,
  type BatchOp,
  DiscardCommand,
  FlushCommand,
  ReadCommand,
  ReadTwiceCommand,
  WriteCommand,
} from './io-commands.js';

/** An arbitrary of crash-consistency commands. */
export type FuzzCommandArbitrary = fc.Arbitrary<fc.Command<FuzzModel, FuzzSystem>>;

const at = fc.nat({ max: 1 << 20 });
const length = fc.nat({ max: 255 });
const roll = fc.nat({ max: 99 });
const legIndex = fc.nat({ max: 8 });

const crashPoint: fc.Arbitrary<CrashPoint> = fc.oneof(
  fc.constant<CrashPoint>({ kind: 'now' }),
  fc.integer({ min: 0, max: 400 }).map((events): CrashPoint => ({ kind: 'events', events })),
  fc.integer({ min: 1, max: 8 }).map((count): CrashPoint => ({ kind: 'persistence', count })),
);

const batchOp: fc.Arbitrary<BatchOp> = fc.record({
  kind: fc.constantFrom('write', 'write', 'read', 'flush', 'discard'),
  at,
  length,
  fua: fc.boolean(),
});

/** Every command, weighted (see the file comment). */
export function fuzzCommandArbitrary(): FuzzCommandArbitrary {
  return fc.oneof(
    {
      weight: 12,
      arbitrary: fc
        .tuple(at, length, fc.boolean(), fc.boolean())
        .map(([a, l, fua, wait]) => new WriteCommand(a, l, fua, wait)),
    },
    { weight: 4, arbitrary: fc.tuple(at, length).map(([a, l]) => new ReadCommand(a, l)) },
    { weight: 3, arbitrary: fc.tuple(at, length).map(([a, l]) => new ReadTwiceCommand(a, l)) },
    { weight: 3, arbitrary: fc.boolean().map((wait) => new FlushCommand(wait)) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(at, length, fc.boolean())
        .map(([a, l, wait]) => new DiscardCommand(a, l, wait)),
    },
    {
      weight: 3,
      arbitrary: fc
        .array(batchOp, { minLength: 2, maxLength: 6 })
        .map((ops) => new BatchCommand(ops)),
    },
    {
      weight: 2,
      arbitrary: fc.integer({ min: 1, max: 300 }).map((events) => new AdvanceCommand(events)),
    },
    {
      weight: 4,
      arbitrary: fc
        .tuple(crashPoint, fc.array(fc.nat({ max: 4 }), { minLength: 4, maxLength: 4 }))
        .map(([point, strategies]) => new CrashCommand(point, strategies)),
    },
    { weight: 4, arbitrary: fc.constant(null).map(() => new RecoverCommand()) },
    { weight: 12, arbitrary: faultCommandArbitrary() },
    {
      weight: 1,
      arbitrary: fc.boolean().map((noflush) => new SuspendResumeCommand(noflush)),
    },
    { weight: 1, arbitrary: fc.boolean().map((noflush) => new ReloadCommand(noflush)) },
  );
}

function faultCommandArbitrary(): FuzzCommandArbitrary {
  return fc.oneof(
    fc
      .tuple(roll, legIndex, at, length)
      .map(([r, leg, a, l]) => new LegWriteErrorCommand(r, leg, a, l)),
    fc
      .tuple(roll, legIndex, at, length)
      .map(([r, leg, a, l]) => new LegReadErrorCommand(r, leg, a, l)),
    fc.tuple(roll, legIndex).map(([r, leg]) => new FailLegCommand(r, leg)),
    fc.tuple(roll, legIndex).map(([r, leg]) => new RestoreLegCommand(r, leg)),
    fc.tuple(roll, legIndex).map(([r, leg]) => new LegFlushErrorCommand(r, leg)),
    roll.map((r) => new LogWriteErrorCommand(r)),
    fc.tuple(roll, fc.boolean()).map(([r, restore]) => new FailLogCommand(r, restore)),
    fc
      .tuple(roll, fc.integer({ min: 0, max: 20_000_000 }))
      .map(([r, ticks]) => new DaemonCrashCommand(r, ticks)),
    fc
      .tuple(roll, fc.constantFrom('request' as const, 'reply' as const, 'late' as const))
      .map(([r, what]) => new UlogMessageCommand(r, what)),
  );
}
