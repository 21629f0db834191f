/**
 * The oracle's pieces the crash-consistency suites add: crashes and pins in
 * the register model (a run may crash many times), the incremental content
 * verifier, the steady-state "legs differ ⇒ out of sync" check, and the
 * serialisation of overlapping user writes.
 */
import { describe, expect, it } from 'vitest';
import { ContentVerifier } from '../../sim/check/content-verifier.js';
import { MirrorChecker } from '../../sim/check/mirror-checker.js';
import { RequestIssuer } from '../../sim/driver/request-issuer.js';
import { UserRequests } from '../../sim/fuzz/user-requests.js';
import { MirrorStack } from '../../sim/mirror-stack.js';
import { WriteHistory } from '../../sim/oracle/write-history.js';
import { stampWriteData } from '../../sim/workload/payload.js';
import { World } from '../../sim/world.js';
import { fixedLatency } from '../../src/block/latency.js';
import '../../src/log/builtin-logs.js';

const SECTOR = 512;
const ZERO = new Uint8Array(SECTOR);

function stamp(id: number, sector: number): Uint8Array {
  return stampWriteData(id, sector, 1);
}

function write(history: WriteHistory, id: number, sector: number, fua = false): void {
  history.issueWrite({ id, kind: 'write', sector, sectorCount: 1, fua });
}

describe('WriteHistory across crashes', () => {
  it('a crash makes every write that was not durable indeterminate: either value may survive, a later flush never makes it durable', () => {
    const history = new WriteHistory();
    write(history, 1, 0, true);
    history.completeWrite(1, false);
    write(history, 2, 0);
    history.completeWrite(2, false);
    write(history, 3, 1);
    const affected = history.crash();
    expect(affected.map((each) => each.id).sort()).toEqual([2, 3]);
    expect(history.inFlightCount).toBe(0);
    const flush = history.issueFlush();
    history.completeFlush(flush, false);
    expect(history.checkAfterCrash(0, stamp(1, 0)), 'the durable write').toBeNull();
    expect(history.checkAfterCrash(0, stamp(2, 0)), 'the lost-or-kept write').toBeNull();
    expect(history.checkAfterCrash(1, ZERO)).toBeNull();
    const read = history.tick();
    expect(history.checkRead(0, stamp(1, 0), read, history.tick())).toBeNull();
  });

  it('a pin fixes what the crash left: afterwards the sector must read as it, or as a later write', () => {
    const history = new WriteHistory();
    write(history, 1, 0);
    history.completeWrite(1, false);
    write(history, 2, 0);
    history.crash();
    expect(history.pinAfterCrash(0, stamp(1, 0))).toBeNull();
    const before = history.tick();
    expect(history.checkRead(0, stamp(1, 0), before, history.tick())).toBeNull();
    expect(history.checkRead(0, stamp(2, 0), before, history.tick())?.found).toBe('write 2');
    expect(history.checkAfterCrash(0, ZERO)?.expected).toMatch(/write 1 \(as the crash left it\)/);
    write(history, 3, 0);
    history.completeWrite(3, false);
    history.crash();
    expect(history.checkAfterCrash(0, stamp(3, 0))).toBeNull();
    expect(history.checkAfterCrash(0, stamp(1, 0))).toBeNull();
    expect(history.checkAfterCrash(0, stamp(2, 0))).not.toBeNull();
  });

  it('a pin of zeros allows only zeros (or later writes); a foreign sector is never pinned', () => {
    const history = new WriteHistory();
    write(history, 1, 4);
    history.crash();
    expect(history.pinAfterCrash(4, ZERO)).toBeNull();
    expect(history.checkAfterCrash(4, stamp(1, 4))).not.toBeNull();
    const torn = stamp(1, 4);
    torn[100] = (torn[100] ?? 0) ^ 0xff;
    const fresh = new WriteHistory();
    write(fresh, 1, 4);
    fresh.crash();
    expect(fresh.pinAfterCrash(4, torn)?.found).toMatch(/foreign/);
  });

  it('tracked sectors can be visited by range', () => {
    const history = new WriteHistory();
    history.issueWrite({ id: 1, kind: 'write', sector: 1020, sectorCount: 8, fua: false });
    const seen: number[] = [];
    history.forEachTrackedSector(1022, 4, (sector) => seen.push(sector));
    expect(seen).toEqual([1022, 1023, 1024, 1025]);
    expect(history.isTracked(1027)).toBe(true);
    expect(history.isTracked(1028)).toBe(false);
  });
});

