/**
 * Micro-benchmark of the foundation: events per second through the
 * deterministic scheduler, 4 KiB random writes into a sparse device against
 * a raw baseline measured in the same run, and resident memory of a 1 PiB
 * device after 100 MiB of writes (in a child process, so that nothing else
 * in this process pollutes its RSS).
 *
 * Run with `npx tsx bench/micro.ts`. Every workload is fixed by SEED so that
 * runs compare like for like. Each rate is given twice: per second of wall
 * clock, and per second of this process's CPU time. The goals are judged on
 * CPU time, which stays meaningful when other processes load the machine
 * (the load average is printed); on an idle machine the two agree.
 */
import { execFileSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { SeededRandom } from '../sim/random.js';
import { DeterministicScheduler } from '../sim/scheduler.js';
import { SimulatedDevice } from '../src/block/simulated-device.js';
import { SparseStore } from '../src/block/sparse-store.js';

const SEED = 20_240_601;
const EVENTS_GOAL_PER_SECOND = 2_000_000;
const WRITE_RATIO_GOAL = 0.5;
const MEMORY_GOAL_MIB = 250;
const CHUNK_BYTES = 4096;
const CHUNK_SECTORS = 8;
const PIB_SECTORS = 2 ** 50 / 512;
/** Rounds per measurement; the median is reported, after one warm-up round. */
const ROUNDS = 5;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((left, right) => left - right);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Operations per second of CPU time (the goals) and of wall clock, medians over ROUNDS. */
interface Rate {
  readonly cpu: number;
  readonly wall: number;
}

/** Runs `body` once to warm up, then ROUNDS times. */
function measure(operations: number, body: () => void): Rate {
  body();
  const cpuRates: number[] = [];
  const wallRates: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const cpuStart = process.cpuUsage();
    const wallStart = performance.now();
    body();
    const wallSeconds = (performance.now() - wallStart) / 1000;
    const cpu = process.cpuUsage(cpuStart);
    cpuRates.push(operations / ((cpu.user + cpu.system) / 1e6));
    wallRates.push(operations / wallSeconds);
  }
  return { cpu: median(cpuRates), wall: median(wallRates) };
}

function formatRate(rate: number): string {
  if (rate >= 1e6) return `${(rate / 1e6).toFixed(2)} M/s`;
  return `${(rate / 1e3).toFixed(1)} k/s`;
}

/** `<cpu rate> (wall <wall rate>)`, padded to line up. */
function formatBoth(rate: Rate): string {
  return `${formatRate(rate.cpu).padStart(10)} (wall ${formatRate(rate.wall).padStart(10)})`;
}

function verdict(met: boolean): string {
  return met ? 'met' : 'MISSED';
}

// ---- (1) Events per second through the kernel ----

/** One event that reschedules itself: the cheapest path, a heap of one. */
function chainWorkload(events: number): () => void {
  return () => {
    const scheduler = new DeterministicScheduler();
    let remaining = events;
    const tick = (): void => {
      remaining--;
      if (remaining > 0) scheduler.schedule(1, 'chain', tick);
    };
    scheduler.schedule(0, 'chain', tick);
    scheduler.runUntilIdle();
    if (scheduler.steps !== events) throw new Error(`chain ran ${scheduler.steps} events`);
  };
}

/** Many actors with random delays: a deep heap, as with many devices and requests in flight. */
function fanOutWorkload(events: number, actors: number): () => void {
  const delays = new Uint32Array(65_536);
  const stream = new SeededRandom(SEED).stream('bench.delays');
  for (let index = 0; index < delays.length; index++) delays[index] = stream.nextInt(1, 1000);
  return () => {
    const scheduler = new DeterministicScheduler();
    let remaining = events - actors;
    let cursor = 0;
    const tick = (): void => {
      if (remaining <= 0) return;
      remaining--;
      scheduler.schedule(delays[cursor++ & 0xffff]!, 'actor', tick);
    };
    for (let actor = 0; actor < actors; actor++) scheduler.schedule(actor % 7, 'actor', tick);
    scheduler.runUntilIdle();
    if (scheduler.steps !== events) throw new Error(`fan-out ran ${scheduler.steps} events`);
  };
}

// ---- (2) 4 KiB random writes ----

/** Sectors of 4 KiB-aligned random writes within `spanChunks` chunks. */
function randomSectors(count: number, spanChunks: number, name: string): Float64Array {
  const stream = new SeededRandom(SEED).stream(name);
  const sectors = new Float64Array(count);
  for (let index = 0; index < count; index++) {
    sectors[index] = stream.nextInt(0, spanChunks - 1) * CHUNK_SECTORS;
  }
  return sectors;
}

function payload(): Uint8Array {
  const data = new Uint8Array(CHUNK_BYTES);
  for (let index = 0; index < data.length; index++) data[index] = (index * 31 + 7) & 0xff;
  return data;
}

/** The raw baseline: a Map of 4 KiB chunks, copying each write in. */
function rawWrites(sectors: Float64Array, data: Uint8Array): () => void {
  return () => {
    const chunks = new Map<number, Uint8Array>();
    for (let index = 0; index < sectors.length; index++) {
      const key = sectors[index]! / CHUNK_SECTORS;
      let chunk = chunks.get(key);
      if (chunk === undefined) {
        chunk = new Uint8Array(CHUNK_BYTES);
        chunks.set(key, chunk);
      }
      chunk.set(data);
    }
    if (chunks.size === 0) throw new Error('no chunks');
  };
}

function storeWrites(sectors: Float64Array, data: Uint8Array): () => void {
  return () => {
    const store = new SparseStore(PIB_SECTORS);
    for (let index = 0; index < sectors.length; index++) store.write(sectors[index]!, data);
    if (store.chunkCount === 0) throw new Error('no chunks');
  };
}

