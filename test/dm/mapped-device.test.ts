import { describe, expect, it } from 'vitest';
import { runTask } from '../../sim/run-task.js';
import { World } from '../../sim/world.js';
import { InvariantError } from '../../src/assert.js';
import type { BlockIoError } from '../../src/block/block-device.js';
import type { SimulatedDevice } from '../../src/block/simulated-device.js';
import { type Blocking, immediate, spawn, waitFor } from '../../src/concurrency/blocking.js';
import type { Bio, BioStatus } from '../../src/dm/bio.js';
import { MappedDevice } from '../../src/dm/mapped-device.js';
import {
  type EndIoResult,
  KILL,
  type MapResult,
  SUBMITTED,
  type Target,
} from '../../src/dm/target.js';

/** What the fake target does with a bio it maps. */
type Behaviour =
  | { readonly kind: 'complete'; readonly delayTicks: number; readonly status: BioStatus }
  | { readonly kind: 'kill' }
  | { readonly kind: 'remap'; readonly device: SimulatedDevice; readonly offset: number }
  | { readonly kind: 'hold' };

/** A target that records every call, and maps bios as `behave` says. */
class FakeTarget implements Target {
  readonly typeName = 'fake';
  readonly calls: string[];
  readonly held: Bio[] = [];
  behave: (bio: Bio) => Behaviour = () => ({ kind: 'complete', delayTicks: 5, status: 'ok' });
  endIoAnswer: (bio: Bio) => EndIoResult = () => 'done';
  presuspendTicks = 0;

  constructor(
    readonly name: string,
    private readonly world: World,
    readonly lengthSectors: number,
    readonly maxIoLenSectors: number,
    calls: string[],
  ) {
    this.calls = calls;
  }

  map(bio: Bio): MapResult {
    this.calls.push(`${this.name} map ${bio.operation} ${bio.sector}+${bio.sectorCount}`);
    const behaviour = this.behave(bio);
    switch (behaviour.kind) {
      case 'kill':
        return KILL;
      case 'remap':
        return {
          kind: 'remapped',
          device: behaviour.device,
          sector: behaviour.offset + bio.sector,
        };
      case 'hold':
        this.held.push(bio);
        return SUBMITTED;
      case 'complete':
        this.world.scheduler.schedule(behaviour.delayTicks, 'fake.complete', () => {
          bio.status = behaviour.status;
          if (bio.operation === 'read' && behaviour.status === 'ok') {
            bio.data = new Uint8Array(bio.sectorCount * 512).fill(bio.sector);
          }
          bio.endio();
        });
        return SUBMITTED;
    }
  }

  endIo(bio: Bio): EndIoResult {
    this.calls.push(
      `${this.name} end_io ${bio.operation} ${bio.sector}+${bio.sectorCount} ${bio.status}`,
    );
    return this.endIoAnswer(bio);
  }

  *presuspend(options: { readonly noflush: boolean }): Blocking<void> {
    this.calls.push(`${this.name} presuspend${options.noflush ? ' noflush' : ''}`);
    if (this.presuspendTicks > 0) {
      yield* waitFor<void>((resume) =>
        this.world.scheduler.schedule(this.presuspendTicks, 'fake.presuspend', () => resume()),
      );
    }
    this.calls.push(`${this.name} presuspend done`);
  }

  postsuspend(): Blocking<void> {
    this.calls.push(`${this.name} postsuspend`);
    return immediate(undefined);
  }

  resume(): Blocking<void> {
    this.calls.push(`${this.name} resume`);
    return immediate(undefined);
  }

  destroy(): Blocking<void> {
    this.calls.push(`${this.name} destroy`);
    return immediate(undefined);
  }

  status(): Blocking<string> {
    return immediate(`${this.name} status`);
  }
}

interface Setup {
  readonly world: World;
  readonly calls: string[];
  readonly md: MappedDevice;
  readonly target: FakeTarget;
}

function setup(options: { maxIoLen?: number; length?: number } = {}): Setup {
  const world = new World({ seed: 1 });
  const calls: string[] = [];
  const md = new MappedDevice('md', world.scheduler);
  const target = new FakeTarget('t1', world, options.length ?? 64, options.maxIoLen ?? 8, calls);
  runTask(world.scheduler, md.load(target));
  runTask(world.scheduler, md.resume());
  calls.length = 0;
  return { world, calls, md, target };
}

interface Done {
  done: boolean;
  error: BlockIoError | null;
  data: Uint8Array | null;
}

function write(md: MappedDevice, sector: number, sectors: number): Done {
  const done: Done = { done: false, error: null, data: null };
  const data = new Uint8Array(sectors * 512);
  for (let index = 0; index < sectors; index++)
    data.fill(sector + index, index * 512, (index + 1) * 512);
  md.write({ sector, data }, (error) => Object.assign(done, { done: true, error }));
  return done;
}

function read(md: MappedDevice, sector: number, sectors: number): Done {
  const done: Done = { done: false, error: null, data: null };
  md.read({ sector, sectorCount: sectors }, (error, data) =>
    Object.assign(done, { done: true, error, data }),
  );
  return done;
}