/** A disk-log mirror of 4 regions of 8 sectors, synced, with a checker and a verifier. */
function smallMirror() {
  const world = new World({ seed: 5 });
  const latency = { read: fixedLatency(5), write: fixedLatency(10), flush: fixedLatency(15) };
  const stack = new MirrorStack({
    world,
    table: '0 32 mirror disk 2 log0 8 2 leg0 0 leg1 0',
    legDefaults: { latency },
    logDeviceDefaults: { latency },
  });
  const checker = new MirrorChecker({ world, stack });
  stack.activate();
  world.scheduler.runUntilIdle();
  const mirror = stack.mirror;
  const verifier = new ContentVerifier({
    regionSizeSectors: 8,
    regionCount: 4,
    legs: mirror.legs.map((leg) => ({ device: world.device(leg.name), offsetSectors: 0 })),
  });
  const history = new WriteHistory();
  const issuer = new RequestIssuer({ device: stack.device, history });
  return { world, stack, mirror, checker, verifier, history, issuer };
}

describe('ContentVerifier', () => {
  it('verifies only the regions a request reached since the last verification', () => {
    const { world, mirror, verifier, history, issuer } = smallMirror();
    expect(verifier.verify(mirror, history, { all: true })).toEqual([]);
    expect(verifier.pendingRegionCount).toBe(0);
    issuer.write({ sector: 9, sectorCount: 2, fua: false }, () => {});
    world.scheduler.runUntilIdle();
    expect(verifier.pendingRegionCount).toBe(1);
    expect(verifier.verify(mirror, history)).toEqual([]);
    expect(verifier.pendingRegionCount).toBe(0);
  });

  it('finds legs that differ, a sector the history forbids, and a never-written sector that is not zero', () => {
    const { world, mirror, verifier, history } = smallMirror();
    world.device('leg1').loadImage(world.device('leg1').content.cloneShared());
    const leg0 = world.device('leg0');
    leg0.write({ sector: 3, data: stamp(9, 3) }, () => {});
    world.scheduler.runUntilIdle();
    const found = verifier.verify(mirror, history);
    expect(found.map((violation) => violation.kind).sort()).toEqual(['legs-differ', 'register']);
    expect(found.find((violation) => violation.kind === 'register')?.message).toMatch(
      /never written, yet not zero/,
    );
    expect(verifier.pendingRegionCount, 'a region whose legs differ stays pending').toBe(1);
  });
});

describe('MirrorChecker.checkLegsAgree', () => {
  it('invariant 3 in steady state: legs that differ in a region the mirror calls in sync are reported', () => {
    const { world, checker } = smallMirror();
    world.device('leg1').write({ sector: 17, data: stamp(4, 17) }, () => {});
    world.scheduler.runUntilIdle();
    checker.checkLegsAgree();
    // Writing a leg behind the mirror's back also breaks write-ahead marking; only invariant 3 matters here.
    const found = checker.violations.filter((each) => each.invariant === 'legs-differ-in-sync');
    expect(found.map((violation) => violation.message)).toEqual([
      'region 2: legs differ with no write in flight, yet the region is in sync',
    ]);
  });

  it('a region with a write still in flight on a leg is not judged', () => {
    const { world, checker } = smallMirror();
    world.device('leg1').write({ sector: 17, data: stamp(4, 17) }, () => {});
    const agreeing = () =>
      checker.violations.filter((each) => each.invariant === 'legs-differ-in-sync');
    checker.checkLegsAgree({ regions: [2] });
    expect(agreeing()).toEqual([]);
    world.scheduler.runUntilIdle();
    checker.checkLegsAgree({ regions: [2], exempt: new Set([2]) });
    expect(agreeing()).toEqual([]);
  });
});

describe('UserRequests (serialize_overlap)', () => {
  it('a write overlapping one in flight waits, in order; reads and flushes never wait', () => {
    const { world, history, issuer } = smallMirror();
    const requests = new UserRequests(issuer, { onReadViolations: () => {} });
    const first = requests.submit({ kind: 'write', sector: 0, sectorCount: 8, fua: false });
    const second = requests.submit({ kind: 'write', sector: 4, sectorCount: 2, fua: false });
    const apart = requests.submit({ kind: 'write', sector: 16, sectorCount: 2, fua: false });
    const read = requests.submit({ kind: 'read', sector: 4, sectorCount: 2, fua: false });
    expect([first.state, second.state, apart.state, read.state]).toEqual([
      'issued',
      'waiting',
      'issued',
      'issued',
    ]);
    expect(requests.overlapsWrite(5, 1)).toBe(true);
    world.scheduler.runUntilIdle();
    expect([first.state, second.state, apart.state]).toEqual(['done', 'done', 'done']);
    expect(requests.outstanding).toBe(0);
    const bySector = (sector: number) =>
      [1, 2, 3].map((id) => history.write(id)!).find((each) => each.sector === sector)!;
    expect(bySector(4).issueClock, 'issued once the overlapping write completed').toBeGreaterThan(
      bySector(0).completeClock,
    );
  });

  it('after a crash nothing outstanding ever completes', () => {
    const { world, issuer } = smallMirror();
    const requests = new UserRequests(issuer, { onReadViolations: () => {} });
    requests.submit({ kind: 'write', sector: 0, sectorCount: 8, fua: false });
    requests.dropAll();
    expect(requests.outstanding).toBe(0);
    world.scheduler.runUntilIdle();
    expect(requests.outstanding).toBe(0);
  });
});
