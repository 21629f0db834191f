/**
 * `mirrorsim serve` as a command: a real process that a real client uses
 * and SIGTERM stops (sockets removed, record closed, exit 0); bad usage
 * exits 2 with one line (CLI.md); TCP on loopback; and the two clocks —
 * `virtual` deterministic for a given request sequence, `real` holding
 * each reply until its simulated latency has passed in wall time.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../../cli/main.js';
import type { ServeService } from '../../../host/nbd/serve-service.js';
import { PROJECT_ROOT } from '../daemon-process-kit.js';
import { RawClient, request, scratchDirectory, startServe } from './nbd-test-kit.js';
import { installed, killClients, runClient } from './real-client-kit.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  killClients();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function scratch(): string {
  const directory = scratchDirectory();
  cleanups.push(directory.remove);
  return directory.path;
}

async function serve(
  directory: string,
  overrides: Parameters<typeof startServe>[1] = {},
): Promise<ServeService> {
  const service = await startServe(directory, overrides);
  cleanups.push(() => service.close());
  return service;
}

async function cli(
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

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

describe('mirrorsim serve, the process', () => {
  it('serves a client, records, and stops on SIGTERM with exit 0, removing its sockets', async () => {
    const directory = scratch();
    const socket = join(directory, 'nbd.sock');
    const control = join(directory, 'control.sock');
    const record = join(directory, 'served.iolog');
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'cli/main.ts',
        'serve',
        '--socket',
        socket,
        '--control',
        control,
        '--log',
        'disk',
        '--size',
        '4MiB',
        '--region-size',
        '256',
        '--record',
        record,
        '--verbose',
      ],
      { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    cleanups.push(() => {
      child.kill('SIGKILL');
    });
    let output = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const deadline = Date.now() + 30_000;
    while (!output.includes('listening on')) {
      if (Date.now() > deadline || child.exitCode !== null)
        throw new Error(`serve did not start: ${output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(output).toMatch(
      new RegExp(
        `^mirrorsim serve: listening on nbd\\+unix:///\\?socket=${socket.replace(/[.]/g, '\\.')} \\(export "mirror", 0 8192 mirror disk 2 log0 256 2 leg0 0 leg1 0, clock virtual, seed 1, control on `,
        'm',
      ),
    );
    const client = await RawClient.connect(socket);
    await client.negotiate();
    await client.send(
      request({ type: 1, flags: 1, cookie: 3, offset: 0, payload: new Uint8Array(512).fill(5) }),
    );
    expect((await client.reply()).error).toBe(0);
    client.close();
    const status = await cli(['ctl', 'status', '--control', control]);
    expect(status.stdout).toMatch(
      /^status: {7}0 8192 mirror 2 leg0 leg1 32\/32 1 AA 3 disk log0 A$/m,
    );
    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
    expect(output).toMatch(/^mirrorsim serve: stopped; 1 writes, 0 power cuts, oracle ok$/m);
    expect(existsSync(socket) || existsSync(control)).toBe(false);
    expect(readFileSync(record, 'utf8').trimEnd().split('\n').slice(-2)).toEqual([
      expect.stringMatching(/^\d+ mirror write 0 512$/),
      expect.stringMatching(/^\d+ mirror close$/),
    ]);
  });

  it('refuses bad usage with exit 2 and one line', async () => {
    const directory = scratch();
    expect(await cli(['serve'])).toMatchObject({
      code: 2,
      stderr: 'mirrorsim: serve needs exactly one of --socket PATH or --port N\n',
    });
    expect(await cli(['serve', '--socket', 'a', '--port', '1'])).toMatchObject({ code: 2 });
    expect((await cli(['serve', '--port', '70000'])).stderr).toBe(
      'mirrorsim: Invalid --port "70000": expected 0 to 65535\n',
    );
    const badTable = await cli([
      'serve',
      '--socket',
      join(directory, 's'),
      '--table',
      '0 100 mirror core 1 64 1 leg0 0',
    ]);
    expect(badTable.code).toBe(2);
    expect(badTable.stderr.split('\n')).toHaveLength(2);
    expect(
      (await cli(['serve', '--socket', join(directory, 's'), '--clock', 'warp'])).stderr,
    ).toMatch(/^mirrorsim: option '--clock <clock>' argument 'warp' is invalid/);
    expect(existsSync(join(directory, 's'))).toBe(false);
  });
});

describe('TCP on loopback', () => {
  it.skipIf(!installed('nbdinfo'))(
    'listens on 127.0.0.1 with --port 0 and serves nbdinfo',
    async () => {
      const service = await serve(scratch(), {
        listen: { kind: 'tcp', host: '127.0.0.1', port: 0 },
      });
      expect(service.uri).toBe(`nbd://127.0.0.1:${service.nbd.port}/`);
      expect(service.nbd.port).toBeGreaterThan(0);
      const info = await runClient('nbdinfo', ['--size', service.uri]);
      expect(info.stdout.trim()).toBe(String(4 * 1024 * 1024));
    },
  );
});

/** One fixed request sequence, each request waiting for the previous reply. */
async function scriptedSession(socket: string): Promise<void> {
  const client = await RawClient.connect(socket);
  try {
    await client.negotiate();
    for (let index = 0; index < 40; index++) {
      const offset = ((index * 7) % 64) * 4096;
      await client.send(
        request({
          type: 1,
          flags: index % 5 === 0 ? 1 : 0,
          cookie: index,
          offset,
          payload: new Uint8Array(4096).fill(index),
        }),
      );
      expect((await client.reply()).error).toBe(0);
      if (index % 8 === 7) {
        await client.send(request({ type: 3, cookie: 1000 + index }));
        expect((await client.reply()).error).toBe(0);
      }
    }
  } finally {
    client.close();
  }
}

describe('clocks', () => {
  it('virtual: the same request sequence gives the same simulated time and trace hash; another seed does not', async () => {
    const outcomes: string[] = [];
    for (const seed of [3, 3, 4]) {
      const directory = scratch();
      const service = await serve(directory, { seed });
      await scriptedSession(join(directory, 'nbd.sock'));
      const status = service.status();
      outcomes.push(`${status.traceHash} ${status.simulatedSeconds} ${status.events}`);
    }
    expect(outcomes[1]).toBe(outcomes[0]);
    expect(outcomes[2]).not.toBe(outcomes[0]);
  });

  it('real: a reply waits until its simulated latency has passed in wall time', async () => {
    const directory = scratch();
    const writeTicks = 30_000;
    const service = await serve(directory, {
      clock: 'real',
      legLatency: {
        write: { kind: 'fixed', ticks: writeTicks },
        flush: { kind: 'fixed', ticks: 1000 },
      },
    });
    const client = await RawClient.connect(join(directory, 'nbd.sock'));
    cleanups.push(() => client.close());
    await client.negotiate();
    const started = performance.now();
    await client.send(
      request({ type: 1, cookie: 1, offset: 0, payload: new Uint8Array(4096).fill(1) }),
    );
    expect((await client.reply()).error).toBe(0);
    const wallMs = performance.now() - started;
    expect(wallMs, 'the 30 ms leg write is waited out').toBeGreaterThanOrEqual(
      writeTicks / 1000 - 1,
    );
    const metrics = service.metricsText();
    const sum = Number(
      /^mirrorsim_nbd_request_latency_seconds_sum\{command="WRITE"\} (\S+)$/m.exec(metrics)![1],
    );
    expect(sum).toBeGreaterThanOrEqual(writeTicks / 1e6);
    expect(wallMs / 1000).toBeGreaterThanOrEqual(sum - 0.002);
  });
});
