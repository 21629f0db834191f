/**
 * The devices' own contract, checked by fast-check over random interleavings
 * of writes (some FUA), sparse writes, discards, flushes, reads and time
 * advances on a device with random latency and the cache on or off, then a
 * crash with any strategy.
 *
 * Every written sector carries a stamp naming (write id, sector), so a read
 * tells which write it came from. The oracle is the per-sector register with
 * indeterminate writes (reference §6): let D be the writes to a sector that
 * became durable (cache off: completed; cache on: FUA completed, or completed
 * before a flush was issued that then completed). A write w is allowed unless
 * some d in D was issued after w completed; the initial zeros are allowed
 * only if D is empty; discards and sparse holes are writes of zeros.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { World } from '../../sim/world.js';
import type { BlockIoError } from '../../src/block/block-device.js';
import { CRASH_STRATEGIES, type CrashStrategy } from '../../src/block/crash-state.js';
import type { LatencyModel } from '../../src/block/latency.js';
import type { SimulatedDevice } from '../../src/block/simulated-device.js';
import type { SparseExtent } from '../../src/block/sparse-store.js';

const SECTOR = 512;
/** Small, so that writes overlap often. */
const SIZE_SECTORS = 24;
const ZEROS = new Uint8Array(SECTOR);

/** The 512 bytes write `writeId` puts in `sector`: no two (write, sector) pairs share one. */
function stamp(writeId: number, sector: number): Uint8Array {
  const data = new Uint8Array(SECTOR);
  const view = new DataView(data.buffer);
  view.setUint32(0, writeId, true);
  view.setUint32(4, sector, true);
  let state = (Math.imul(writeId, 0x9e3779b1) ^ Math.imul(sector + 1, 0x85ebca6b)) >>> 0;
  for (let index = 8; index < SECTOR; index++) {
    state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + index) >>> 0;
    data[index] = state & 0xff;
  }
  return data;
}

function sameBytes(left: Uint8Array, right: Uint8Array): boolean {
  return Buffer.compare(left, right) === 0;
}

/** What a read shows, for failure messages: `w<id>` for a stamp, `zeros`, or `garbage`. */
function describeSector(data: Uint8Array, sector: number): string {
  if (sameBytes(data, ZEROS)) return 'zeros';
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const writeId = view.getUint32(0, true);
  if (view.getUint32(4, true) === sector && sameBytes(data, stamp(writeId, sector))) {
    return `w${writeId}`;
  }
  return 'garbage (foreign or torn)';
}

type Operation =
  | {
      readonly kind: 'write';
      readonly sector: number;
      readonly count: number;
      readonly fua: boolean;
    }
  | {
      readonly kind: 'sparse';
      readonly sector: number;
      readonly count: number;
      readonly fua: boolean;
      readonly dataMask: number;
    }
  | { readonly kind: 'discard'; readonly sector: number; readonly count: number }
  | { readonly kind: 'flush' }
  | { readonly kind: 'read'; readonly sector: number; readonly count: number }
  | { readonly kind: 'advance'; readonly ticks: number }
  | { readonly kind: 'idle' };

const sectorArbitrary = fc.nat(SIZE_SECTORS - 1);
const countArbitrary = fc.integer({ min: 1, max: 6 });
const operationArbitrary: fc.Arbitrary<Operation> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('write' as const),
      sector: sectorArbitrary,
      count: countArbitrary,
      fua: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('sparse' as const),
      sector: sectorArbitrary,
      count: countArbitrary,
      fua: fc.boolean(),
      dataMask: fc.nat(1023),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('discard' as const),
      sector: sectorArbitrary,
      count: countArbitrary,
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('flush' as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('read' as const),
      sector: sectorArbitrary,
      count: countArbitrary,
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('advance' as const), ticks: fc.nat(120) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('idle' as const) }) },
);

const latencyArbitrary: fc.Arbitrary<LatencyModel> = fc.oneof(
  fc.record({ kind: fc.constant('fixed' as const), ticks: fc.nat(40) }),
  fc.record({
    kind: fc.constant('exponential' as const),
    minimumTicks: fc.nat(10),
    meanTicks: fc.integer({ min: 0, max: 100 }),
  }),
);

interface Scenario {
  readonly seed: number;
  readonly writeCache: boolean;
  readonly writeLatency: LatencyModel;
  readonly flushLatency: LatencyModel;
  readonly readLatency: LatencyModel;
  readonly operations: readonly Operation[];
  readonly strategy: CrashStrategy;
}

const scenarioArbitrary: fc.Arbitrary<Scenario> = fc.record({
  seed: fc.nat(),
  writeCache: fc.boolean(),
  writeLatency: latencyArbitrary,
  flushLatency: latencyArbitrary,
  readLatency: latencyArbitrary,
  operations: fc.array(operationArbitrary, { maxLength: 40, size: 'medium' }),
  strategy: fc.constantFrom(...CRASH_STRATEGIES),
});

/** One write as the oracle sees it. */
interface WriteRecord {
  readonly id: number;
  readonly sector: number;
  readonly sectorCount: number;
  readonly fua: boolean;
  /** Sectors (absolute) that carry this write's stamp; the rest of its range gets zeros. */
  readonly stamped: ReadonlySet<number>;
  readonly issueClock: number;
  completionClock: number | undefined;
  durable: boolean;
}

