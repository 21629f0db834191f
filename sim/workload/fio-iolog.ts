/**
 * fio's `write_iolog` traces (the format fio's `read_iolog` replays),
 * versions 2 and 3, parsed strictly and replayed as a {@link Workload}.
 *
 * Format (fio's HOWTO, "Trace file format"; checked against fio 3.33):
 * - the first line is `fio version 2 iolog` or `fio version 3 iolog`;
 * - v2 lines are `<file> add|open|close` or `<file> <action> <offset> <length>`;
 * - v3 lines put a timestamp first: `<time> <file> add|open|close` or
 *   `<time> <file> <action> <offset> <length>`. fio writes the time in
 *   microseconds since the log was opened (its reader turns differences into
 *   microsecond delays), although the HOWTO does not give the unit;
 * - actions are `read`, `write`, `trim`, `sync`, `datasync`, and in v2 only
 *   `wait` (offset = microseconds to wait). fio's writer also emits
 *   `sync_file_range` for jobs using that option (its own reader skips the
 *   line); it is accepted here as a flush;
 * - offsets and lengths are bytes; a file must be added before it is opened
 *   or closed, and open while it is used.
 *
 * fio appends to an existing `write_iolog` file, so recording twice into one
 * file yields a second header in the middle; that is rejected with a hint.
 * Timestamps and waits are kept in the parsed trace but not replayed: the
 * driver decides when requests are issued.
 */
import { readFileSync, statSync } from 'node:fs';
import { assert } from '../../src/assert.js';
import { SECTOR_SIZE_BYTES } from '../../src/block/sector.js';
import { checkDeviceSize, checkOps } from './block-space.js';
import type { Workload, WorkloadRequest } from './workload.js';

/** The trace format versions fio still reads. */
export type IologVersion = 2 | 3;

/** An action of an I/O line (not add/open/close). */
export type IologAction =
  | 'read'
  | 'write'
  | 'trim'
  | 'sync'
  | 'datasync'
  | 'sync_file_range'
  | 'wait';

/** One I/O line of a trace. */
export interface IologEntry {
  /** 1-based line number in the trace. */
  readonly line: number;
  /** v3 only: microseconds since fio opened the log. */
  readonly timestampMicroseconds: number | undefined;
  readonly fileName: string;
  readonly action: IologAction;
  /** Bytes into the file (for `wait`: microseconds to wait); fio allows up to 2^64 - 1. */
  readonly offsetBytes: bigint;
  readonly lengthBytes: number;
}

/** A parsed trace: its I/O lines in order, and the files it added. */
export interface IologTrace {
  /** Where the trace came from (a path), as error messages name it. */
  readonly source: string;
  readonly version: IologVersion;
  readonly files: readonly string[];
  readonly entries: readonly IologEntry[];
}

/**
 * A trace that cannot be read or parsed. The message names `FILE:LINE`, the
 * offending text and what was expected; `line` is undefined when the file
 * itself could not be read.
 */
export class IologError extends SyntaxError {
  override name = 'IologError';
  constructor(
    readonly source: string,
    readonly line: number | undefined,
    message: string,
  ) {
    super(message);
  }
}

const HEADERS: Record<IologVersion, string> = {
  2: 'fio version 2 iolog',
  3: 'fio version 3 iolog',
};
const HEADER_PATTERN = /^fio version (\S+) iolog$/;
const FILE_ACTIONS = new Set(['add', 'open', 'close']);
const IO_ACTIONS: ReadonlySet<string> = new Set<IologAction>([
  'read',
  'write',
  'trim',
  'sync',
  'datasync',
  'sync_file_range',
  'wait',
]);
const DIGITS = /^\d+$/;
const OFFSET_BYTES_MAX = 2n ** 64n - 1n;
/** fio reads lengths as `unsigned int`. */
const LENGTH_BYTES_MAX = 2 ** 32 - 1;
/** Longer text is cut in messages, so one bad line cannot flood the terminal. */
const QUOTED_TEXT_MAX = 120;

/**
 * The largest trace file read (1 GiB): a bound, so a device such as
 * `/dev/zero` or a runaway file cannot fill memory.
 */
const IOLOG_FILE_BYTES_MAX = 2 ** 30;

/**
 * Reads and parses the trace at `path`; throws {@link IologError} if it
 * cannot. Only a regular file is read: a device or a pipe could never end.
 */
export function loadIolog(path: string): IologTrace {
  let text: string;
  try {
    const stats = statSync(path);
    if (!stats.isFile()) {
      throw new Error(stats.isDirectory() ? 'it is a directory' : 'it is not a regular file');
    }
    if (stats.size > IOLOG_FILE_BYTES_MAX) {
      throw new Error(`it is ${stats.size} bytes, more than the ${IOLOG_FILE_BYTES_MAX} read`);
    }
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new IologError(
      path,
      undefined,
      `Cannot read fio iolog "${path}": ${reason} (expected a readable fio write_iolog file)`,
    );
  }
  return parseIolog(text, path);
}