/** The whole device path: validation, fault decision, scheduling, completion, trace. */
function deviceWrites(sectors: Float64Array, data: Uint8Array, batch: number): () => void {
  return () => {
    const scheduler = new DeterministicScheduler();
    const device = new SimulatedDevice({
      name: 'leg0',
      sizeSectors: PIB_SECTORS,
      scheduler,
      random: new SeededRandom(SEED),
      writeCache: false,
    });
    let completed = 0;
    const done = (error: unknown): void => {
      if (error !== null) throw error;
      completed++;
    };
    for (let start = 0; start < sectors.length; start += batch) {
      const end = Math.min(sectors.length, start + batch);
      for (let index = start; index < end; index++) {
        device.write({ sector: sectors[index]!, data }, done);
      }
      scheduler.runUntilIdle();
    }
    if (completed !== sectors.length) throw new Error(`${completed} writes completed`);
  };
}

interface WriteFigures {
  readonly raw: Rate;
  readonly store: Rate;
  readonly device: Rate;
}

function writeFigures(sectors: Float64Array): WriteFigures {
  const data = payload();
  return {
    raw: measure(sectors.length, rawWrites(sectors, data)),
    store: measure(sectors.length, storeWrites(sectors, data)),
    device: measure(sectors.length, deviceWrites(sectors, data, 256)),
  };
}

function printWrites(title: string, figures: WriteFigures): void {
  console.log(`  ${title}`);
  console.log(`    ${'raw Map<number, Uint8Array> baseline'.padEnd(38)}${formatBoth(figures.raw)}`);
  for (const [name, rate] of [
    ['SparseStore.write', figures.store],
    ['SimulatedDevice.write (via scheduler)', figures.device],
  ] as const) {
    const ratio = rate.cpu / figures.raw.cpu;
    const wallRatio = rate.wall / figures.raw.wall;
    console.log(
      `    ${name.padEnd(38)}${formatBoth(rate)}   ratio ${ratio.toFixed(2)} (wall ${wallRatio.toFixed(2)}), goal ≥ ${WRITE_RATIO_GOAL}: ${verdict(ratio >= WRITE_RATIO_GOAL)}`,
    );
  }
}

// ---- (3) Memory, in a child process ----

interface MemoryFigures {
  readonly rssBeforeMiB: number;
  readonly rssAfterMiB: number;
  readonly heapUsedMiB: number;
  readonly arrayBuffersMiB: number;
  readonly writes: number;
  readonly chunkCount: number;
  readonly gcExposed: boolean;
}

function memoryFigures(): MemoryFigures {
  const script = fileURLToPath(new URL('./micro-memory.ts', import.meta.url));
  const output = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', script], {
    encoding: 'utf8',
  });
  return JSON.parse(output.trim().split('\n').at(-1)!) as MemoryFigures;
}

function main(): void {
  console.log('mirrorsim micro-benchmark');
  console.log(`  machine: ${cpus()[0]?.model ?? 'unknown'} (${cpus().length} cores)`);
  console.log(`  node ${process.version}, ${new Date().toISOString()}, seed ${SEED}`);
  const load = loadavg().map((value) => value.toFixed(2));
  console.log(`  load average at start: ${load.join(' ')} (1, 5, 15 min)`);
  console.log(`  each figure: median of ${ROUNDS} rounds after one warm-up round;`);
  console.log('  rates are per CPU-second of this process, wall-clock rates in brackets');
  console.log('');

  console.log('(1) events per second through DeterministicScheduler (trace hash on)');
  const eventWorkloads: Array<[string, () => void]> = [
    ['self-rescheduling chain (heap of 1)', chainWorkload(2_000_000)],
    ['fan-out, 1,000 actors, delays 1-1000', fanOutWorkload(2_000_000, 1_000)],
    ['fan-out, 10,000 actors, delays 1-1000', fanOutWorkload(2_000_000, 10_000)],
  ];
  for (const [name, workload] of eventWorkloads) {
    const rate = measure(2_000_000, workload);
    console.log(
      `  ${name.padEnd(40)}${formatBoth(rate)}   goal ≥ 2 M/s: ${verdict(rate.cpu >= EVENTS_GOAL_PER_SECOND)}`,
    );
  }
  console.log('');

  console.log('(2) 4 KiB random writes (ops/s; ratio to the raw baseline of the same run)');
  printWrites(
    '25,600 writes (100 MiB) spread over 1 PiB: every write allocates a chunk',
    writeFigures(randomSectors(25_600, PIB_SECTORS / CHUNK_SECTORS, 'bench.fresh')),
  );
  printWrites(
    '200,000 writes over a 64 MiB working set: mostly overwrites',
    writeFigures(randomSectors(200_000, 16_384, 'bench.hot')),
  );
  console.log('');

  console.log(
    '(3) resident memory of a 1 PiB SimulatedDevice after 100 MiB of 4 KiB random writes',
  );
  const memory = memoryFigures();
  console.log(
    `  rss ${memory.rssAfterMiB.toFixed(1)} MiB (process before the device: ${memory.rssBeforeMiB.toFixed(1)} MiB)   goal < ${MEMORY_GOAL_MIB} MiB: ${verdict(memory.rssAfterMiB < MEMORY_GOAL_MIB)}`,
  );
  console.log(
    `  ${memory.writes} writes, ${memory.chunkCount} chunks; heap used ${memory.heapUsedMiB.toFixed(1)} MiB, array buffers ${memory.arrayBuffersMiB.toFixed(1)} MiB${memory.gcExposed ? '' : ' (no --expose-gc: figures before GC)'}`,
  );
}

main();
