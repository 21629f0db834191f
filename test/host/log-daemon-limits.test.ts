/**
 * The log daemon and its client under the conditions that once broke
 * them: a client that never reads its replies (the daemon grew past 1 GiB
 * in 20 s), a daemon killed and never restarted (`run --log-daemon` waited
 * forever), and a state directory that cannot take a log file.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CONNECTION_QUEUED_REQUESTS_MAX,
  CONNECTION_WRITE_BUFFER_BYTES_MAX,
  UlogDaemonServer,
} from '../../host/ulog-daemon-server.js';
import { LogDaemonUnreachableError, UlogSocketChannel } from '../../host/ulog-socket-channel.js';
import { EINVAL } from '../../src/errno.js';
import '../../src/log/builtin-logs.js';
import {
  encodeUlogCtrRequest,
  encodeUlogRequest,
  encodeUlogU64,
  ULOG_HEADER_BYTES,
  UlogRequestType,
} from '../../src/log/userspace/index.js';
import { useTempDirectories } from '../temp-directory-kit.js';
import {
  exited,
  killHard,
  rawClient,
  requestRecord,
  spawnCli,
  startDaemon,
} from './daemon-process-kit.js';

const tempDirectory = useTempDirectories();
const servers: UlogDaemonServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

async function serverIn(directory: string, stateDir: string | null): Promise<UlogDaemonServer> {
  const server = await UlogDaemonServer.start({ socketPath: join(directory, 'd.sock'), stateDir });
  servers.push(server);
  return server;
}

/** Resolves once `done()` holds, checking every 10 ms. */
function until(done: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      if (done()) {
        clearInterval(timer);
        resolve();
      }
    }, 10);
  });
}

describe('the log daemon bounds what it holds for a client', () => {
  it('a client that never reads its replies is paused, not buffered without end; when it reads, every reply comes', async () => {
    const server = await serverIn(tempDirectory('bp'), null);
    const client = await rawClient(server.socketPath);
    client.socket.pause();
    // IS_CLEAN for a log nobody created: each is answered at once with an error, 160 bytes.
    const requests = 20_000;
    const batch = Buffer.concat(
      Array.from({ length: requests }, (_, index) =>
        encodeUlogRequest(
          requestRecord(UlogRequestType.IS_CLEAN, { seq: index + 1, data: encodeUlogU64(0) }),
        ),
      ),
    );
    client.socket.write(batch);
    await until(() => server.stats.backpressurePauses > 0);
    // Give the daemon time to take whatever it would take if it did not stop.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const held = server.stats.connectionBufferedBytesPeak;
    // The bounds, plus one 64 KiB socket read decoded before the pause takes effect.
    const bound =
      CONNECTION_WRITE_BUFFER_BYTES_MAX +
      CONNECTION_QUEUED_REQUESTS_MAX * ULOG_HEADER_BYTES +
      64 * 1024 +
      ULOG_HEADER_BYTES;
    expect(held).toBeLessThanOrEqual(bound);
    expect(server.stats.requests).toBeLessThan(requests);
    client.socket.resume();
    await client.waitFor(requests * ULOG_HEADER_BYTES);
    expect(client.received().length).toBe(requests * ULOG_HEADER_BYTES);
    expect(server.stats.requests).toBe(requests);
    client.socket.destroy();
  });

  it('a log file the state directory cannot take fails that CTR with -EINVAL; the daemon serves on', async () => {
    const directory = tempDirectory('st');
    const stateDir = join(directory, 'state');
    mkdirSync(join(stateDir, 'blocked.img'), { recursive: true });
    const server = await serverIn(directory, stateDir);
    const client = await rawClient(server.socketPath);
    const ctr = (seq: number, device: string) =>
      encodeUlogRequest(
        requestRecord(UlogRequestType.CTR, {
          seq,
          luid: BigInt(seq),
          uuid: `state-${device}`,
          data: encodeUlogCtrRequest(`8192 disk ${device} 512`),
        }),
      );
    client.socket.write(ctr(1, 'blocked'));
    client.socket.write(ctr(2, 'fine'));
    await client.waitFor(2 * ULOG_HEADER_BYTES);
    const replies = client.received();
    expect(replies.readUInt32LE(148)).toBe(1);
    expect(replies.readInt32LE(144)).toBe(EINVAL);
    const second = replies.subarray(ULOG_HEADER_BYTES + replies.readUInt32LE(156));
    expect(second.readUInt32LE(148)).toBe(2);
    expect(second.readInt32LE(144)).toBe(0);
    client.socket.destroy();
  });
});

describe('a daemon that is gone for good', () => {
  it('the client gives up after giveUpAfterMs of silence with a LogDaemonUnreachableError', async () => {
    const directory = tempDirectory('gu');
    const channel = new UlogSocketChannel({
      socketPath: join(directory, 'nobody.sock'),
      noListenerPauseMs: 20,
      giveUpAfterMs: 300,
    });
    try {
      const record = encodeUlogRequest(requestRecord(UlogRequestType.FLUSH, { seq: 1 }));
      let error: unknown = null;
      for (let attempt = 0; attempt < 200 && error === null; attempt++) {
        try {
          expect(channel.roundTripNow(record).kind).toBe('no-listener');
        } catch (thrown) {
          error = thrown;
        }
      }
      expect(error).toBeInstanceOf(LogDaemonUnreachableError);
      expect((error as Error).message).toMatch(
        /^The log daemon on ".*nobody\.sock" has not answered for \d+ s: nobody listens on it \(was the daemon killed\?\); gave up \(the kernel would retry forever, userspace §2\.7\)/,
      );
    } finally {
      await channel.close();
    }
  });

  it('mirrorsim run --log-daemon ends with one line and exit 2 when the daemon is killed and not restarted', async () => {
    const directory = tempDirectory('gone');
    const socketPath = join(directory, 'd.sock');
    const daemon = await startDaemon(socketPath, null);
    const run = spawnCli([
      'run',
      '--log',
      'userspace',
      '--log-daemon',
      socketPath,
      '--log-daemon-timeout',
      '2',
      '--ops',
      '2000000',
      '--size',
      '8MiB',
      '--region-size',
      '256',
    ]);
    let stdout = '';
    let stderr = '';
    run.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    run.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    // Killed once the run has registered its log (the daemon logs it) and run for a moment.
    await until(() => daemon.output().includes('opened log device') || run.exitCode !== null);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(run.exitCode, 'the run is still going when the daemon is killed').toBeNull();
    await killHard(daemon);
    const code = await exited(run);
    const result = { status: code, stdout, stderr };
    expect(result.status, result.stderr).toBe(2);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^mirrorsim: The log daemon on ".*d\.sock" has not answered for [23] s: (nobody listens on it|requests go unanswered).*raise --log-daemon-timeout$/,
    );
  });
});
