/**
 * `mirrorsim serve --record FILE`: what the clients sent, as a fio iolog
 * version 3 (the format sim/workload/fio-iolog.ts parses and `mirrorsim
 * run --workload fio:FILE` replays), so a real client's traffic becomes a
 * reproducible crash test. One line per request, in the order requests
 * entered the simulated world, stamped with the simulated time in
 * microseconds since the recording began (fio's convention): READ → `read`, WRITE and WRITE_ZEROES → `write`, TRIM →
 * `trim`, FLUSH → `sync`. BLOCK_STATUS moves no data and is not recorded;
 * an iolog has no way to say FUA, so a replay issues those writes without
 * it. The file is created afresh (fio's own `write_iolog` appends, which
 * the parser rejects as a second header).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { assert } from '../../src/assert.js';

/** The iolog actions a served request becomes. */
export type RecordedAction = 'read' | 'write' | 'trim' | 'sync';

/** Lines are written in batches of about this many bytes. */
const BUFFER_BYTES = 64 * 1024;

/** An open recording: one iolog file, written in batches. */
export class IologRecorder {
  private descriptor: number | null;
  private buffered: string[] = [];
  private bufferedBytes = 0;
  /** I/O lines recorded. */
  entries = 0;

  private constructor(
    readonly path: string,
    private readonly fileName: string,
    descriptor: number,
    private readonly originMicroseconds: number,
  ) {
    this.descriptor = descriptor;
  }

  /**
   * Creates (or truncates) `path` and writes the header and the `add` and
   * `open` lines of `fileName` (the name the trace calls the export).
   * Times are given in simulated microseconds; the trace counts them from
   * `originMicroseconds`, the moment recording begins.
   */
  static create(path: string, fileName: string, originMicroseconds: number): IologRecorder {
    if (!/^[^\s]+$/.test(fileName)) {
      throw new RangeError(`Iolog file name "${fileName}" must be one word without spaces`);
    }
    const recorder = new IologRecorder(path, fileName, openSync(path, 'w'), originMicroseconds);
    recorder.line('fio version 3 iolog');
    recorder.line(`0 ${fileName} add`);
    recorder.line(`0 ${fileName} open`);
    recorder.flush();
    return recorder;
  }

  /** One request; `sync` carries offset and length 0. */
  record(
    timeMicroseconds: number,
    action: RecordedAction,
    offsetBytes: number,
    lengthBytes: number,
  ): void {
    assert(this.descriptor !== null, 'record after close');
    assert(
      action === 'sync' ? offsetBytes === 0 && lengthBytes === 0 : lengthBytes > 0,
      `iolog ${action} of ${lengthBytes} bytes`,
    );
    assert(
      timeMicroseconds >= this.originMicroseconds,
      'a request recorded before the recording began',
    );
    this.entries++;
    const elapsed = timeMicroseconds - this.originMicroseconds;
    this.line(`${elapsed} ${this.fileName} ${action} ${offsetBytes} ${lengthBytes}`);
  }

  /** Writes what is buffered to the file. */
  flush(): void {
    if (this.descriptor === null || this.buffered.length === 0) return;
    writeSync(this.descriptor, this.buffered.join(''));
    this.buffered = [];
    this.bufferedBytes = 0;
  }

  /** Ends the trace with the `close` line and closes the file. */
  close(timeMicroseconds: number): void {
    if (this.descriptor === null) return;
    this.line(`${timeMicroseconds - this.originMicroseconds} ${this.fileName} close`);
    this.flush();
    closeSync(this.descriptor);
    this.descriptor = null;
  }

  private line(text: string): void {
    this.buffered.push(`${text}\n`);
    this.bufferedBytes += text.length + 1;
    if (this.bufferedBytes >= BUFFER_BYTES) this.flush();
  }
}
