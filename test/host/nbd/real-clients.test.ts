/**
 * The real clients against `mirrorsim serve` (issue 14; reference nbd.md
 * §4): nbdinfo, qemu-img, qemu-io, nbdcopy and fio's nbd engine, each doing
 * what it does in the field, with the server's own oracle checking every
 * read they get back. The export is a small core-log mirror (4 MiB, 256
 * sector regions) on a Unix socket in a scratch directory.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ServeService } from '../../../host/nbd/serve-service.js';
import { scratchDirectory, startServe } from './nbd-test-kit.js';
import { killClients, missingNote, runClient, runFio, unixUri } from './real-client-kit.js';

const SKIP = missingNote('real-clients.test.ts', [
  'nbdinfo',
  'nbdcopy',
  'qemu-img',
  'qemu-io',
  'fio',
]);
const MIB = 1024 * 1024;
const READ = 0;
const WRITE = 1;
const FLUSH = 3;
const TRIM = 4;
const WRITE_ZEROES = 6;
const BLOCK_STATUS = 7;

let scratch: { path: string; remove: () => void };
let service: ServeService;
let uri: string;
let socket: string;

beforeEach(async () => {
  scratch = scratchDirectory();
  service = await startServe(scratch.path);
  socket = join(scratch.path, 'nbd.sock');
  uri = unixUri(socket);
});

afterEach(async () => {
  killClients();
  await service.close();
  scratch.remove();
});

/** What the export served, as counted by the server. */
function served(type: number): number {
  return service.mirrorExport.metrics.requestCount(type);
}

/** No read a client got back broke the register oracle, and no white-box invariant broke. */
function expectOracleClean(): void {
  expect(service.mirrorExport.readViolations).toEqual([]);
  expect(service.mirrorExport.metrics.readViolations).toBe(0);
  expect(service.mirrorExport.invariantViolations).toEqual([]);
}

/** A 4 MiB image with data, a zero run and a hole, as a file. */
function imageFile(name: string): string {
  const image = new Uint8Array(4 * MIB);
  for (let index = 0; index < MIB; index++) image[index] = (index * 7 + 3) & 0xff;
  image.fill(0x5a, 2 * MIB, 2 * MIB + 64 * 1024);
  image.fill(0xc3, 4 * MIB - 4096);
  const path = join(scratch.path, name);
  writeFileSync(path, image);
  return path;
}

describe.skipIf(SKIP !== '')('nbdinfo (§4: INFO, LIST_META_CONTEXT, GO; --map, --list)', () => {
  it('reports the size, the block-size constraints and every advertised feature', async () => {
    const result = await runClient('nbdinfo', ['--json', uri]);
    expect(result.code, result.stderr).toBe(0);
    const info = JSON.parse(result.stdout) as {
      exports: Record<string, unknown>[];
      protocol: string;
    };
    expect(info.protocol).toBe('newstyle-fixed');
    const exported = info.exports[0]!;
    expect(exported).toMatchObject({
      'export-name': 'mirror',
      'export-size': 4 * MIB,
      block_size_minimum: 512,
      block_size_preferred: 4096,
      block_size_maximum: 32 * MIB,
      can_flush: true,
      can_fua: true,
      can_trim: true,
      can_zero: true,
      can_df: true,
      can_multi_conn: true,
      can_cache: false,
      can_fast_zero: false,
      is_read_only: false,
    });
    expect(exported.description).toBe('mirrorsim: 0 8192 mirror core 1 256 2 leg0 0 leg1 0');
    expect(exported.contexts).toEqual(['base:allocation']);
  });

  it('--list shows the one export; --can multi-conn exits 0 (§4)', async () => {
    const list = await runClient('nbdinfo', ['--list', '--json', uri]);
    expect(list.code, list.stderr).toBe(0);
    expect(
      (JSON.parse(list.stdout) as { exports: { 'export-name': string }[] }).exports.map(
        (each) => each['export-name'],
      ),
    ).toEqual(['mirror']);
    expect((await runClient('nbdinfo', ['--can', 'multi-conn', uri])).code).toBe(0);
  });

  it('--map shows what was written as data and the rest as holes that read as zeros (base:allocation from the legs)', async () => {
    const write = await runClient('qemu-io', [
      '-f',
      'raw',
      '-c',
      'write -P 0x11 64k 128k',
      '-c',
      'write -P 0x22 1M 4k',
      uri,
    ]);
    expect(write.code, write.stderr).toBe(0);
    const map = await runClient('nbdinfo', ['--map', '--json', uri]);
    expect(map.code, map.stderr).toBe(0);
    const extents = (
      JSON.parse(map.stdout) as { offset: number; length: number; type: number }[]
    ).map((extent) => [extent.offset, extent.length, extent.type]);
    expect(extents).toEqual([
      [0, 64 * 1024, 3],
      [64 * 1024, 128 * 1024, 0],
      [192 * 1024, MIB - 192 * 1024, 3],
      [MIB, 4096, 0],
      [MIB + 4096, 3 * MIB - 4096, 3],
    ]);
    expect(served(BLOCK_STATUS)).toBeGreaterThan(0);
    expectOracleClean();
  });
});