/** Parses a whole trace; `source` names it in error messages. */
export function parseIolog(text: string, source: string): IologTrace {
  const lines = text.split(/\r?\n/);
  if (text.trim() === '') {
    throw new IologError(
      source,
      1,
      `${source}:1: the trace is empty: expected the header "${HEADERS[2]}" or "${HEADERS[3]}"`,
    );
  }
  const version = parseHeader(lines[0]!, source);
  const parser = new LineParser(source, version);
  for (let index = 1; index < lines.length; index++) {
    parser.parse(lines[index]!, index + 1);
  }
  return { source, version, files: parser.fileNames(), entries: parser.entries };
}

function parseHeader(rawLine: string, source: string): IologVersion {
  const line = rawLine.trim();
  const match = HEADER_PATTERN.exec(line);
  if (match === null) {
    throw new IologError(
      source,
      1,
      `${source}:1: no fio iolog header in "${quote(line)}": expected "${HEADERS[2]}" or "${HEADERS[3]}" (version 1 logs and binary blktrace files are not supported)`,
    );
  }
  const version = match[1];
  if (version !== '2' && version !== '3') {
    throw new IologError(
      source,
      1,
      `${source}:1: unsupported iolog version "${quote(version ?? '')}" in "${quote(line)}": expected version 2 or 3`,
    );
  }
  return version === '2' ? 2 : 3;
}

type FileState = 'added' | 'open';

/** Parses the lines after the header, tracking which files are added and open. */
class LineParser {
  readonly entries: IologEntry[] = [];
  private readonly files = new Map<string, FileState>();
  private lineNumber = 0;
  private text = '';

  constructor(
    private readonly source: string,
    private readonly version: IologVersion,
  ) {}

  fileNames(): string[] {
    return [...this.files.keys()];
  }

  parse(rawLine: string, lineNumber: number): void {
    this.lineNumber = lineNumber;
    this.text = rawLine.trim();
    if (this.text === '') return;
    if (HEADER_PATTERN.test(this.text)) {
      this.fail(
        'a second header',
        'one header only (fio appends to an existing write_iolog file: record into a new file)',
      );
    }
    const fields = this.text.split(/\s+/);
    const fieldCount = fields.length;
    let timestampMicroseconds: number | undefined;
    if (this.version === 3) {
      timestampMicroseconds = this.parseTimestamp(fields.shift()!);
    }
    const [fileName, action, offsetText, lengthText] = fields;
    if (fields.length === 2 && fileName !== undefined && action !== undefined) {
      this.fileAction(fileName, action);
    } else if (fields.length === 4 && fileName !== undefined && action !== undefined) {
      this.ioAction(timestampMicroseconds, fileName, action, offsetText!, lengthText!);
    } else {
      this.fail(`${fieldCount} fields`, this.lineForms());
    }
  }

  private fileAction(fileName: string, action: string): void {
    if (!FILE_ACTIONS.has(action)) {
      const expected = IO_ACTIONS.has(action)
        ? `an offset and a length after "${action}"`
        : 'a file action: add, open or close';
      this.fail(`bad file action "${quote(action)}"`, expected);
    }
    const state = this.files.get(fileName);
    if (action === 'add') {
      if (state === undefined) this.files.set(fileName, 'added');
      return;
    }
    if (state === undefined) {
      this.fail(`${action} of file "${quote(fileName)}"`, 'an "add" line first');
    }
    this.files.set(fileName, action === 'open' ? 'open' : 'added');
  }

  private ioAction(
    timestampMicroseconds: number | undefined,
    fileName: string,
    actionText: string,
    offsetText: string,
    lengthText: string,
  ): void {
    if (!IO_ACTIONS.has(actionText)) {
      const expected = FILE_ACTIONS.has(actionText)
        ? `no offset or length after "${actionText}"`
        : `an action: read, write, trim, sync, datasync or sync_file_range${this.version === 2 ? ' or wait' : ''}`;
      this.fail(`bad action "${quote(actionText)}"`, expected);
    }
    const action = actionText as IologAction;
    if (action === 'wait' && this.version === 3) {
      this.fail(
        '"wait" in a version 3 trace',
        'timestamps instead (fio ignores wait in version 3)',
      );
    }
    const state = this.files.get(fileName);
    if (state === undefined) {
      this.fail(`${action} on file "${quote(fileName)}"`, 'an "add" line first');
    }
    if (action !== 'wait' && state !== 'open') {
      this.fail(
        `${action} on file "${quote(fileName)}", which is not open`,
        'an "open" line first',
      );
    }
    const offsetBytes = this.parseOffset(offsetText);
    const lengthBytes = this.parseLength(lengthText);
    const needsData = action === 'read' || action === 'write' || action === 'trim';
    if (needsData && lengthBytes === 0) this.fail(`${action} of 0 bytes`, 'a length ≥ 1 byte');
    this.entries.push({
      line: this.lineNumber,
      timestampMicroseconds,
      fileName,
      action,
      offsetBytes,
      lengthBytes,
    });
  }

  private parseTimestamp(text: string): number {
    const value = DIGITS.test(text) ? Number(text) : Number.NaN;
    if (!Number.isSafeInteger(value)) {
      this.fail(
        `bad timestamp "${quote(text)}"`,
        `a whole number of microseconds first (${this.lineForms()})`,
      );
    }
    return value;
  }

