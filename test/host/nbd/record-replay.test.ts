/**
 * `mirrorsim serve --record FILE` (issue 14): a real client's requests,
 * written as a fio iolog v3, replay with `mirrorsim run --workload
 * fio:FILE` — deterministically, so a client's traffic becomes a
 * reproducible crash test (same trace hash twice).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../../cli/main.js';
import type { ServeService } from '../../../host/nbd/serve-service.js';
import { loadIolog } from '../../../sim/workload/fio-iolog.js';
import { scratchDirectory, startServe } from './nbd-test-kit.js';
import { killClients, missingNote, runClient, runFio, unixUri } from './real-client-kit.js';

const SKIP = missingNote('record-replay.test.ts', ['fio', 'qemu-io']);

let scratch: { path: string; remove: () => void } | null = null;
let service: ServeService | null = null;

afterEach(async () => {
  killClients();
  await service?.close();
  scratch?.remove();
  service = null;
  scratch = null;
});

async function run(
  args: readonly string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    wallClockMs: () => performance.now(),
  });
  return { code, stdout, stderr };
}

describe.skipIf(SKIP !== '')('serve --record and run --workload fio:FILE', () => {
  it('records every request in arrival order as a v3 iolog that replays with the same trace hash twice', async () => {
    scratch = scratchDirectory();
    const record = join(scratch.path, 'clients.iolog');
    service = await startServe(scratch.path, { recordPath: record });
    const socket = join(scratch.path, 'nbd.sock');
    const jobs = await runFio(socket, [
      '--name=rec',
      '--rw=randrw',
      '--bs=4k',
      '--iodepth=8',
      '--size=1M',
      '--io_size=1M',
      '--fsync=16',
    ]);
    expect(jobs[0]!.error).toBe(0);
    const qemu = await runClient('qemu-io', [
      '-f',
      'raw',
      '-c',
      'write -P 0x42 2M 64k',
      '-c',
      'discard 2M 4k',
      '-c',
      'read 2M 64k',
      unixUri(socket),
    ]);
    expect(qemu.code, qemu.stderr).toBe(0);
    const metrics = service.mirrorExport.metrics;
    const served = [0, 1, 3, 4].map((type) => metrics.requestCount(type));
    const cut = await service.powerCut('none');
    expect(cut.oracle).toBe('ok');
    expect(cut.replay).toBe(
      `npx mirrorsim run --workload fio:${record} --ops ${served.reduce((sum, count) => sum + count, 0)} --table "0 8192 mirror core 1 256 2 leg0 0 leg1 0" --seed 1 --crash random --crash-state none`,
    );
    await service.close();
    service = null;

    const text = readFileSync(record, 'utf8');
    expect(text.split('\n').slice(0, 3)).toEqual([
      'fio version 3 iolog',
      '0 mirror add',
      '0 mirror open',
    ]);
    expect(text.trimEnd().split('\n').at(-1)).toMatch(/^\d+ mirror close$/);
    const trace = loadIolog(record);
    expect(trace.version).toBe(3);
    expect(trace.files).toEqual(['mirror']);
    const count = (action: string) =>
      trace.entries.filter((entry) => entry.action === action).length;
    expect([count('read'), count('write'), count('sync'), count('trim')]).toEqual(served);
    expect(count('write')).toBeGreaterThan(100);
    const stamps = trace.entries.map((entry) => entry.timestampMicroseconds!);
    expect(stamps).toEqual([...stamps].sort((left, right) => left - right));
    expect(trace.entries.find((entry) => entry.action === 'trim')).toMatchObject({
      offsetBytes: 2n * 1024n * 1024n,
      lengthBytes: 4096,
    });

    const args = [
      'run',
      '--workload',
      `fio:${record}`,
      '--ops',
      String(trace.entries.length),
      '--log',
      'disk',
      '--size',
      '4MiB',
      '--region-size',
      '256',
      '--seed',
      '5',
      '--json',
    ];
    const first = await run(args);
    const second = await run(args);
    expect(first.code, first.stderr).toBe(0);
    const firstJson = JSON.parse(first.stdout) as {
      traceHash: string;
      oracle: string;
      ops: number;
      crashed: boolean;
    };
    const secondJson = JSON.parse(second.stdout) as { traceHash: string };
    expect(firstJson.oracle).toBe('ok');
    expect(firstJson.ops).toBe(trace.entries.length);
    expect(secondJson.traceHash).toBe(firstJson.traceHash);
  });
});