function sectorValue(write: WriteRecord, sector: number): Uint8Array {
  return write.stamped.has(sector) ? stamp(write.id, sector) : ZEROS;
}

function touches(write: WriteRecord, sector: number): boolean {
  return sector >= write.sector && sector < write.sector + write.sectorCount;
}

/** The oracle's record of a run: every write, and a logical clock ordering issues and completions. */
class History {
  readonly writes: WriteRecord[] = [];
  private clock = 0;

  constructor(readonly writeCache: boolean) {}

  issue(range: { sector: number; sectorCount: number; fua: boolean }, stamped: Set<number>) {
    const record: WriteRecord = {
      id: this.writes.length + 1,
      ...range,
      stamped,
      issueClock: this.clock++,
      completionClock: undefined,
      durable: false,
    };
    this.writes.push(record);
    return record;
  }

  complete(write: WriteRecord): void {
    expect(write.completionClock, `w${write.id} completed twice`).toBeUndefined();
    write.completionClock = this.clock++;
    if (!this.writeCache || write.fua) write.durable = true;
  }

  issueFlush(): number {
    return this.clock++;
  }

  /** A successful flush makes durable every write that had completed when it was issued. */
  completeFlush(issueClock: number): void {
    this.clock++;
    for (const write of this.writes) {
      if (write.completionClock !== undefined && write.completionClock < issueClock)
        write.durable = true;
    }
  }

  /** What reads see: the last completed write to each sector, or zeros. */
  visible(sector: number): Uint8Array {
    let latest: WriteRecord | undefined;
    for (const write of this.writes) {
      if (write.completionClock === undefined || !touches(write, sector)) continue;
      if (latest === undefined || write.completionClock > latest.completionClock!) latest = write;
    }
    return latest === undefined ? ZEROS : sectorValue(latest, sector);
  }

  /** The values a sector may hold after a crash, by the happens-before rule. */
  allowedAfterCrash(sector: number): Array<{ name: string; value: Uint8Array }> {
    const touching = this.writes.filter((write) => touches(write, sector));
    const durable = touching.filter((write) => write.durable);
    const allowed = touching.filter(
      (write) =>
        write.completionClock === undefined ||
        !durable.some((other) => other.issueClock > write.completionClock!),
    );
    const values = allowed.map((write) => ({
      name: `w${write.id}`,
      value: sectorValue(write, sector),
    }));
    if (durable.length === 0) values.push({ name: 'initial zeros', value: ZEROS });
    return values;
  }

  /** With strategy `none`: the latest durable write (by completion), or zeros. */
  durableValue(sector: number): Uint8Array {
    let latest: WriteRecord | undefined;
    for (const write of this.writes) {
      if (!write.durable || !touches(write, sector)) continue;
      if (latest === undefined || write.completionClock! > latest.completionClock!) latest = write;
    }
    return latest === undefined ? ZEROS : sectorValue(latest, sector);
  }

  get nonDurableCount(): number {
    return this.writes.filter((write) => !write.durable).length;
  }
}

function sparseExtents(sector: number, count: number, dataMask: number, writeId: number) {
  const extents: SparseExtent[] = [];
  const stamped = new Set<number>();
  let runStart = -1;
  for (let offset = 0; offset <= count; offset++) {
    const hasData = offset < count && ((dataMask >> offset) & 1) === 1;
    if (hasData) stamped.add(sector + offset);
    if (hasData && runStart < 0) runStart = offset;
    if (!hasData && runStart >= 0) {
      const data = new Uint8Array((offset - runStart) * SECTOR);
      for (let index = runStart; index < offset; index++) {
        data.set(stamp(writeId, sector + index), (index - runStart) * SECTOR);
      }
      extents.push({ sectorOffset: runStart, data });
      runStart = -1;
    }
  }
  return { extents, stamped };
}

function noError(error: BlockIoError | null): void {
  expect(error).toBeNull();
}

