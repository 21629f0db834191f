import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileBlockDevice } from '../../host/file-block-device.js';
import { MemoryBlockDevice } from '../../host/memory-block-device.js';
import type { BlockDevice } from '../../src/block/block-device.js';

const directories: string[] = [];
afterEach(() => {
  for (const directory of directories.splice(0))
    rmSync(directory, { recursive: true, force: true });
});

function scratch(): string {
  const directory = mkdtempSync(join(tmpdir(), 'mirrorsim-file-device-'));
  directories.push(directory);
  return directory;
}

function call<T>(start: (done: (value: T) => void) => void): Promise<T> {
  return new Promise((resolve) => start(resolve));
}

async function roundTrip(device: BlockDevice): Promise<void> {
  const data = new Uint8Array(1024).fill(0xab);
  let synchronous = true;
  const written = call<unknown>((done) => device.write({ sector: 2, data }, done));
  synchronous = false;
  expect(await written).toBeNull();
  expect(synchronous).toBe(false);
  const [error, read] = await call<[unknown, Uint8Array | null]>((done) =>
    device.read({ sector: 1, sectorCount: 4 }, (e, d) => done([e, d])),
  );
  expect(error).toBeNull();
  expect([...read!.subarray(0, 512)].every((byte) => byte === 0)).toBe(true);
  expect([...read!.subarray(512, 1536)].every((byte) => byte === 0xab)).toBe(true);
}

describe('FileBlockDevice (the real daemon’s log device)', () => {
  it('creates the file at the size asked, mode 0600, and reads back what was written', async () => {
    const path = join(scratch(), 'log0.img');
    const device = FileBlockDevice.open({ name: 'log0', path, sizeSectors: 18 });
    expect(statSync(path).size).toBe(18 * 512);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    await roundTrip(device);
    device.close();
  });

  it('flush and FUA writes fsync; the bytes are in the file, and a reopened device sees them', async () => {
    const path = join(scratch(), 'log0.img');
    const device = FileBlockDevice.open({ name: 'log0', path, sizeSectors: 8 });
    await call((done) =>
      device.write({ sector: 0, data: new Uint8Array(512).fill(7), fua: true }, done),
    );
    await call((done) => device.flush(done));
    expect(device.stats.syncs).toBe(2);
    device.close();
    expect(readFileSync(path)[511]).toBe(7);
    const again = FileBlockDevice.open({ name: 'log0', path, sizeSectors: 4 });
    expect(again.sizeSectors).toBe(8);
    const [, data] = await call<[unknown, Uint8Array | null]>((done) =>
      again.read({ sector: 0, sectorCount: 1 }, (e, d) => done([e, d])),
    );
    expect(data![0]).toBe(7);
    again.close();
  });

  it('an existing shorter file is extended with zeros; requests outside the device are refused', () => {
    const path = join(scratch(), 'short.img');
    writeFileSync(path, new Uint8Array(512).fill(1));
    const device = FileBlockDevice.open({ name: 'short', path, sizeSectors: 4 });
    expect(statSync(path).size).toBe(2048);
    expect(() => device.read({ sector: 4, sectorCount: 1 }, () => {})).toThrow(RangeError);
    device.close();
    expect(() => device.flush(() => {})).not.toThrow();
  });

  it('a closed device completes its requests with EIO', async () => {
    const device = FileBlockDevice.open({
      name: 'x',
      path: join(scratch(), 'x.img'),
      sizeSectors: 1,
    });
    device.close();
    const error = await call<unknown>((done) => device.flush(done));
    expect(String(error)).toMatch(/EIO: flush on device "x"/);
  });
});

describe('MemoryBlockDevice (the daemon without --state-dir)', () => {
  it('reads back what was written, sparsely, completing later', async () => {
    await roundTrip(new MemoryBlockDevice('mem', 64));
  });
});
