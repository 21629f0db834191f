/**
 * The synchronous Unix-socket client, against small stand-in servers run
 * as child processes (the test thread blocks in `Atomics.wait` during a
 * round trip, so a server in this thread could never answer).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UlogSocketChannel } from '../../host/ulog-socket-channel.js';
import { World } from '../../sim/world.js';
import { ESRCH } from '../../src/errno.js';
import {
  decodeUlogRequest,
  encodeUlogRequest,
  UlogRequestType,
} from '../../src/log/userspace/index.js';
import { requestRecord, scratchDirectory } from './daemon-process-kit.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/**
 * A stand-in server: for each record received it sends, in order, a copy
 * with seq − 1 (a late reply to an older request) when `late`, then the
 * record itself as the reply; or it closes the connection when `hangUp`.
 */
async function standIn(path: string, behaviour: 'late' | 'hangUp'): Promise<ChildProcess> {
  const source = `
    const net = require('node:net');
    const server = net.createServer((socket) => {
      socket.on('data', (chunk) => {
        if (${JSON.stringify(behaviour)} === 'hangUp') { socket.destroy(); return; }
        const late = Buffer.from(chunk);
        late.writeUInt32LE(chunk.readUInt32LE(148) - 1, 148);
        socket.write(late);
        socket.write(chunk);
      });
    });
    server.listen(${JSON.stringify(path)}, () => process.stdout.write('ready\\n'));
  `;
  const child = spawn(process.execPath, ['-e', source], { stdio: ['ignore', 'pipe', 'inherit'] });
  cleanups.push(() => child.kill('SIGKILL'));
  await new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()));
  return child;
}

function channelTo(path: string): UlogSocketChannel {
  const channel = new UlogSocketChannel({
    socketPath: path,
    replyTimeoutMs: 1000,
    noListenerPauseMs: 5,
  });
  cleanups.push(() => void channel.close());
  return channel;
}

describe('UlogSocketChannel (the --log-daemon client)', () => {
  it('§3 nobody listening on the path is -ESRCH, as with no daemon on the connector', () => {
    const scratch = scratchDirectory();
    cleanups.push(scratch.remove);
    const channel = channelTo(join(scratch.path, 'nobody.sock'));
    const record = encodeUlogRequest(requestRecord(UlogRequestType.FLUSH, { seq: 1 }));
    expect(channel.roundTripNow(record)).toEqual({ kind: 'no-listener' });
    expect(channel.send(record)).toBe(ESRCH);
    expect(channel.stats.noListener).toBe(2);
  });

  it('§1.5 a reply to an older seq is dropped; the matching reply is delivered as a scheduler event', async () => {
    const scratch = scratchDirectory();
    cleanups.push(scratch.remove);
    const path = join(scratch.path, 'late.sock');
    await standIn(path, 'late');
    const channel = channelTo(path);
    const world = new World({ seed: 1 });
    const replies: number[] = [];
    channel.attach({
      scheduler: world.scheduler,
      receive: (reply) => replies.push(decodeUlogRequest(reply, { direction: 'reply' }).seq),
    });
    expect(channel.send(encodeUlogRequest(requestRecord(UlogRequestType.FLUSH, { seq: 41 })))).toBe(
      0,
    );
    expect(replies).toEqual([]);
    world.scheduler.runUntilIdle();
    expect(replies).toEqual([41]);
  });

  it('§3 a daemon that hangs up with the request counts it as lost (the kernel resends after 15 s)', async () => {
    const scratch = scratchDirectory();
    cleanups.push(scratch.remove);
    const path = join(scratch.path, 'hangup.sock');
    await standIn(path, 'hangUp');
    const channel = channelTo(path);
    const record = encodeUlogRequest(requestRecord(UlogRequestType.FLUSH, { seq: 7 }));
    expect(channel.roundTripNow(record)).toEqual({ kind: 'lost' });
    expect(channel.stats.lost).toBe(1);
  });

  it('each simulator process numbers its luids from its own base', () => {
    const channel = channelTo('/nonexistent/x.sock');
    expect(channel.luidBase > 0n).toBe(true);
    expect(channel.luidBase >> 40n).toBe(BigInt(process.pid));
  });
});