  private parseOffset(text: string): bigint {
    const value = DIGITS.test(text) ? BigInt(text) : -1n;
    if (value < 0n || value > OFFSET_BYTES_MAX) {
      this.fail(`bad offset "${quote(text)}"`, 'a whole number of bytes from 0 to 2^64 - 1');
    }
    return value;
  }

  private parseLength(text: string): number {
    const value = DIGITS.test(text) ? Number(text) : Number.NaN;
    if (!(value <= LENGTH_BYTES_MAX)) {
      this.fail(
        `bad length "${quote(text)}"`,
        `a whole number of bytes from 0 to ${LENGTH_BYTES_MAX}`,
      );
    }
    return value;
  }

  private lineForms(): string {
    return this.version === 3
      ? '"<time> <file> add|open|close" or "<time> <file> <action> <offset> <length>"'
      : '"<file> add|open|close" or "<file> <action> <offset> <length>"';
  }

  private fail(problem: string, expected: string): never {
    throw new IologError(
      this.source,
      this.lineNumber,
      `${this.source}:${this.lineNumber}: ${problem} in "${quote(this.text)}": expected ${expected}`,
    );
  }
}

function quote(text: string): string {
  return text.length <= QUOTED_TEXT_MAX ? text : `${text.slice(0, QUOTED_TEXT_MAX)}…`;
}

/**
 * The request one trace line replays as on a device of `deviceSizeSectors`,
 * or undefined for a `wait`. Reads, writes and trims keep their size in
 * sectors; syncs of every kind become flushes.
 *
 * Folding rule: the request covers every sector its byte range touches,
 * `sectorCount = ceil((offset mod 512 + length) / 512)`, capped at the device
 * size. It starts at `floor((offset mod deviceBytes) / 512)` (the offset folded
 * into the device, aligned down to a sector), moved down just enough to end
 * inside the device: `sector = min(folded, deviceSizeSectors - sectorCount)`.
 * Requests keep their size, so a trace of 4 KiB I/O stays 4 KiB I/O.
 */
export function foldIologEntry(
  entry: IologEntry,
  deviceSizeSectors: number,
): WorkloadRequest | undefined {
  switch (entry.action) {
    case 'wait':
      return undefined;
    case 'sync':
    case 'datasync':
    case 'sync_file_range':
      return { op: 'flush', sector: 0, sectorCount: 0, fua: false };
    default: {
      const op = entry.action === 'trim' ? 'discard' : entry.action;
      const sectorSize = BigInt(SECTOR_SIZE_BYTES);
      const deviceSectors = BigInt(deviceSizeSectors);
      const folded = Number((entry.offsetBytes / sectorSize) % deviceSectors);
      const headBytes = Number(entry.offsetBytes % sectorSize);
      const covered = Math.ceil((headBytes + entry.lengthBytes) / SECTOR_SIZE_BYTES);
      const sectorCount = Math.min(covered, deviceSizeSectors);
      const sector = Math.min(folded, deviceSizeSectors - sectorCount);
      assert(sectorCount >= 1, `trace line ${entry.line} folded to an empty request`);
      assert(sector >= 0 && sector + sectorCount <= deviceSizeSectors, 'fold left the device');
      return { op, sector, sectorCount, fua: false };
    }
  }
}

/** How an {@link IologWorkload} replays its trace. */
export interface IologWorkloadOptions {
  readonly deviceSizeSectors: number;
  /** Requests to issue; the trace starts again from its first I/O when it runs out. */
  readonly ops: number;
}

/**
 * A trace replayed in order, each line folded into the device (see
 * {@link foldIologEntry}). It yields exactly `ops` requests: fewer than the
 * trace holds stops early, more cycles through it again from the start.
 * Waits and file lines are not requests and are not counted.
 */
export class IologWorkload implements Workload {
  readonly name: string;
  private readonly requests: readonly WorkloadRequest[];
  private readonly ops: number;
  private issued = 0;

  constructor(trace: IologTrace, options: IologWorkloadOptions) {
    const { deviceSizeSectors, ops } = options;
    checkDeviceSize(deviceSizeSectors);
    checkOps(ops);
    const requests: WorkloadRequest[] = [];
    for (const entry of trace.entries) {
      const request = foldIologEntry(entry, deviceSizeSectors);
      if (request !== undefined) requests.push(request);
    }
    if (requests.length === 0 && ops > 0) {
      throw new RangeError(
        `fio trace "${trace.source}" has nothing to replay: expected at least one read, write, trim or sync line`,
      );
    }
    this.requests = requests;
    this.ops = ops;
    this.name = `fio:${trace.source}`;
  }

  /** The requests of one pass over the trace. */
  get traceLength(): number {
    return this.requests.length;
  }

  next(): WorkloadRequest | undefined {
    if (this.issued >= this.ops) return undefined;
    const request = this.requests[this.issued % this.requests.length];
    assert(request !== undefined, 'a replayed trace has requests');
    this.issued++;
    return request;
  }
}
