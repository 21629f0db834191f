/** The fio iolog v3 `serve --record` writes, read back by the simulator's own parser. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { IologRecorder } from '../../../host/nbd/iolog-recorder.js';
import { IologWorkload, loadIolog } from '../../../sim/workload/fio-iolog.js';
import { invariantMessage } from '../../assert-test-kit.js';
import { scratchDirectory } from './nbd-test-kit.js';

const directories: Array<{ remove: () => void }> = [];
afterEach(() => {
  for (const directory of directories.splice(0)) directory.remove();
});

describe('IologRecorder', () => {
  it('writes a v3 trace with times from the start of recording that the parser replays', () => {
    const directory = scratchDirectory();
    directories.push(directory);
    const path = join(directory.path, 'trace.iolog');
    const recorder = IologRecorder.create(path, 'mirror', 5000);
    recorder.record(5000, 'write', 4096, 4096);
    recorder.record(5250, 'read', 0, 512);
    recorder.record(5300, 'trim', 1 << 20, 65536);
    recorder.record(5400, 'sync', 0, 0);
    expect(recorder.entries).toBe(4);
    recorder.close(6000);
    recorder.close(7000);
    expect(readFileSync(path, 'utf8')).toBe(
      [
        'fio version 3 iolog',
        '0 mirror add',
        '0 mirror open',
        '0 mirror write 4096 4096',
        '250 mirror read 0 512',
        '300 mirror trim 1048576 65536',
        '400 mirror sync 0 0',
        '1000 mirror close',
        '',
      ].join('\n'),
    );
    const trace = loadIolog(path);
    const workload = new IologWorkload(trace, { deviceSizeSectors: 8192, ops: 4 });
    expect([workload.next(), workload.next(), workload.next(), workload.next()]).toEqual([
      { op: 'write', sector: 8, sectorCount: 8, fua: false },
      { op: 'read', sector: 0, sectorCount: 1, fua: false },
      { op: 'discard', sector: 2048, sectorCount: 128, fua: false },
      { op: 'flush', sector: 0, sectorCount: 0, fua: false },
    ]);
    expect(invariantMessage(() => recorder.record(7000, 'read', 0, 512))).toBe(
      'record after close',
    );
  });

  it('refuses a file name with spaces, and a request before the recording began', () => {
    const directory = scratchDirectory();
    directories.push(directory);
    expect(() => IologRecorder.create(join(directory.path, 'x'), 'my disk', 0)).toThrow(
      'Iolog file name "my disk" must be one word without spaces',
    );
    const recorder = IologRecorder.create(join(directory.path, 'y'), 'disk', 100);
    expect(invariantMessage(() => recorder.record(99, 'write', 0, 512))).toBe(
      'a request recorded before the recording began',
    );
    expect(invariantMessage(() => recorder.record(100, 'sync', 512, 0))).toBe(
      'iolog sync of 0 bytes',
    );
    recorder.close(100);
  });
});
