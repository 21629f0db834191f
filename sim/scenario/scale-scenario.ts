/**
 * The mirror at scale, for the mirror-scale benchmark: a disk-log mirror of
 * any size created `nosync` (as LVM can, so the first activation copies
 * nothing) and then run in the default mode, which keeps the on-disk
 * bitmap; 100 MiB of 4 KiB random writes; a crash with writes in flight; a
 * reboot and the recovery. What recovery costs must follow the dirty
 * regions, not the size. The caller measures memory around it and supplies
 * the wall clock (sim/ never reads one).
 */
import { runNonBlocking } from '../../src/concurrency/blocking.js';
import type { MirrorSet } from '../../src/mirror/mirror-set.js';
import { MirrorStack } from '../mirror-stack.js';
import { World } from '../world.js';

const SECTORS_4K = 8;

/** The same 4 KiB random writes for every subject (16 distinct buffers, reused). */
export interface WritePlan {
  readonly sectors: Float64Array;
  readonly data: Uint8Array[];
}

export function planWrites(count: number, sizeSectors: number, seed: number): WritePlan {
  const world = new World({ seed });
  const random = world.random.stream('bench.writes');
  const sectors = new Float64Array(count);
  const blocks = Math.floor(sizeSectors / SECTORS_4K);
  for (let index = 0; index < count; index++)
    sectors[index] = random.nextInt(0, blocks - 1) * SECTORS_4K;
  const data = Array.from({ length: 16 }, (_, index) => new Uint8Array(4096).fill(index + 1));
  return { sectors, data };
}

/** Issues the plan against a mirror with `depth` writes in flight, as fast as the simulator goes. */
export function driveMirror(
  world: World,
  stack: MirrorStack,
  plan: WritePlan,
  depth: number,
): void {
  let next = 0;
  let inFlight = 0;
  const issue = (): void => {
    while (inFlight < depth && next < plan.sectors.length) {
      const index = next++;
      inFlight++;
      stack.device.write(
        { sector: plan.sectors[index]!, data: plan.data[index & 15]! },
        (error) => {
          if (error !== null) throw error;
          inFlight--;
          issue();
        },
      );
    }
  };
  issue();
  world.scheduler.runUntilIdle();
  if (next !== plan.sectors.length || inFlight !== 0)
    throw new RangeError('the mirror did not finish the writes');
}

/** Runs until the mirror is in sync and idle. */
export function settleMirror(world: World, mirror: MirrorSet): void {
  world.scheduler.runUntil(() => mirror.inSync && mirror.idle);
  world.scheduler.runUntilIdle();
}

/** Resident memory figures, in MiB, taken while the mirror is still alive. */
export interface MemoryFigures {
  readonly rssMiB: number;
  readonly heapMiB: number;
  readonly arrayBuffersMiB: number;
}

export interface ScaleResult {
  readonly memory: MemoryFigures;
  readonly sizeSectors: number;
  readonly regions: number;
  readonly dirtyRegions: number;
  readonly resyncedRegions: number;
  readonly recoveryEvents: number;
  readonly recoveryWallMs: number;
}

/** Activates a `nosync` table, which writes an all-clean bitmap, then powers off cleanly. */
function createNosync(world: World, table: string): void {
  const created = new MirrorStack({ world, table });
  created.activate();
  settleMirror(world, created.mirror);
  created.suspend();
  world.crash('all');
}

/** Runs the default-mode table, writes the plan, and crashes with writes in flight. */
function writeThenCrash(world: World, table: string, plan: WritePlan): void {
  const live = new MirrorStack({ world, table });
  live.activate();
  settleMirror(world, live.mirror);
  driveMirror(world, live, plan, 16);
  let inFlight = 0;
  for (let index = 0; index < 16; index++) {
    inFlight++;
    live.device.write({ sector: plan.sectors[index]!, data: plan.data[index]! }, () => inFlight--);
  }
  world.scheduler.runUntil(() => inFlight <= 8);
  world.crash('random');
}

/**
 * `measure` runs at the end, with the whole stack still reachable (it reads
 * the process's memory; sim/ does not itself).
 */
export function runScaleScenario(
  sizeSectors: number,
  host: { readonly wallClockMs: () => number; readonly measure: () => MemoryFigures },
): ScaleResult {
  const { wallClockMs } = host;
  const world = new World({ seed: 11 });
  const base = `0 ${sizeSectors} mirror disk`;
  const legs = '2 leg0 0 leg1 0';
  // Each phase's stack is built in its own function, so the earlier phases' logs (each with
  // three 4 MiB bitsets at 16 TiB) are not kept reachable by this frame while memory is measured.
  createNosync(world, `${base} 3 log0 1024 nosync ${legs}`);
  const plan = planWrites(25_600, sizeSectors, 13); // 100 MiB of 4 KiB writes
  writeThenCrash(world, `${base} 2 log0 1024 ${legs}`, plan);
  const rebooted = new MirrorStack({ world, table: `${base} 2 log0 1024 ${legs}` });
  const startedEvents = world.scheduler.steps;
  const started = wallClockMs();
  rebooted.activate();
  const mirror = rebooted.mirror;
  const dirtyRegions =
    mirror.regionCount - runNonBlocking(mirror.log.getSyncCount(), 'get_sync_count');
  settleMirror(world, mirror);
  const recoveryWallMs = wallClockMs() - started;
  const memory = host.measure();
  // The legs hold the 100 MiB each; reading a chunk count here keeps the world reachable until now.
  const chunks = rebooted.legDevices.reduce((sum, device) => sum + device.content.chunkCount, 0);
  if (chunks < plan.sectors.length) throw new RangeError(`the legs hold only ${chunks} chunks`);
  return {
    memory,
    sizeSectors,
    regions: mirror.regionCount,
    dirtyRegions,
    resyncedRegions: mirror.stats.regionsRecovered,
    recoveryEvents: world.scheduler.steps - startedEvents,
    recoveryWallMs,
  };
}