describe('DM core: splitting and completion', () => {
  it('§4.1 DM core splits a request so that no bio crosses a multiple of max_io_len', () => {
    const { world, calls, md, target } = setup();
    const seen: Array<[number, number]> = [];
    target.behave = (bio) => {
      if (bio.data !== null) seen.push([bio.sector, bio.data[0]!]);
      return { kind: 'complete', delayTicks: 1, status: 'ok' };
    };
    const done = write(md, 4, 16);
    expect(calls).toEqual(['t1 map write 4+4', 't1 map write 8+8', 't1 map write 16+4']);
    expect(seen, 'each bio carries its slice of the data').toEqual([
      [4, 4],
      [8, 8],
      [16, 16],
    ]);
    expect(md.inFlight).toBe(3);
    world.scheduler.runUntilIdle();
    expect(done.done).toBe(true);
    expect(md.inFlight).toBe(0);
    calls.length = 0;
    md.flush(() => {});
    md.discard({ sector: 6, sectorCount: 4 }, () => {});
    expect(calls).toEqual(['t1 map flush 0+0', 't1 map discard 6+2', 't1 map discard 8+2']);
  });

  it('a split read is reassembled in order from its bios', () => {
    const { world, md } = setup();
    const done = read(md, 6, 12);
    world.scheduler.runUntilIdle();
    expect(done.error).toBeNull();
    const firstBytes = Array.from({ length: 12 }, (_, index) => done.data![index * 512]);
    // The fake target fills each bio with its start sector.
    expect(firstBytes).toEqual([6, 6, 8, 8, 8, 8, 8, 8, 8, 8, 16, 16]);
  });

  it('a request fails with EIO if any of its bios failed, EOPNOTSUPP for notsupp; every bio still completes first', () => {
    const { world, md, target } = setup();
    target.behave = (bio) => ({
      kind: 'complete',
      delayTicks: bio.sector === 8 ? 1 : 9,
      status: bio.sector === 8 ? 'ioerr' : 'ok',
    });
    const failed = write(md, 0, 16);
    world.scheduler.runFor(1);
    expect(failed.done, 'the other bio is still in flight').toBe(false);
    expect(md.stats.biosFailed, 'the failed bio is counted before its request ends').toBe(1);
    expect(md.stats.userErrors).toBe(0);
    world.scheduler.runUntilIdle();
    expect(failed.error?.errno).toBe('EIO');
    target.behave = () => ({ kind: 'complete', delayTicks: 1, status: 'notsupp' });
    const unsupported = { error: null as BlockIoError | null };
    md.discard({ sector: 0, sectorCount: 8 }, (error) => {
      unsupported.error = error;
    });
    world.scheduler.runUntilIdle();
    expect(unsupported.error?.errno).toBe('EOPNOTSUPP');
    expect(md.stats.userErrors).toBe(2);
    expect(md.stats.biosFailed).toBe(2);
  });

  it('§4.3 a killed bio fails with EIO without running the target end_io (DM_MAPIO_KILL)', () => {
    const { world, calls, md, target } = setup();
    target.behave = () => ({ kind: 'kill' });
    const done = read(md, 0, 8);
    world.scheduler.runUntilIdle();
    expect(done.error?.errno).toBe('EIO');
    expect(calls).toEqual(['t1 map read 0+8']);
    expect(md.inFlight).toBe(0);
  });

  it('§4.3 a remapped read goes to the device at the mapped sector, then through end_io', () => {
    const { world, calls, md, target } = setup();
    const disk = world.createDevice({ name: 'disk', sizeSectors: 256 });
    disk.write({ sector: 100, data: new Uint8Array(512).fill(42) }, () => {});
    world.scheduler.runUntilIdle();
    target.behave = () => ({ kind: 'remap', device: disk, offset: 100 });
    const done = read(md, 0, 1);
    world.scheduler.runUntilIdle();
    expect(done.data![0]).toBe(42);
    expect(calls).toEqual(['t1 map read 0+1', 't1 end_io read 0+1 ok']);
  });

  it('end_io answering incomplete keeps the bio in flight: the target requeued it and ends it again', () => {
    const { world, md, target } = setup();
    let again = true;
    target.endIoAnswer = (bio) => {
      if (!again) return 'done';
      again = false;
      bio.status = 'ok';
      world.scheduler.schedule(50, 'retry', () => bio.endio());
      return 'incomplete';
    };
    const done = write(md, 0, 8);
    world.scheduler.runFor(10);
    expect(done.done).toBe(false);
    expect(md.inFlight).toBe(1);
    world.scheduler.runUntilIdle();
    expect(done.done).toBe(true);
    expect(md.inFlight).toBe(0);
  });

  it('requests are checked against the device size', () => {
    const { md } = setup();
    expect(() => read(md, 60, 8)).toThrow(RangeError);
  });
});

