import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  foldIologEntry,
  type IologEntry,
  IologError,
  IologWorkload,
  loadIolog,
  parseIolog,
} from '../../sim/workload/fio-iolog.js';
import { drain } from './workload-helpers.js';

const V2 = `fio version 2 iolog
/dev/sdb add
/dev/sdb open
/dev/sdb write 0 4096
/dev/sdb read 4096 4096
/dev/sdb wait 1000 0
/dev/sdb sync 4096 0
/dev/sdb datasync 4096 0
/dev/sdb trim 8192 8192
/dev/sdb close
`;

const V3 = `fio version 3 iolog
27 data.bin add
148 data.bin open
151 data.bin write 0 4096
182 data.bin read 65536 512
189 data.bin sync 65536 0
195 data.bin sync_file_range 0 0
199 data.bin trim 1048576 16384
250 data.bin close
`;

/** The error message `parseIolog(text, 't.iolog')` throws, or a failure if it does not throw. */
function parseError(text: string): IologError {
  try {
    parseIolog(text, 't.iolog');
  } catch (error) {
    expect(error).toBeInstanceOf(IologError);
    expect(error).toBeInstanceOf(SyntaxError);
    return error as IologError;
  }
  throw new Error(`parseIolog accepted ${JSON.stringify(text)}`);
}

function v3(...lines: string[]): string {
  return ['fio version 3 iolog', '1 f add', '2 f open', ...lines].join('\n');
}

function v2(...lines: string[]): string {
  return ['fio version 2 iolog', 'f add', 'f open', ...lines].join('\n');
}

function entry(action: IologEntry['action'], offsetBytes: bigint, lengthBytes: number): IologEntry {
  return {
    line: 1,
    timestampMicroseconds: undefined,
    fileName: 'f',
    action,
    offsetBytes,
    lengthBytes,
  };
}

describe('parseIolog', () => {
  it('parses a version 2 trace: every action, offsets and lengths in bytes, no timestamps', () => {
    const trace = parseIolog(V2, 'v2.iolog');
    expect(trace.version).toBe(2);
    expect(trace.files).toEqual(['/dev/sdb']);
    expect(
      trace.entries.map((e) => [
        e.line,
        e.action,
        e.offsetBytes,
        e.lengthBytes,
        e.timestampMicroseconds,
      ]),
    ).toEqual([
      [4, 'write', 0n, 4096, undefined],
      [5, 'read', 4096n, 4096, undefined],
      [6, 'wait', 1000n, 0, undefined],
      [7, 'sync', 4096n, 0, undefined],
      [8, 'datasync', 4096n, 0, undefined],
      [9, 'trim', 8192n, 8192, undefined],
    ]);
  });

  it('parses a version 3 trace with its microsecond timestamps', () => {
    const trace = parseIolog(V3, 'v3.iolog');
    expect(trace.version).toBe(3);
    expect(trace.files).toEqual(['data.bin']);
    expect(trace.entries.map((e) => [e.timestampMicroseconds, e.action, e.offsetBytes])).toEqual([
      [151, 'write', 0n],
      [182, 'read', 65536n],
      [189, 'sync', 65536n],
      [195, 'sync_file_range', 0n],
      [199, 'trim', 1048576n],
    ]);
  });

  it('accepts CRLF line ends, blank lines and extra spaces', () => {
    const text = 'fio version 3 iolog\r\n1 f add\r\n\r\n2  f   open \r\n3 f write 0 512\r\n';
    expect(parseIolog(text, 't').entries).toHaveLength(1);
  });

  it('keeps offsets up to 2^64 - 1 exactly', () => {
    const trace = parseIolog(v3('3 f write 18446744073709551615 512'), 't');
    expect(trace.entries[0]!.offsetBytes).toBe(2n ** 64n - 1n);
  });

  it('allows a file to be closed and opened again, as fio does between passes', () => {
    const trace = parseIolog(
      v3('3 f write 0 512', '4 f close', '5 f open', '6 f write 0 512'),
      't',
    );
    expect(trace.entries.map((e) => e.line)).toEqual([4, 7]);
  });
});