describe.skipIf(SKIP !== '')(
  'qemu-img and qemu-io (§4: SET_META_CONTEXT, FUA writes, WRITE_ZEROES, TRIM)',
  () => {
    it('convert, compare and convert back: an image round-trips byte for byte', async () => {
      const source = imageFile('source.img');
      const copy = join(scratch.path, 'copy.img');
      const info = await runClient('qemu-img', ['info', '--output=json', uri]);
      expect(JSON.parse(info.stdout)['virtual-size']).toBe(4 * MIB);
      const up = await runClient('qemu-img', [
        'convert',
        '-n',
        '-f',
        'raw',
        '-O',
        'raw',
        source,
        uri,
      ]);
      expect(up.code, up.stderr).toBe(0);
      const compare = await runClient('qemu-img', [
        'compare',
        '-f',
        'raw',
        '-F',
        'raw',
        source,
        uri,
      ]);
      expect(compare.code, compare.stdout + compare.stderr).toBe(0);
      expect(compare.stdout).toMatch(/Images are identical/);
      const down = await runClient('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', uri, copy]);
      expect(down.code, down.stderr).toBe(0);
      expect(Buffer.compare(readFileSync(copy), readFileSync(source))).toBe(0);
      // qemu writes the zero run as WRITE_ZEROES (§4) and flushes at close.
      expect(served(WRITE)).toBeGreaterThan(0);
      expect(served(WRITE_ZEROES)).toBeGreaterThan(0);
      expect(served(FLUSH)).toBeGreaterThan(0);
      expectOracleClean();
    });

    it('qemu-io pattern writes read back verified; zeroed and discarded ranges read as zeros; a wrong pattern is caught', async () => {
      const result = await runClient('qemu-io', [
        '-f',
        'raw',
        '-c',
        'write -P 0xab 0 256k',
        '-c',
        'write -P 0xcd 512k 64k',
        '-c',
        'write -z 512k 32k',
        '-c',
        'discard 128k 64k',
        '-c',
        'flush',
        '-c',
        'read -P 0xab 0 128k',
        '-c',
        'read -P 0 512k 32k',
        '-c',
        'read -P 0xcd 544k 32k',
        '-c',
        'read -P 0 128k 64k',
        uri,
      ]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).not.toMatch(/Pattern verification failed/);
      expect(result.stdout.match(/^read /gm)).toHaveLength(4);
      const wrong = await runClient('qemu-io', ['-f', 'raw', '-c', 'read -P 0xee 0 4k', uri]);
      expect(wrong.stdout + wrong.stderr).toMatch(/Pattern verification failed/);
      expect(served(TRIM)).toBe(1);
      expect(served(WRITE_ZEROES)).toBe(1);
      expectOracleClean();
    });
  },
);

describe.skipIf(SKIP !== '')(
  'nbdcopy (§4: 256 KiB requests, several connections with MULTI_CONN)',
  () => {
    it('copies a file onto the export and back with four connections and --flush', async () => {
      const source = imageFile('source.img');
      const back = join(scratch.path, 'back.img');
      const up = await runClient('nbdcopy', ['--flush', '--connections=4', source, uri]);
      expect(up.code, up.stderr).toBe(0);
      const down = await runClient('nbdcopy', ['--connections=4', uri, back]);
      expect(down.code, down.stderr).toBe(0);
      expect(Buffer.compare(readFileSync(back), readFileSync(source))).toBe(0);
      // nbdcopy opens min(--connections, threads) connections per side when both sides allow MULTI_CONN.
      expect(service.mirrorExport.metrics.connectionsAccepted).toBeGreaterThanOrEqual(3);
      expect(served(READ)).toBeGreaterThan(0);
      expectOracleClean();
    });
  },
);