/** Issues one operation on the device and records it in the history. */
function perform(
  world: World,
  device: SimulatedDevice,
  history: History,
  operation: Operation,
): void {
  if (operation.kind === 'advance') {
    world.scheduler.runFor(operation.ticks);
    return;
  }
  if (operation.kind === 'idle') {
    world.scheduler.runUntilIdle();
    return;
  }
  if (operation.kind === 'flush') {
    const issueClock = history.issueFlush();
    device.flush((error) => {
      noError(error);
      history.completeFlush(issueClock);
    });
    return;
  }
  const sector = operation.sector;
  const count = Math.min(operation.count, SIZE_SECTORS - sector);
  if (operation.kind === 'read') {
    device.read({ sector, sectorCount: count }, (error, data) => {
      noError(error);
      for (let offset = 0; offset < count; offset++) {
        const actual = data!.subarray(offset * SECTOR, (offset + 1) * SECTOR);
        const expected = history.visible(sector + offset);
        expect(sameBytes(actual, expected), `read of sector ${sector + offset}`).toBe(true);
      }
    });
    return;
  }
  const writeId = history.writes.length + 1;
  if (operation.kind === 'write') {
    const data = new Uint8Array(count * SECTOR);
    const stamped = new Set<number>();
    for (let offset = 0; offset < count; offset++) {
      data.set(stamp(writeId, sector + offset), offset * SECTOR);
      stamped.add(sector + offset);
    }
    const record = history.issue({ sector, sectorCount: count, fua: operation.fua }, stamped);
    device.write({ sector, data, fua: operation.fua }, (error) => {
      noError(error);
      history.complete(record);
    });
  } else if (operation.kind === 'sparse') {
    const { extents, stamped } = sparseExtents(sector, count, operation.dataMask, writeId);
    const record = history.issue({ sector, sectorCount: count, fua: operation.fua }, stamped);
    device.writeSparse({ sector, sectorCount: count, extents, fua: operation.fua }, (error) => {
      noError(error);
      history.complete(record);
    });
  } else {
    const record = history.issue({ sector, sectorCount: count, fua: false }, new Set());
    device.discard({ sector, sectorCount: count }, (error) => {
      noError(error);
      history.complete(record);
    });
  }
}

function runScenario(scenario: Scenario) {
  const world = new World({ seed: scenario.seed });
  const device = world.createDevice({
    name: 'leg0',
    sizeSectors: SIZE_SECTORS,
    writeCache: scenario.writeCache,
    latency: {
      read: scenario.readLatency,
      write: scenario.writeLatency,
      flush: scenario.flushLatency,
    },
  });
  const history = new History(scenario.writeCache);
  for (const operation of scenario.operations) perform(world, device, history, operation);
  const before = Array.from({ length: SIZE_SECTORS }, (_, sector) =>
    device.content.read(sector, 1),
  );
  const crash = world.crash(scenario.strategy);
  return { world, device, history, before, crash };
}

describe('device contract (fast-check)', () => {
  it('after any crash with any strategy every sector holds a value the happens-before rule allows', () => {
    fc.assert(
      fc.property(scenarioArbitrary, (scenario) => {
        const { device, history, before, crash } = runScenario(scenario);
        // Before the crash, reads saw exactly the last completed write of each sector.
        before.forEach((data, sector) => {
          expect(sameBytes(data, history.visible(sector)), `visible sector ${sector}`).toBe(true);
        });
        expect(crash.devices[0]!.candidateWrites).toBe(history.nonDurableCount);
        for (let sector = 0; sector < SIZE_SECTORS; sector++) {
          const actual = device.content.read(sector, 1);
          const allowed = history.allowedAfterCrash(sector);
          const matched = allowed.some((option) => sameBytes(option.value, actual));
          expect(
            matched,
            `sector ${sector} reads ${describeSector(actual, sector)}; allowed: ${allowed
              .map((option) => option.name)
              .join(', ')}`,
          ).toBe(true);
        }
        // The image that survived is the device's durable state now.
        expect(device.durableContent.equals(device.content)).toBe(true);
        expect(device.nonDurableWriteCount).toBe(0);
      }),
      { numRuns: 400 },
    );
  });

  it('with strategy none every durable write survives exactly, and unwritten sectors read zero', () => {
    fc.assert(
      fc.property(scenarioArbitrary, (scenario) => {
        const { device, history } = runScenario({ ...scenario, strategy: 'none' });
        for (let sector = 0; sector < SIZE_SECTORS; sector++) {
          const actual = device.content.read(sector, 1);
          expect(
            sameBytes(actual, history.durableValue(sector)),
            `sector ${sector} reads ${describeSector(actual, sector)}`,
          ).toBe(true);
          if (!history.writes.some((write) => touches(write, sector))) {
            expect(sameBytes(actual, ZEROS)).toBe(true);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('identical seeds give identical traces, crash states and contents', () => {
    fc.assert(
      fc.property(scenarioArbitrary, (scenario) => {
        const first = runScenario(scenario);
        const second = runScenario(scenario);
        expect(second.world.scheduler.traceHash()).toBe(first.world.scheduler.traceHash());
        expect(second.crash.stateId).toBe(first.crash.stateId);
        expect(second.device.content.equals(first.device.content)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('the rule has teeth: a stamp from another sector or write is never allowed', () => {
    const history = new History(true);
    const record = history.issue({ sector: 4, sectorCount: 2, fua: true }, new Set([4, 5]));
    history.complete(record);
    const names = (sector: number) =>
      history.allowedAfterCrash(sector).map((option) => option.name);
    expect(names(4)).toEqual(['w1']);
    expect(names(6)).toEqual(['initial zeros']);
    expect(
      history.allowedAfterCrash(4).some((option) => sameBytes(option.value, stamp(1, 5))),
    ).toBe(false);
    // A durable write issued after w2 completed rules w2 out.
    const older = history.issue({ sector: 0, sectorCount: 1, fua: false }, new Set([0]));
    history.complete(older);
    const newer = history.issue({ sector: 0, sectorCount: 1, fua: true }, new Set([0]));
    history.complete(newer);
    expect(names(0)).toEqual(['w3']);
  });
});