describe('parseIolog errors name FILE:LINE, the text and what was expected', () => {
  const cases: [string, string, RegExp][] = [
    [
      'an empty file',
      '',
      /^t\.iolog:1: the trace is empty: expected the header "fio version 2 iolog"/,
    ],
    ['a file of blank lines', '\n  \n', /^t\.iolog:1: the trace is empty/],
    [
      'an unknown header version',
      'fio version 4 iolog\n',
      /^t\.iolog:1: unsupported iolog version "4" in "fio version 4 iolog": expected version 2 or 3/,
    ],
    [
      'a version 1 trace (no header)',
      '1, 0, 4096\n',
      /^t\.iolog:1: no fio iolog header in "1, 0, 4096": expected "fio version 2 iolog" or "fio version 3 iolog"/,
    ],
    [
      'a non-numeric offset',
      v3('3 f write 0x10 4096'),
      /^t\.iolog:4: bad offset "0x10" in "3 f write 0x10 4096": expected a whole number of bytes/,
    ],
    ['a negative offset', v3('3 f write -512 4096'), /^t\.iolog:4: bad offset "-512"/],
    ['an offset past 2^64', v3('3 f write 18446744073709551616 4096'), /^t\.iolog:4: bad offset/],
    [
      'a non-numeric length',
      v3('3 f write 0 4k'),
      /^t\.iolog:4: bad length "4k" in "3 f write 0 4k": expected a whole number of bytes from 0 to 4294967295/,
    ],
    ['a length past 2^32', v3('3 f write 0 4294967296'), /^t\.iolog:4: bad length "4294967296"/],
    [
      'a non-numeric timestamp',
      v3('3.5 f write 0 512'),
      /^t\.iolog:4: bad timestamp "3.5" in "3.5 f write 0 512": expected a whole number of microseconds first/,
    ],
    [
      'a version 3 line without its timestamp',
      v3('f write 0 512'),
      /^t\.iolog:4: bad timestamp "f"/,
    ],
    [
      'an unknown action',
      v3('3 f frob 0 512'),
      /^t\.iolog:4: bad action "frob" in "3 f frob 0 512": expected an action: read, write, trim, sync, datasync or sync_file_range$/,
    ],
    [
      'an unknown action in version 2, where wait is allowed',
      v2('f append 0 512'),
      /^t\.iolog:4: bad action "append" .*: expected an action: .* or wait$/,
    ],
    [
      'an unknown file action',
      v3('3 f unlink'),
      /^t\.iolog:4: bad file action "unlink" in "3 f unlink": expected a file action: add, open or close/,
    ],
    [
      'an I/O action without offset and length',
      v2('f write'),
      /^t\.iolog:4: bad file action "write" .*: expected an offset and a length after "write"/,
    ],
    [
      'a file action with offset and length',
      v2('f close 0 0'),
      /^t\.iolog:4: bad action "close" .*: expected no offset or length after "close"/,
    ],
    [
      'a line with 3 fields in version 2',
      v2('f write 0'),
      /^t\.iolog:4: 3 fields in "f write 0": expected "<file> add\|open\|close" or "<file> <action> <offset> <length>"/,
    ],
    [
      'a version 3 line in a version 2 trace',
      v2('12 f write 0 512'),
      /^t\.iolog:4: 5 fields in "12 f write 0 512"/,
    ],
    [
      'a line with too many fields in version 3',
      v3('3 f write 0 512 9'),
      /^t\.iolog:4: 6 fields .*: expected "<time> <file> add\|open\|close" or "<time> <file> <action> <offset> <length>"/,
    ],
    [
      'wait in version 3',
      v3('3 f wait 100 0'),
      /^t\.iolog:4: "wait" in a version 3 trace in "3 f wait 100 0": expected timestamps instead/,
    ],
    [
      'I/O on a file never added',
      v3('3 g write 0 512'),
      /^t\.iolog:4: write on file "g" in "3 g write 0 512": expected an "add" line first/,
    ],
    [
      'I/O on a closed file',
      v3('3 f close', '4 f read 0 512'),
      /^t\.iolog:5: read on file "f", which is not open .*: expected an "open" line first/,
    ],
    [
      'opening a file never added',
      'fio version 2 iolog\ng open\n',
      /^t\.iolog:2: open of file "g" in "g open": expected an "add" line first/,
    ],
    [
      'a write of 0 bytes',
      v3('3 f write 4096 0'),
      /^t\.iolog:4: write of 0 bytes in "3 f write 4096 0": expected a length ≥ 1 byte/,
    ],
    [
      'a second header (fio appends to an existing log)',
      `${v3('3 f write 0 512', '4 f close')}\nfio version 3 iolog\n`,
      /^t\.iolog:6: a second header .*: expected one header only \(fio appends to an existing write_iolog file/,
    ],
  ];

  for (const [what, text, message] of cases) {
    it(`rejects ${what}`, () => {
      const error = parseError(text);
      expect(error.message).toMatch(message);
      expect(error.source).toBe('t.iolog');
      expect(error.line).toBe(Number(/^t\.iolog:(\d+):/.exec(error.message)![1]));
    });
  }

  it('shortens a very long offending line in the message', () => {
    const error = parseError(v3(`3 f write 0 ${'9'.repeat(500)}`));
    expect(error.message.length).toBeLessThan(400);
  });
});

describe('loadIolog', () => {
  it('reads a trace from a file', () => {
    const directory = mkdtempSync(join(tmpdir(), 'mirrorsim-iolog-'));
    try {
      const path = join(directory, 'ok.iolog');
      writeFileSync(path, V3);
      expect(loadIolog(path).entries).toHaveLength(5);
      expect(loadIolog(path).source).toBe(path);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('names an unreadable file and why, with no line', () => {
    const path = join(tmpdir(), 'mirrorsim-no-such-trace.iolog');
    expect(() => loadIolog(path)).toThrow(IologError);
    try {
      loadIolog(path);
    } catch (error) {
      expect((error as IologError).line).toBeUndefined();
      expect((error as Error).message).toMatch(
        /^Cannot read fio iolog ".*mirrorsim-no-such-trace\.iolog": ENOENT.*\(expected a readable fio write_iolog file\)$/,
      );
    }
    expect(() => loadIolog(tmpdir())).toThrow(/Cannot read fio iolog ".*": it is a directory/);
    // A device that never ends is refused before it is read (reading /dev/zero once hung).
    expect(() => loadIolog('/dev/zero')).toThrow(
      /^Cannot read fio iolog "\/dev\/zero": it is not a regular file \(expected a readable fio write_iolog file\)$/,
    );
  });
});

describe('foldIologEntry', () => {
  const device = 1000;

  it('maps write, read and trim to requests of the sectors they cover, and syncs to flushes', () => {
    expect(foldIologEntry(entry('write', 4096n, 4096), device)).toEqual({
      op: 'write',
      sector: 8,
      sectorCount: 8,
      fua: false,
    });
    expect(foldIologEntry(entry('read', 512n, 512), device)).toMatchObject({
      op: 'read',
      sector: 1,
    });
    expect(foldIologEntry(entry('trim', 0n, 8192), device)).toMatchObject({
      op: 'discard',
      sectorCount: 16,
    });
    for (const action of ['sync', 'datasync', 'sync_file_range'] as const) {
      expect(foldIologEntry(entry(action, 4096n, 0), device)).toEqual({
        op: 'flush',
        sector: 0,
        sectorCount: 0,
        fua: false,
      });
    }
    expect(foldIologEntry(entry('wait', 100n, 0), device)).toBeUndefined();
  });

  it('folds offsets past the device modulo its size', () => {
    const offset = BigInt((device * 3 + 17) * 512);
    expect(foldIologEntry(entry('write', offset, 512), device)).toMatchObject({ sector: 17 });
    const huge = 2n ** 64n - 512n;
    const expected = Number((huge / 512n) % BigInt(device));
    expect(foldIologEntry(entry('write', huge, 512), device)).toMatchObject({ sector: expected });
  });

  it('aligns an unaligned offset down and covers every byte the I/O touched', () => {
    // Bytes 1000..1999 touch sectors 1, 2 and 3.
    expect(foldIologEntry(entry('write', 1000n, 1000), device)).toMatchObject({
      sector: 1,
      sectorCount: 3,
    });
    expect(foldIologEntry(entry('read', 0n, 1), device)).toMatchObject({
      sector: 0,
      sectorCount: 1,
    });
  });

  it('moves a request that would cross the end of the device down, keeping its size', () => {
    expect(foldIologEntry(entry('write', BigInt(996 * 512), 4096), device)).toMatchObject({
      sector: 992,
      sectorCount: 8,
    });
  });

  it('caps a request larger than the device at the device', () => {
    expect(foldIologEntry(entry('write', 512n, 1024 * 512), device)).toMatchObject({
      sector: 0,
      sectorCount: device,
    });
  });
});

describe('IologWorkload', () => {
  const trace = parseIolog(V2, 'v2.iolog');

  it('replays the trace in order, skipping waits', () => {
    const requests = drain(new IologWorkload(trace, { deviceSizeSectors: 1 << 20, ops: 5 }));
    expect(requests.map((r) => [r.op, r.sector, r.sectorCount])).toEqual([
      ['write', 0, 8],
      ['read', 8, 8],
      ['flush', 0, 0],
      ['flush', 0, 0],
      ['discard', 16, 16],
    ]);
  });

  it('stops early when ops is below the trace length and cycles when it is above', () => {
    const short = drain(new IologWorkload(trace, { deviceSizeSectors: 1 << 20, ops: 2 }));
    expect(short.map((r) => r.op)).toEqual(['write', 'read']);
    const workload = new IologWorkload(trace, { deviceSizeSectors: 1 << 20, ops: 12 });
    expect(workload.traceLength).toBe(5);
    const long = drain(workload);
    expect(long).toHaveLength(12);
    expect(long.slice(5, 10)).toEqual(long.slice(0, 5));
    expect(long.slice(10)).toEqual(long.slice(0, 2));
    expect(workload.name).toBe('fio:v2.iolog');
  });

  it('rejects a trace with nothing to replay, and bad options', () => {
    const empty = parseIolog(
      'fio version 2 iolog\nf add\nf open\nf wait 10 0\nf close\n',
      'e.iolog',
    );
    expect(() => new IologWorkload(empty, { deviceSizeSectors: 64, ops: 1 })).toThrow(
      /fio trace "e\.iolog" has nothing to replay/,
    );
    expect(drain(new IologWorkload(empty, { deviceSizeSectors: 64, ops: 0 }))).toEqual([]);
    expect(() => new IologWorkload(trace, { deviceSizeSectors: 0, ops: 1 })).toThrow(RangeError);
    expect(() => new IologWorkload(trace, { deviceSizeSectors: 64, ops: -1 })).toThrow(/ops -1/);
  });
});

describe('the committed traces in bench/traces', () => {
  it('fio-randwrite-v3.iolog: 1000 zipf 4 KiB writes and 31 fsyncs, replayed at fio sectors', () => {
    const trace = loadIolog('bench/traces/fio-randwrite-v3.iolog');
    expect(trace.version).toBe(3);
    expect(trace.files).toEqual(['data.bin']);
    const requests = drain(new IologWorkload(trace, { deviceSizeSectors: 131072, ops: 1031 }));
    expect(requests.filter((r) => r.op === 'write')).toHaveLength(1000);
    expect(requests.filter((r) => r.op === 'flush')).toHaveLength(31);
    const writes = trace.entries.filter((e) => e.action === 'write');
    // The 16 MiB file fits a 64 MiB device, so nothing is folded: sector = offset / 512.
    expect(requests.filter((r) => r.op === 'write').map((r) => r.sector)).toEqual(
      writes.map((e) => Number(e.offsetBytes / 512n)),
    );
    const perOffset = new Map<bigint, number>();
    for (const write of writes) {
      perOffset.set(write.offsetBytes, (perOffset.get(write.offsetBytes) ?? 0) + 1);
    }
    const hottest = Math.max(...perOffset.values());
    expect(hottest).toBeGreaterThan(100);
  });

  it('fio-trimwrite-v3.iolog: 300 trims, each followed by a write of the same 16 KiB', () => {
    const trace = loadIolog('bench/traces/fio-trimwrite-v3.iolog');
    const requests = drain(new IologWorkload(trace, { deviceSizeSectors: 131072, ops: 600 }));
    for (let index = 0; index < 600; index += 2) {
      expect(requests[index]).toMatchObject({ op: 'discard', sectorCount: 32 });
      expect(requests[index + 1]).toEqual({ ...requests[index], op: 'write' });
    }
  });
});
