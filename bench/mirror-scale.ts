/**
 * The mirror's own speed and memory figures (issue "the mirror"):
 *
 * 1. The write path of a 2-leg core-log mirror with zero latency, 4 KiB
 *    random writes, 16 in flight, against a raw baseline measured in the same
 *    run that copies the same writes into two sparse stores (goal ≥ 0.3,
 *    aim 0.5).
 * 2. A 16 TiB 2-leg disk-log mirror with 512 KiB regions after 100 MiB of
 *    writes: resident memory (goal < 300 MiB), and recovery after a crash,
 *    which must cost in proportion to the dirty regions, not to 16 TiB —
 *    shown against a 16 GiB mirror given the same writes.
 *
 * Run: `npx tsx bench/mirror-scale.ts`. Part 2 runs in child processes
 * (`--expose-gc`) so one measurement does not pollute the other.
 */
import { execFileSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MirrorStack } from '../sim/mirror-stack.js';
import {
  driveMirror,
  planWrites,
  type ScaleResult,
  settleMirror,
} from '../sim/scenario/scale-scenario.js';
import { World } from '../sim/world.js';
import { SparseStore } from '../src/block/sparse-store.js';

const REPOSITORY = dirname(dirname(fileURLToPath(import.meta.url)));
const TIB_SECTORS = 2 ** 31;
const GIB_SECTORS = 2 ** 21;

function median(values: number[]): number {
  const sorted = [...values].sort((left, right) => left - right);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Part 1: ops/s of the core-log write path and of the raw two-store copy, measured alternately. */
function writePathRatio(): void {
  const sizeSectors = 131072; // 64 MiB
  const plan = planWrites(100_000, sizeSectors, 7);
  const mirrorRates: number[] = [];
  const rawRates: number[] = [];
  for (let round = 0; round < 6; round++) {
    const world = new World({ seed: 7 });
    const stack = new MirrorStack({
      world,
      table: `0 ${sizeSectors} mirror core 1 1024 2 leg0 0 leg1 0`,
    });
    stack.activate();
    settleMirror(world, stack.mirror);
    let started = performance.now();
    driveMirror(world, stack, plan, 16);
    const mirrorRate = plan.sectors.length / ((performance.now() - started) / 1000);
    const left = new SparseStore(sizeSectors);
    const right = new SparseStore(sizeSectors);
    started = performance.now();
    for (let index = 0; index < plan.sectors.length; index++) {
      const data = plan.data[index & 15]!;
      left.write(plan.sectors[index]!, data);
      right.write(plan.sectors[index]!, data);
    }
    const rawRate = plan.sectors.length / ((performance.now() - started) / 1000);
    if (round === 0) continue; // warm-up
    mirrorRates.push(mirrorRate);
    rawRates.push(rawRate);
  }
  const mirror = median(mirrorRates);
  const raw = median(rawRates);
  console.log(
    '(1) write path: 2-leg core-log mirror, zero latency, 4 KiB random writes, 16 in flight',
  );
  console.log(
    `  raw copy into two SparseStores   ${(raw / 1000).toFixed(1).padStart(7)} k writes/s`,
  );
  console.log(
    `  mirror (DM core, region hash, kmirrord, legs)  ${(mirror / 1000).toFixed(1).padStart(7)} k writes/s   ratio ${(mirror / raw).toFixed(2)}, goal ≥ 0.3 (aim 0.5): ${mirror / raw >= 0.3 ? 'met' : 'MISSED'}`,
  );
}

/**
 * Runs the scale scenario in a child process on the compiled code (`dist/`,
 * built first) with plain node, so neither this process nor a TypeScript
 * loader is counted. The child uses the CLI's V8 settings (a 4 MiB
 * semi-space, as bin/mirrorsim.mjs sets).
 */
function runChild(sizeSectors: number): ScaleResult {
  const modulePath = join(REPOSITORY, 'dist/sim/scenario/scale-scenario.js');
  const script = [
    `const m = await import(${JSON.stringify(pathToFileURL(modulePath).href)});`,
    'const measure = () => { globalThis.gc(); const u = process.memoryUsage();',
    'return { rssMiB: u.rss / 2 ** 20, heapMiB: u.heapUsed / 2 ** 20, arrayBuffersMiB: u.arrayBuffers / 2 ** 20 }; };',
    `console.log(JSON.stringify(m.runScaleScenario(${sizeSectors}, { wallClockMs: () => performance.now(), measure })));`,
  ].join(' ');
  const output = execFileSync(
    process.execPath,
    ['--expose-gc', '--max-semi-space-size=4', '--input-type=module', '-e', script],
    { encoding: 'utf8', maxBuffer: 1 << 20 },
  );
  return JSON.parse(output.trim().split('\n').pop()!) as ScaleResult;
}

function scale(): void {
  console.log(
    '\n(2) 16 TiB 2-leg disk-log mirror, 512 KiB regions, after 100 MiB of 4 KiB random writes',
  );
  const big = runChild(16 * TIB_SECTORS);
  const small = runChild(16 * GIB_SECTORS);
  for (const result of [big, small]) {
    const size =
      result.sizeSectors >= TIB_SECTORS
        ? `${result.sizeSectors / TIB_SECTORS} TiB`
        : `${result.sizeSectors / GIB_SECTORS} GiB`;
    console.log(
      `  ${size.padEnd(7)} ${String(result.regions).padStart(9)} regions: rss ${result.memory.rssMiB.toFixed(1)} MiB (heap ${result.memory.heapMiB.toFixed(1)}, buffers ${result.memory.arrayBuffersMiB.toFixed(1)}); ` +
        `crash left ${result.dirtyRegions} regions dirty, ${result.resyncedRegions} resynced in ${result.recoveryEvents} events, ${result.recoveryWallMs.toFixed(0)} ms wall`,
    );
  }
  console.log(`  rss goal < 300 MiB for 16 TiB: ${big.memory.rssMiB < 300 ? 'met' : 'MISSED'}`);
  console.log(
    `  recovery of 16 TiB vs 16 GiB with the same writes: ${(big.recoveryWallMs / small.recoveryWallMs).toFixed(2)}x the wall time, ${(big.recoveryEvents / small.recoveryEvents).toFixed(2)}x the events (1024x the size)`,
  );
}

function main(): void {
  console.log('mirrorsim mirror-scale benchmark');
  console.log(
    `  machine: ${cpus()[0]?.model ?? 'unknown'} (${cpus().length} cores), node ${process.version}`,
  );
  console.log(
    `  ${new Date().toISOString()}, load average ${loadavg()
      .map((value) => value.toFixed(2))
      .join(' ')}\n`,
  );
  writePathRatio();
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: REPOSITORY, stdio: 'inherit' });
  scale();
}

main();
