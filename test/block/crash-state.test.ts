import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../sim/random.js';
import {
  CRASH_STRATEGIES,
  type CrashStrategy,
  chooseCrashState,
  isCrashStrategy,
} from '../../src/block/crash-state.js';
import { applyPendingWrite, type PendingWrite, supersede } from '../../src/block/pending-write.js';
import { SparseStore } from '../../src/block/sparse-store.js';

const SECTOR = 512;

function pending(issueSequence: number, sector: number, sectorCount: number): PendingWrite {
  return {
    kind: 'write',
    issueSequence,
    completionSequence: -1,
    sector,
    sectorCount,
    fua: false,
    data: new Uint8Array(sectorCount * SECTOR).fill(issueSequence + 1),
    extents: null,
    superseded: null,
  };
}

/** Candidates as a device lists them: cached ones by completion first, then in flight by issue. */
function candidates(): PendingWrite[] {
  return [
    pending(3, 0, 4),
    pending(1, 8, 2),
    pending(0, 16, 8),
    pending(2, 24, 1),
    pending(4, 32, 3),
  ];
}

function choose(strategy: CrashStrategy, seed: number, list = candidates()) {
  return chooseCrashState(strategy, list, new SeededRandom(seed).stream('leg0.crash'));
}

describe('crash strategies', () => {
  it('names exactly five strategies and recognises them', () => {
    expect(CRASH_STRATEGIES).toEqual(['none', 'all', 'random', 'prefix', 'torn']);
    for (const name of CRASH_STRATEGIES) expect(isCrashStrategy(name)).toBe(true);
    expect(isCrashStrategy('half')).toBe(false);
    expect(isCrashStrategy('')).toBe(false);
  });

  it('none keeps nothing', () => {
    const choice = choose('none', 1);
    expect(choice.survivors).toEqual([]);
    expect(choice.stateId).toMatch(/^none-[0-9a-f]{16}$/);
  });

  it('all keeps every candidate whole, in candidate order', () => {
    const list = candidates();
    const choice = choose('all', 1, list);
    expect(choice.survivors.map((survivor) => survivor.write)).toEqual(list);
    expect(choice.survivors.every((survivor) => survivor.keep === null)).toBe(true);
  });

  it('random keeps an independent subset of whole writes, in candidate order', () => {
    const sizes = new Set<number>();
    for (let seed = 0; seed < 200; seed++) {
      const list = candidates();
      const choice = choose('random', seed, list);
      const indices = choice.survivors.map((survivor) => list.indexOf(survivor.write));
      expect(indices).toEqual([...indices].sort((left, right) => left - right));
      expect(indices.every((index) => index >= 0)).toBe(true);
      expect(choice.survivors.every((survivor) => survivor.keep === null)).toBe(true);
      sizes.add(indices.length);
    }
    // Over many seeds every subset size from none to all turns up.
    expect([...sizes].sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('prefix keeps the first k writes in issue order, k uniform in [0, n]', () => {
    const counts = new Set<number>();
    for (let seed = 0; seed < 200; seed++) {
      const list = candidates();
      const choice = choose('prefix', seed, list);
      const issued = choice.survivors.map((survivor) => survivor.write.issueSequence);
      const k = issued.length;
      counts.add(k);
      // The kept set is exactly issue sequences 0..k-1, whatever order the candidates are in.
      expect([...issued].sort()).toEqual(Array.from({ length: k }, (_, index) => index));
      // Survivors keep the candidate (landing) order.
      const indices = choice.survivors.map((survivor) => list.indexOf(survivor.write));
      expect(indices).toEqual([...indices].sort((left, right) => left - right));
    }
    expect([...counts].sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('torn keeps a per-sector part of every write', () => {
    let partial = 0;
    for (let seed = 0; seed < 50; seed++) {
      const list = candidates();
      const choice = choose('torn', seed, list);
      expect(choice.survivors.map((survivor) => survivor.write)).toEqual(list);
      for (const survivor of choice.survivors) {
        const keep = survivor.keep!;
        expect(keep.length).toBe(survivor.write.sectorCount);
        expect(keep.every((bit) => bit === 0 || bit === 1)).toBe(true);
        if (keep.includes(0) && keep.includes(1)) partial++;
      }
    }
    expect(partial).toBeGreaterThan(50);
  });

  it('is deterministic: the same stream and candidates give the same survivors and id', () => {
    fc.assert(
      fc.property(fc.constantFrom(...CRASH_STRATEGIES), fc.nat(), (strategy, seed) => {
        const first = choose(strategy, seed);
        const second = choose(strategy, seed);
        expect(second.stateId).toBe(first.stateId);
        expect(
          second.survivors.map((survivor) => [survivor.write.issueSequence, survivor.keep]),
        ).toEqual(first.survivors.map((survivor) => [survivor.write.issueSequence, survivor.keep]));
      }),
    );
  });

  it('gives the same id to the same choice and different ids to different choices', () => {
    const byId = new Map<string, string>();
    for (const strategy of CRASH_STRATEGIES) {
      for (let seed = 0; seed < 60; seed++) {
        const choice = choose(strategy, seed);
        const description = JSON.stringify(
          choice.survivors.map((survivor) => [
            survivor.write.issueSequence,
            survivor.keep === null ? null : [...survivor.keep],
          ]),
        );
        const key = `${strategy}:${description}`;
        const known = byId.get(choice.stateId);
        if (known !== undefined) expect(known).toBe(key);
        byId.set(choice.stateId, key);
      }
    }
    // Distinct choices got distinct ids; 'none' and 'all' each have one choice.
    const choices = new Set(byId.values());
    expect(byId.size).toBe(choices.size);
    expect([...byId.keys()].filter((id) => id.startsWith('none-')).length).toBe(1);
    expect([...byId.keys()].filter((id) => id.startsWith('all-')).length).toBe(1);
  });

  it('the id changes with the number of candidates even when nothing survives', () => {
    expect(choose('none', 1, candidates()).stateId).not.toBe(
      choose('none', 1, candidates().slice(1)).stateId,
    );
  });

  it('with no candidates every strategy keeps nothing', () => {
    for (const strategy of CRASH_STRATEGIES) {
      expect(choose(strategy, 1, []).survivors).toEqual([]);
    }
  });
});

describe('applying pending writes (pending-write.ts)', () => {
  it('applies only kept sectors that no later durable write superseded', () => {
    const store = new SparseStore(16);
    const write = pending(0, 2, 6);
    supersede(write, { sector: 6, sectorCount: 10 });
    supersede(write, { sector: 0, sectorCount: 1 });
    applyPendingWrite(store, write, new Uint8Array([1, 0, 1, 1, 1, 1]));
    const written = Array.from({ length: 16 }, (_, sector) => store.read(sector, 1)[0]);
    expect(written).toEqual([0, 0, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('applies sparse writes and discards as extents over zeros', () => {
    const store = new SparseStore(16);
    store.write(0, new Uint8Array(16 * SECTOR).fill(9));
    const sparse: PendingWrite = {
      ...pending(0, 4, 6),
      kind: 'sparse',
      data: null,
      extents: [{ sectorOffset: 2, data: new Uint8Array(2 * SECTOR).fill(5) }],
    };
    applyPendingWrite(store, sparse, new Uint8Array([1, 1, 1, 0, 1, 0]));
    const discard: PendingWrite = {
      ...pending(1, 14, 2),
      kind: 'discard',
      data: null,
      extents: [],
    };
    applyPendingWrite(store, discard, null);
    const written = Array.from({ length: 16 }, (_, sector) => store.read(sector, 1)[0]);
    expect(written).toEqual([9, 9, 9, 9, 0, 0, 5, 9, 0, 9, 9, 9, 9, 9, 0, 0]);
  });
});