describe.skipIf(SKIP !== '')(
  'fio ioengine=nbd with verify=crc32c (§4: one connection per job)',
  () => {
    it('randwrite verifies on one job and on four jobs, each on its own range', async () => {
      const one = await runFio(socket, [
        '--name=one',
        '--rw=randwrite',
        '--bs=4k',
        '--iodepth=16',
        '--size=2M',
        '--verify=crc32c',
      ]);
      expect(one[0]!.error).toBe(0);
      expect(one[0]!.write.io_bytes).toBe(2 * MIB);
      expect(one[0]!.read.io_bytes, 'the verify pass read everything back').toBe(2 * MIB);
      const connectionsBefore = service.mirrorExport.metrics.connectionsAccepted;
      const four = await runFio(socket, [
        '--name=four',
        '--rw=randwrite',
        '--bs=4k',
        '--iodepth=8',
        '--numjobs=4',
        '--size=512k',
        '--offset_increment=1M',
        '--verify=crc32c',
      ]);
      expect(four.map((job) => job.error)).toEqual([0, 0, 0, 0]);
      expect(four.reduce((sum, job) => sum + job.write.io_bytes, 0)).toBe(2 * MIB);
      expect(
        service.mirrorExport.metrics.connectionsAccepted - connectionsBefore,
      ).toBeGreaterThanOrEqual(4);
      expectOracleClean();
    });

    it('randrw with fsync and trimwrite verify on one job and on four; randtrim sends TRIMs that read back as zeros', async () => {
      const mixed = await runFio(socket, [
        '--name=mixed',
        '--rw=randrw',
        '--bs=4k',
        '--iodepth=8',
        '--size=1M',
        '--io_size=2M',
        '--fsync=16',
        '--verify=crc32c',
      ]);
      expect(mixed[0]!.error).toBe(0);
      expect(mixed[0]!.sync.total_ios).toBeGreaterThan(0);
      const four = await runFio(socket, [
        '--name=mixed4',
        '--rw=randrw',
        '--bs=4k',
        '--iodepth=4',
        '--numjobs=4',
        '--size=256k',
        '--offset_increment=512k',
        '--fsync=8',
        '--verify=crc32c',
        '--name=trimwrite4',
        '--rw=trimwrite',
        '--bs=16k',
        '--iodepth=4',
        '--numjobs=4',
        '--offset=2M',
        '--size=256k',
        '--offset_increment=256k',
        '--verify=crc32c',
        // trimwrite trims a block, then writes it: NBD (like dm) does not order requests in
        // flight together (§3.7), so fio must not send the write before the trim's reply.
        '--serialize_overlap=1',
      ]);
      expect(four).toHaveLength(8);
      expect(four.map((job) => job.error)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
      const trimwrite = four.filter((job) => job.jobname === 'trimwrite4');
      expect(
        trimwrite.every(
          (job) => job.trim.io_bytes === 256 * 1024 && job.write.io_bytes === 256 * 1024,
        ),
      ).toBe(true);
      expect(served(FLUSH)).toBeGreaterThan(0);
      const trimmed = await runFio(socket, [
        '--name=trim',
        '--rw=randtrim',
        '--bs=64k',
        '--iodepth=4',
        '--size=1M',
      ]);
      expect(trimmed[0]!.error).toBe(0);
      expect(trimmed[0]!.trim.io_bytes).toBe(MIB);
      // 16 TRIMs of 64 KiB here, after trimwrite's 4 × 16 of 16 KiB.
      expect(served(TRIM)).toBe(16 + 64);
      const zeros = await runClient('qemu-io', ['-f', 'raw', '-c', 'read -P 0 0 1M', uri]);
      expect(zeros.stdout).not.toMatch(/Pattern verification failed/);
      expectOracleClean();
    });
  },
);
