/**
 * The memory part of bench/micro.ts, in its own process so that nothing else
 * pollutes the resident set: a 1 PiB SimulatedDevice (cache off, zero
 * latency) takes 100 MiB of 4 KiB random writes through the scheduler, then
 * the process reports its RSS after a full GC as one JSON line.
 *
 * Run with `node --expose-gc --import tsx bench/micro-memory.ts`.
 */
import { SeededRandom } from '../sim/random.js';
import { DeterministicScheduler } from '../sim/scheduler.js';
import { SimulatedDevice } from '../src/block/simulated-device.js';

const SEED = 20_240_601;
const MIB = 1024 * 1024;
const PIB_SECTORS = 2 ** 50 / 512;
const WRITE_BYTES = 4096;
const WRITE_COUNT = (100 * MIB) / WRITE_BYTES;
const BATCH = 256;

const gc = (globalThis as { gc?: () => void }).gc;

function collect(): void {
  if (gc === undefined) return;
  for (let round = 0; round < 3; round++) gc();
}

collect();
const rssBefore = process.memoryUsage().rss;

const scheduler = new DeterministicScheduler();
const random = new SeededRandom(SEED);
const device = new SimulatedDevice({
  name: 'leg0',
  sizeSectors: PIB_SECTORS,
  scheduler,
  random,
  writeCache: false,
});
const positions = random.stream('bench.memory');
const data = new Uint8Array(WRITE_BYTES);
for (let index = 0; index < data.length; index++) data[index] = (index * 31 + 7) & 0xff;
let completed = 0;
const done = (error: unknown): void => {
  if (error !== null) throw error;
  completed++;
};
for (let start = 0; start < WRITE_COUNT; start += BATCH) {
  for (let index = start; index < Math.min(WRITE_COUNT, start + BATCH); index++) {
    const sector = positions.nextInt(0, PIB_SECTORS / 8 - 1) * 8;
    device.write({ sector, data }, done);
  }
  scheduler.runUntilIdle();
}
if (completed !== WRITE_COUNT) throw new Error(`${completed} of ${WRITE_COUNT} writes completed`);

collect();
const usage = process.memoryUsage();
console.log(
  JSON.stringify({
    rssBeforeMiB: rssBefore / MIB,
    rssAfterMiB: usage.rss / MIB,
    heapUsedMiB: usage.heapUsed / MIB,
    arrayBuffersMiB: usage.arrayBuffers / MIB,
    writes: completed,
    chunkCount: device.content.chunkCount,
    gcExposed: gc !== undefined,
  }),
);
