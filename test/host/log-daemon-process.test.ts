/**
 * The userspace log daemon as a real process: `mirrorsim log-daemon` on a
 * Unix socket, its state in a real file, `kill -9` and restart mid-run, and
 * hostile clients.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UlogSocketChannel } from '../../host/ulog-socket-channel.js';
import { EAGAIN, EINVAL } from '../../src/errno.js';
import {
  decodeUlogRequest,
  decodeUlogS64,
  encodeUlogCtrRequest,
  encodeUlogRegionSync,
  encodeUlogRegions,
  encodeUlogRequest,
  encodeUlogU64,
  ULOG_HEADER_BYTES,
  UlogRequestType,
} from '../../src/log/userspace/index.js';
import {
  ask,
  type DaemonProcess,
  exited,
  killHard,
  rawClient,
  requestRecord,
  scratchDirectory,
  spawnCli,
  startDaemon,
} from './daemon-process-kit.js';

const REGIONS = 16;

describe('mirrorsim log-daemon (a real process)', () => {
  const scratch = scratchDirectory();
  const socketPath = join(scratch.path, 'ulogd.sock');
  const stateDir = join(scratch.path, 'state');
  let daemon: DaemonProcess;
  let seq = 1;

  beforeAll(async () => {
    daemon = await startDaemon(socketPath, stateDir);
  });

  afterAll(async () => {
    if (daemon.child.exitCode === null && daemon.child.signalCode === null) {
      daemon.child.kill('SIGTERM');
      expect(await exited(daemon.child)).toBe(0);
      // A clean stop removes the socket.
      expect(existsSync(socketPath)).toBe(false);
    }
    scratch.remove();
  });

  it('creates its socket with mode 0600', () => {
    const stat = statSync(socketPath);
    expect(stat.isSocket()).toBe(true);
    expect(stat.mode & 0o777).toBe(0o600);
  });

  it('keeps a disk-backed log in a file in the disk log format, and kill -9 loses nothing it acknowledged', async () => {
    const channel = new UlogSocketChannel({ socketPath, replyTimeoutMs: 3000 });
    try {
      const ctr = encodeUlogCtrRequest(`8192 disk dlog 512`);
      const send = (type: Parameters<typeof requestRecord>[0], data?: Uint8Array) =>
        ask(channel, requestRecord(type, { seq: seq++, luid: 77n, ...(data ? { data } : {}) }));
      expect(send(UlogRequestType.CTR, ctr).error).toBe(0);
      expect(send(UlogRequestType.RESUME).error).toBe(0);
      // A new log: every region starts out of sync; recover them all, then clear and commit.
      for (let region = 0; region < REGIONS; region++) {
        send(UlogRequestType.GET_RESYNC_WORK);
        send(UlogRequestType.SET_REGION_SYNC, encodeUlogRegionSync({ region, inSync: 1 }));
      }
      send(UlogRequestType.CLEAR_REGION, encodeUlogRegions([...Array(REGIONS).keys()]));
      expect(send(UlogRequestType.FLUSH).error).toBe(0);
      // An integrated FLUSH: marks 3 and 5 are durable when it answers.
      expect(send(UlogRequestType.FLUSH, encodeUlogRegions([3, 5])).error).toBe(0);

      const image = readFileSync(join(stateDir, 'dlog.img'));
      expect(image.readUInt32LE(0)).toBe(0x4d695272);
      expect(image.readUInt32LE(4)).toBe(2);
      expect(image.readBigUInt64LE(8)).toBe(BigInt(REGIONS));
      // Bit r of the bitmap at byte 1024: 1 = clean. Regions 3 and 5 are dirty.
      expect(image.readUInt16LE(1024)).toBe(0xffff & ~(1 << 3) & ~(1 << 5));

      await killHard(daemon);
      daemon = await startDaemon(socketPath, stateDir);
      // The restarted daemon knows nothing: the kernel would reconnect with CTR and RESUME.
      expect(send(UlogRequestType.IS_CLEAN, encodeUlogU64(3)).error).toBe(-3);
      expect(send(UlogRequestType.CTR, ctr).error).toBe(0);
      expect(send(UlogRequestType.RESUME).error).toBe(0);
      const clean = (region: number) =>
        decodeUlogS64(send(UlogRequestType.IS_CLEAN, encodeUlogU64(region)).data);
      expect([clean(3), clean(4), clean(5)]).toEqual([0n, 1n, 0n]);
    } finally {
      await channel.close();
    }
  });

  it('hostile clients get error replies or their connection closed, and the daemon serves others on', async () => {
    const good = new UlogSocketChannel({ socketPath, replyTimeoutMs: 3000 });
    try {
      // Garbage whose data_size reads as huge: the stream cannot be framed, so it is answered and closed.
      const garbage = await rawClient(socketPath);
      garbage.socket.write(Buffer.alloc(ULOG_HEADER_BYTES, 0xff));
      await garbage.waitClosed();
      // Its own header comes back (garbage and all) with the error set, as the kernel matches on seq.
      expect(garbage.received().length).toBe(ULOG_HEADER_BYTES);
      expect(garbage.received().readInt32LE(144)).toBe(EINVAL);
      expect(garbage.received().readUInt32LE(156)).toBe(0);

      // An unknown type and type 0 are answered (-EINVAL, -EAGAIN) on a connection that stays up.
      const picky = await rawClient(socketPath);
      const unknown = encodeUlogRequest(requestRecord(UlogRequestType.FLUSH, { seq: 901 }));
      new DataView(unknown.buffer).setUint32(152, 99, true);
      const zero = encodeUlogRequest(requestRecord(UlogRequestType.FLUSH, { seq: 902 }));
      new DataView(zero.buffer).setUint32(152, 0, true);
      picky.socket.write(unknown);
      picky.socket.write(zero);
      await picky.waitFor(2 * ULOG_HEADER_BYTES);
      expect(picky.received().readUInt32LE(148)).toBe(901);
      expect(picky.received().readInt32LE(144)).toBe(EINVAL);
      const second = new DataView(
        picky.received().buffer,
        picky.received().byteOffset + ULOG_HEADER_BYTES,
      );
      expect(second.getUint32(148, true)).toBe(902);
      expect(second.getInt32(144, true)).toBe(EAGAIN);
      expect(picky.closed()).toBe(false);

      // A truncated record, then the client hangs up: the daemon answers what it can and moves on.
      const truncated = await rawClient(socketPath);
      const whole = encodeUlogRequest(
        requestRecord(UlogRequestType.MARK_REGION, { seq: 903, data: encodeUlogRegions([1, 2]) }),
      );
      truncated.socket.end(whole.subarray(0, whole.length - 5));
      await truncated.waitClosed();
      const cut = decodeUlogRequest(truncated.received(), { direction: 'reply' });
      expect([cut.seq, cut.error]).toEqual([903, EINVAL]);

      // An oversize data_size on a valid-looking header: answered and closed.
      const oversize = await rawClient(socketPath);
      const big = encodeUlogRequest(requestRecord(UlogRequestType.FLUSH, { seq: 904 }));
      new DataView(big.buffer).setUint32(156, 100_000, true);
      oversize.socket.write(big);
      await oversize.waitClosed();
      const answer = decodeUlogRequest(oversize.received(), { direction: 'reply' });
      expect(answer.seq).toBe(904);
      expect(answer.error).toBe(EINVAL);

      // Meanwhile another client is served normally.
      const reply = ask(
        good,
        requestRecord(UlogRequestType.CTR, {
          seq: 905,
          luid: 5n,
          uuid: 'well-behaved',
          data: encodeUlogCtrRequest('8192 core 512'),
        }),
      );
      expect(reply.error).toBe(0);
      expect(picky.closed()).toBe(false);
      picky.socket.destroy();
    } finally {
      await good.close();
    }
  });

  it('mirrorsim run --log-daemon survives the daemon being killed (-9) and restarted mid-run', async () => {
    const table =
      '0 16384 mirror userspace 5 run-kill-uuid integrated_flush disk runlog 512 2 leg0 0 leg1 0';
    const run = spawnCli([
      'run',
      '--table',
      table,
      '--log-daemon',
      socketPath,
      '--ops',
      '4000',
      '--depth',
      '8',
      '--no-write-cache',
      '--crash',
      'random',
      '--seed',
      '3',
      '--json',
    ]);
    let stdout = '';
    let stderr = '';
    run.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    run.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    // Kill the daemon once the run has registered its log and written to it for a moment.
    const logFile = join(stateDir, 'runlog.img');
    await new Promise<void>((resolvePromise) => {
      const timer = setInterval(() => {
        if (existsSync(logFile) || run.exitCode !== null) {
          clearInterval(timer);
          resolvePromise();
        }
      }, 20);
    });
    await new Promise((resolvePromise) => setTimeout(resolvePromise, 400));
    const killedWhileRunning = run.exitCode === null;
    await killHard(daemon);
    await new Promise((resolvePromise) => setTimeout(resolvePromise, 300));
    daemon = await startDaemon(socketPath, stateDir);
    const code = await exited(run);
    expect(killedWhileRunning, 'the daemon was killed while the run was going').toBe(true);
    expect(code, stderr).toBe(0);
    const result = JSON.parse(stdout) as { oracle: string; legsIdentical: boolean };
    expect(result.oracle).toBe('ok');
    expect(result.legsIdentical).toBe(true);
    // The restarted daemon rebuilt the run's log from its file: the kernel's reconnect reached it.
    expect(daemon.output()).toMatch(/opened log device runlog/);
  });
});