describe('DM core: suspend, resume and table swap (§4.7)', () => {
  it('§4.7 suspend runs presuspend (I/O still flows), then blocks new I/O, waits for bios in flight, then postsuspend', () => {
    const { world, calls, md, target } = setup();
    target.presuspendTicks = 10;
    target.behave = () => ({ kind: 'complete', delayTicks: 30, status: 'ok' });
    const early = write(md, 0, 8);
    let suspended = false;
    spawn(md.suspend(), () => {
      suspended = true;
    });
    const during = write(md, 8, 8);
    expect(calls).toEqual(['t1 map write 0+8', 't1 presuspend', 't1 map write 8+8']);
    world.scheduler.runFor(10);
    const blocked = write(md, 16, 8);
    expect(md.deferredCount, 'new I/O waits once presuspend is done').toBe(1);
    world.scheduler.runFor(19);
    expect(suspended, 'bios are still in flight').toBe(false);
    world.scheduler.runUntilIdle();
    expect(suspended).toBe(true);
    expect(md.suspended).toBe(true);
    expect([early.done, during.done, blocked.done]).toEqual([true, true, false]);
    expect(calls.slice(3)).toEqual([
      't1 presuspend done',
      't1 end_io write 0+8 ok',
      't1 end_io write 8+8 ok',
      't1 postsuspend',
    ]);
    runTask(world.scheduler, md.resume());
    world.scheduler.runUntilIdle();
    expect(blocked.done).toBe(true);
    expect(calls.slice(7)).toEqual(['t1 resume', 't1 map write 16+8', 't1 end_io write 16+8 ok']);
  });

  it('§4.4 §4.7 a bio its target ends with requeue during a noflush suspend is resubmitted after resume', () => {
    const { world, calls, md, target } = setup();
    target.behave = () => ({ kind: 'hold' });
    const done = write(md, 0, 8);
    const suspending = md.suspend({ noflush: true });
    target.presuspend = () => {
      calls.push('t1 presuspend noflush');
      for (const bio of target.held.splice(0)) {
        bio.status = 'requeue';
        bio.endio();
      }
      return immediate(undefined);
    };
    runTask(world.scheduler, suspending);
    expect(done.done).toBe(false);
    expect(md.deferredCount).toBe(1);
    target.behave = () => ({ kind: 'complete', delayTicks: 1, status: 'ok' });
    runTask(world.scheduler, md.resume());
    world.scheduler.runUntilIdle();
    expect(done.error).toBeNull();
    expect(calls.filter((call) => call.includes('map'))).toEqual([
      't1 map write 0+8',
      't1 map write 0+8',
    ]);
  });

  it('§4.4 a requeue outside a noflush suspend is a broken invariant', () => {
    const { world, md, target } = setup();
    target.behave = () => ({ kind: 'complete', delayTicks: 1, status: 'requeue' });
    write(md, 0, 8);
    expect(() => world.scheduler.runUntilIdle()).toThrow(InvariantError);
  });

  it('§4.7 resume with a loaded table suspends the live one, swaps, resumes the new one, resubmits held I/O, then destroys the old', () => {
    const { world, calls, md, target } = setup();
    const next = new FakeTarget('t2', world, 64, 4, calls);
    runTask(world.scheduler, md.load(next));
    expect(md.inactive).toBe(next);
    runTask(world.scheduler, md.suspend());
    const held = write(md, 0, 8);
    runTask(world.scheduler, md.resume());
    world.scheduler.runUntilIdle();
    expect(held.done).toBe(true);
    expect(md.target).toBe(next);
    expect(calls).toEqual([
      't1 presuspend',
      't1 presuspend done',
      't1 postsuspend',
      't2 resume',
      't2 map write 0+4',
      't2 map write 4+4',
      't1 destroy',
      't2 end_io write 0+4 ok',
      't2 end_io write 4+4 ok',
    ]);
    expect(target).not.toBe(md.target);
  });

  it('§4.7 loading twice destroys the first inactive table; remove suspends and destroys everything', () => {
    const { world, calls, md } = setup();
    runTask(world.scheduler, md.load(new FakeTarget('t2', world, 64, 8, calls)));
    runTask(world.scheduler, md.load(new FakeTarget('t3', world, 64, 8, calls)));
    runTask(world.scheduler, md.remove());
    expect(calls).toEqual([
      't2 destroy',
      't1 presuspend',
      't1 presuspend done',
      't1 postsuspend',
      't3 destroy',
      't1 destroy',
    ]);
    expect(md.target).toBeNull();
  });

  it('I/O before the first resume waits for it', () => {
    const world = new World({ seed: 1 });
    const calls: string[] = [];
    const md = new MappedDevice('md', world.scheduler);
    runTask(world.scheduler, md.load(new FakeTarget('t1', world, 64, 8, calls)));
    const done = write(md, 0, 8);
    world.scheduler.runUntilIdle();
    expect(done.done).toBe(false);
    expect(md.deferredCount).toBe(1);
    runTask(world.scheduler, md.resume());
    world.scheduler.runUntilIdle();
    expect(done.done).toBe(true);
  });

  it('dm_table_event counts events and keeps recent reasons', () => {
    const { md } = setup();
    md.raiseEvent('one');
    md.raiseEvent('two');
    expect(md.events).toBe(2);
    expect(md.recentEventReasons).toEqual(['one', 'two']);
  });
});
