/**
 * The control endpoint and `mirrorsim ctl` (issue 14, "Control while
 * clients run"): status with the dmsetup table and status lines, Prometheus
 * metrics, failing and restoring a leg, suspend and resume, and the
 * answers to bad control requests. Clients are raw NBD connections.
 */
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatPowerCut } from '../../../cli/ctl-command.js';
import { runCli } from '../../../cli/main.js';
import type { ServeService, ServeStatus } from '../../../host/nbd/serve-service.js';
import { RawClient, request, scratchDirectory, startServe } from './nbd-test-kit.js';

let scratch: { path: string; remove: () => void };
let service: ServeService;
let client: RawClient | null = null;

beforeEach(async () => {
  scratch = scratchDirectory();
  service = await startServe(scratch.path);
});

afterEach(async () => {
  client?.close();
  client = null;
  await service.close();
  scratch.remove();
});

async function ctl(
  args: readonly string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(['ctl', ...args, '--control', join(scratch.path, 'control.sock')], {
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

async function status(): Promise<ServeStatus> {
  const answer = await ctl(['status', '--json']);
  expect(answer.code, answer.stderr).toBe(0);
  return JSON.parse(answer.stdout) as ServeStatus;
}

/** A raw HTTP request to the control socket. */
function http(
  method: string,
  path: string,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      { socketPath: join(scratch.path, 'control.sock'), method, path },
      (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => {
          body += chunk.toString();
        });
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body }),
        );
      },
    );
    outgoing.on('error', reject);
    outgoing.end();
  });
}

async function connected(): Promise<RawClient> {
  client = await RawClient.connect(join(scratch.path, 'nbd.sock'));
  await client.negotiate();
  return client;
}

async function write(at: RawClient, cookie: number, offset: number, fill: number): Promise<number> {
  await at.send(request({ type: 1, cookie, offset, payload: new Uint8Array(4096).fill(fill) }));
  return (await at.reply()).error;
}

async function until(predicate: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error('condition not reached in 10 s');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('GET /status and ctl status', () => {
  it('shows the dmsetup table and status lines, regions in sync, connections and requests in flight', async () => {
    await connected();
    const now = await status();
    expect(now).toMatchObject({
      exportName: 'mirror',
      sizeBytes: 4 * 1024 * 1024,
      clock: 'virtual',
      seed: 1,
      table: '0 8192 mirror core 1 256 2 leg0 0 leg1 0',
      status: '0 8192 mirror 2 leg0 leg1 32/32 1 AA 1 core',
      regions: 32,
      regionsInSync: 32,
      inSync: true,
      suspended: false,
      requestsInFlight: 0,
      connections: 1,
      readViolations: 0,
      powerCuts: [],
    });
    expect(now.uri).toBe(`nbd+unix:///?socket=${join(scratch.path, 'nbd.sock')}`);
    expect(now.traceHash).toMatch(/^[0-9a-f]{16}$/);
    const human = await ctl(['status']);
    expect(human.stdout).toMatch(/^table: {8}0 8192 mirror core 1 256 2 leg0 0 leg1 0$/m);
    expect(human.stdout).toMatch(/^regions: {6}32 of 32 in sync; live$/m);
  });
});

describe('GET /metrics (Prometheus text)', () => {
  it("counts requests, bytes and simulated latencies by command, and each device's writes", async () => {
    const at = await connected();
    for (let index = 0; index < 5; index++)
      expect(await write(at, index + 1, index * 4096, 9)).toBe(0);
    await at.send(request({ type: 3, cookie: 50 }));
    expect((await at.reply()).error).toBe(0);
    await at.send(request({ type: 0, cookie: 51, offset: 0, length: 4096, flags: 0x20 }));
    expect((await at.reply()).error).toBe(22);
    const answer = await http('GET', '/metrics');
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const sample = (line: string) => {
      const found = answer.body.split('\n').find((each) => each.startsWith(`${line} `));
      return found === undefined ? undefined : Number(found.slice(line.length + 1));
    };
    expect(answer.body).toMatch(/^# TYPE mirrorsim_nbd_requests_total counter$/m);
    expect(sample('mirrorsim_nbd_requests_total{command="WRITE"}')).toBe(5);
    expect(sample('mirrorsim_nbd_requests_total{command="FLUSH"}')).toBe(1);
    expect(sample('mirrorsim_nbd_request_errors_total{command="READ"}')).toBe(1);
    expect(sample('mirrorsim_nbd_bytes_total{direction="write"}')).toBe(5 * 4096);
    expect(sample('mirrorsim_nbd_request_latency_seconds_count{command="WRITE"}')).toBe(5);
    expect(sample('mirrorsim_nbd_request_latency_seconds_bucket{command="WRITE",le="+Inf"}')).toBe(
      5,
    );
    // The legs' write latency is at least 50 µs (RUN_LEG_LATENCY), so no write lands in the 25 µs bucket.
    expect(
      sample('mirrorsim_nbd_request_latency_seconds_bucket{command="WRITE",le="0.000025"}'),
    ).toBe(0);
    expect(
      sample('mirrorsim_device_writes_total{device="leg0",role="leg"}'),
    ).toBeGreaterThanOrEqual(5);
    expect(
      sample('mirrorsim_device_flushes_total{device="leg1",role="leg"}'),
    ).toBeGreaterThanOrEqual(1);
    expect(sample('mirrorsim_mirror_regions_in_sync')).toBe(32);
    expect(sample('mirrorsim_nbd_connections')).toBe(1);
    const metrics = await ctl(['metrics']);
    expect(metrics.stdout).toMatch(/^mirrorsim_power_cuts_total 0$/m);
  });
});

describe('fail, restore, suspend and resume', () => {
  it('a failed leg misses writes (its regions go out of sync); restore heals it, reloads the table and resyncs', async () => {
    const at = await connected();
    const failed = await ctl(['fail', 'leg1', '--json']);
    expect(failed.code, failed.stderr).toBe(0);
    expect((JSON.parse(failed.stdout) as ServeStatus).devices).toContainEqual(
      expect.objectContaining({ name: 'leg1', faulty: true }),
    );
    // No handle_errors: the write is reported done though leg1 missed it, and its region goes out of sync (§4.4).
    expect(await write(at, 1, 0, 0x31)).toBe(0);
    await until(
      async () => (await status()).status === '0 8192 mirror 2 leg0 leg1 31/32 1 AD 1 core',
    );
    const restored = await ctl(['restore', 'leg1', '--json']);
    expect(restored.code, restored.stderr).toBe(0);
    await until(async () => (await status()).regionsInSync === 32);
    const after = await status();
    expect(after.status).toBe('0 8192 mirror 2 leg0 leg1 32/32 1 AA 1 core');
    expect(after.devices).toContainEqual(expect.objectContaining({ name: 'leg1', faulty: false }));
    await at.send(request({ type: 0, cookie: 2, offset: 0, length: 4096 }));
    const read = await at.reply((cookie) => (cookie === 2 ? 4096 : 0));
    expect(read.payload.subarray(8).every((byte) => byte === 0x31)).toBe(true);
  });

  it('a failed log device is reported D and the writes go on; restore brings the disk log back', async () => {
    await service.close();
    service = await startServe(scratch.path, {
      table: '0 8192 mirror disk 2 log0 256 2 leg0 0 leg1 0',
    });
    const at = await connected();
    expect((await ctl(['fail', 'log0'])).code).toBe(0);
    // The log flush before the write fails: log_failure, and without handle_errors the write still goes to the legs.
    expect(await write(at, 1, 4096, 0x44)).toBe(0);
    await until(async () => (await status()).status.endsWith('3 disk log0 D'));
    expect((await ctl(['restore', 'log0'])).code).toBe(0);
    await until(
      async () => (await status()).status === '0 8192 mirror 2 leg0 leg1 32/32 1 AA 3 disk log0 A',
    );
    await at.send(request({ type: 0, cookie: 2, offset: 4096, length: 4096 }));
    const read = await at.reply((cookie) => (cookie === 2 ? 4096 : 0));
    expect(read.payload.subarray(8).every((byte) => byte === 0x44)).toBe(true);
  });

  it('suspend holds new requests in flight until resume (dmsetup suspend/resume)', async () => {
    const at = await connected();
    expect((await ctl(['suspend'])).code).toBe(0);
    expect(await status()).toMatchObject({
      suspended: true,
      status: '0 8192 mirror 2 leg0 leg1 32/32 1 AA 1 core',
    });
    await at.send(
      request({ type: 1, cookie: 7, offset: 8192, payload: new Uint8Array(4096).fill(1) }),
    );
    await until(async () => (await status()).requestsInFlight === 1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(at.received.length, 'no reply while suspended').toBe(0);
    expect((await ctl(['resume'])).code).toBe(0);
    expect(await at.reply()).toMatchObject({ cookie: 7, error: 0 });
    expect(await status()).toMatchObject({ suspended: false, requestsInFlight: 0 });
  });
});

describe('bad control requests', () => {
  it('answer 404, 405 or 400 with a message, and the server goes on', async () => {
    const missing = await http('GET', '/nope');
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body).error).toMatch(
      /^No control path "\/nope": expected one of \/status, \/metrics/,
    );
    const wrongMethod = await http('POST', '/status');
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.allow).toBe('GET');
    const noDevice = await http('POST', '/fail');
    expect(noDevice.status).toBe(400);
    expect(JSON.parse(noDevice.body).error).toBe(
      'This action needs ?device=NAME (a leg or the log device)',
    );
    const unknown = await http('POST', '/fail?device=leg9');
    expect(JSON.parse(unknown.body).error).toBe(
      'No device "leg9" in the served stack: expected one of leg0, leg1',
    );
    const badState = await http('POST', '/power-cut?crash-state=melt');
    expect(badState.status).toBe(400);
    expect(JSON.parse(badState.body).error).toBe(
      'Invalid crash state "melt": expected one of none, all, random, prefix, torn',
    );
    expect((await http('GET', '/status')).status).toBe(200);
  });

  it('ctl refuses bad usage with exit 2 and one line', async () => {
    expect(await ctl(['explode'])).toMatchObject({
      code: 2,
      stderr:
        'mirrorsim: Unknown ctl action "explode": expected one of status, metrics, fail, restore, suspend, resume, power-cut\n',
    });
    expect(await ctl(['fail'])).toMatchObject({
      code: 2,
      stderr: 'mirrorsim: ctl fail needs a DEVICE\n',
    });
    expect(await ctl(['status', 'leg0'])).toMatchObject({
      code: 2,
      stderr: 'mirrorsim: ctl status takes no DEVICE\n',
    });
    expect((await ctl(['fail', 'leg7'])).stderr).toBe(
      'mirrorsim: ctl fail: No device "leg7" in the served stack: expected one of leg0, leg1\n',
    );
    let stderr = '';
    const code = await runCli(['ctl', 'status', '--control', join(scratch.path, 'absent.sock')], {
      stdout: () => {},
      stderr: (text) => {
        stderr += text;
      },
      wallClockMs: () => 0,
    });
    expect(code).toBe(2);
    expect(stderr).toMatch(
      /^mirrorsim: Cannot reach the control socket ".*absent\.sock": connect ENOENT/,
    );
  });

  it('a second power cut while one is pending is refused', async () => {
    const first = service.powerCut('none');
    await expect(async () => service.powerCut('none')).rejects.toThrow(
      'A power cut is already pending: wait for its report',
    );
    expect((await first).oracle).toBe('ok');
  });
});

describe('formatPowerCut', () => {
  it('prints a failed verification with its violations and the replay line', () => {
    const report = {
      number: 2,
      crashState: 'torn',
      crashStateId: 'abc',
      atTicks: 10,
      atEvent: 99,
      requestsLost: 3,
      regions: 8,
      dirtyRegionsAtCrash: 2,
      regionsResynced: 2,
      resyncedRegionList: [1, 5],
      bytesResynced: 2 * 131072,
      recoveryTicks: 1500,
      recovered: true,
      sectorsChecked: 40,
      legsIdentical: true,
      overlapRegions: 1,
      oracle: 'violated' as const,
      expected: null,
      violationCount: 1,
      violations: ['sector 7: read zero, expected one of write 3'],
      statusInfo: '2 leg0 leg1 8/8 1 AA 1 core',
      statusTable: 'core 1 256 2 leg0 0 leg1 0',
      replay: null,
    };
    expect(formatPowerCut(report)).toBe(
      [
        'power cut 2: crash state torn (abc) at event 99, 3 requests in flight lost',
        'dirty at crash:  2 of 8 regions out of sync in the log',
        'resynced:        2 of 8 regions (256 KiB) in 1.5 ms simulated',
        'checked:         40 sectors; legs identical (1 regions exempt: concurrent overlapping writes)',
        'status after:    2 leg0 leg1 8/8 1 AA 1 core',
        'verification:    FAILED (1 violations)',
        '  - sector 7: read zero, expected one of write 3',
        'replay:          serve with --record FILE to capture the requests as a reproducible run',
        '',
      ].join('\n'),
    );
    const allowed = formatPowerCut({
      ...report,
      oracle: 'ok',
      expected: '§2.5 §5.5: a nosync table ignores the on-disk state',
    });
    expect(allowed.split('\n').slice(5, 8)).toEqual([
      'verification:    passed with differences Linux itself allows after a crash:',
      '                 §2.5 §5.5: a nosync table ignores the on-disk state',
      '  - sector 7: read zero, expected one of write 3',
    ]);
  });
});
