/**
 * The crash-consistency commands that drive I/O and time: write, FUA write,
 * read, two reads in a row (read stability during recovery), flush,
 * discard, a batch of concurrent requests, and advancing the world by a
 * number of events. Each carries indices the model resolves, and prints
 * what it resolved to, e.g. `write(sector=40, 8, fua)`.
 */
import type fc from 'fast-check';
import type { FuzzModel } from './fuzz-model.js';
import type { FuzzSystem } from './fuzz-system.js';
import { describeRequest, type RequestKind, type RequestSpec } from './user-requests.js';

/**
 * The base of every command: runs only while the scenario can go on,
 * records what it resolved to, and ends with the system's checks.
 */
export abstract class FuzzCommand implements fc.Command<FuzzModel, FuzzSystem> {
  private resolved: string | null = null;

  check(_model: Readonly<FuzzModel>): boolean {
    return true;
  }

  run(model: FuzzModel, real: FuzzSystem): void {
    if (real.stopped !== null) {
      this.resolved = `${this.unresolved()} [skipped: ${real.stopped}]`;
      return;
    }
    this.resolved = this.unresolved();
    try {
      this.resolved = this.act(model, real);
    } catch (error) {
      // The failing command is part of the counterexample: show it, marked.
      model.resolved.push(`${this.resolved} ✗ failed here`);
      throw error;
    }
    model.commandsRun++;
    model.resolved.push(this.resolved);
    real.note(this.resolved);
    real.afterCommand();
    model.sync(real);
  }

  toString(): string {
    return this.resolved ?? this.unresolved();
  }

  /** Acts on the system; returns the resolved description. */
  protected abstract act(model: FuzzModel, real: FuzzSystem): string;

  /** How the command prints before it ran. */
  protected abstract unresolved(): string;
}

/** `write(sector=40, 8, fua)`: a stamped write, waited for unless `nowait`. */
export class WriteCommand extends FuzzCommand {
  constructor(
    private readonly at: number,
    private readonly length: number,
    private readonly fua: boolean,
    private readonly wait: boolean,
  ) {
    super();
  }

  protected act(model: FuzzModel, real: FuzzSystem): string {
    const range = model.range(this.at, this.length);
    const request = real.io({ kind: 'write', ...range, fua: this.fua }, this.wait);
    const flags = `${this.fua ? ', fua' : ''}${this.wait ? '' : ', nowait'}`;
    return `write(sector=${range.sector}, ${range.sectorCount}${flags})${outcome(request)}`;
  }

  protected unresolved(): string {
    return `write(at=${this.at}, length=${this.length}${this.fua ? ', fua' : ''}${this.wait ? '' : ', nowait'})`;
  }
}

/** `read(sector=40, 8)`: a read whose every sector the oracle checks. */
export class ReadCommand extends FuzzCommand {
  constructor(
    private readonly at: number,
    private readonly length: number,
  ) {
    super();
  }

  protected act(model: FuzzModel, real: FuzzSystem): string {
    const range = model.range(this.at, this.length);
    const request = real.io({ kind: 'read', ...range, fua: false }, true);
    return `read(sector=${range.sector}, ${range.sectorCount})${outcome(request)}`;
  }

  protected unresolved(): string {
    return `read(at=${this.at}, length=${this.length})`;
  }
}

/** `readTwice(sector=40, 8)`: two reads with no write between must agree (during recovery too). */
export class ReadTwiceCommand extends FuzzCommand {
  constructor(
    private readonly at: number,
    private readonly length: number,
  ) {
    super();
  }

  protected act(model: FuzzModel, real: FuzzSystem): string {
    const range = model.range(this.at, this.length);
    const result = real.readTwice(range.sector, range.sectorCount);
    return `readTwice(sector=${range.sector}, ${range.sectorCount}) → ${result}`;
  }

  protected unresolved(): string {
    return `readTwice(at=${this.at}, length=${this.length})`;
  }
}

/** `flush()`: an empty PREFLUSH, waited for unless `nowait`. */
export class FlushCommand extends FuzzCommand {
  constructor(private readonly wait: boolean) {
    super();
  }

  protected act(_model: FuzzModel, real: FuzzSystem): string {
    const request = real.io({ kind: 'flush', sector: 0, sectorCount: 0, fua: false }, this.wait);
    return `flush(${this.wait ? '' : 'nowait'})${outcome(request)}`;
  }

  protected unresolved(): string {
    return `flush(${this.wait ? '' : 'nowait'})`;
  }
}

/** `discard(sector=40, 8)`: not region-tracked by the mirror (§4.8). */
export class DiscardCommand extends FuzzCommand {
  constructor(
    private readonly at: number,
    private readonly length: number,
    private readonly wait: boolean,
  ) {
    super();
  }

  protected act(model: FuzzModel, real: FuzzSystem): string {
    const range = model.range(this.at, this.length);
    const request = real.io({ kind: 'discard', ...range, fua: false }, this.wait);
    return `discard(sector=${range.sector}, ${range.sectorCount}${this.wait ? '' : ', nowait'})${outcome(request)}`;
  }

  protected unresolved(): string {
    return `discard(at=${this.at}, length=${this.length})`;
  }
}

/** One request of a batch, as indices. */
export interface BatchOp {
  readonly kind: RequestKind;
  readonly at: number;
  readonly length: number;
  readonly fua: boolean;
}

/** `batch(write 0+8, read 16+4, flush)`: submitted in the same tick, then waited for together. */
export class BatchCommand extends FuzzCommand {
  constructor(private readonly ops: readonly BatchOp[]) {
    super();
  }

  protected act(model: FuzzModel, real: FuzzSystem): string {
    const specs: RequestSpec[] = this.ops.map((op) => {
      if (op.kind === 'flush') return { kind: 'flush', sector: 0, sectorCount: 0, fua: false };
      const range = model.range(op.at, op.length);
      return { kind: op.kind, ...range, fua: op.kind === 'write' && op.fua };
    });
    const requests = real.batch(specs);
    const parts = requests.map((request) => `${describeRequest(request)}${outcome(request)}`);
    return `batch(${parts.join(', ')})`;
  }

  protected unresolved(): string {
    return `batch(${this.ops.length} requests)`;
  }
}

/** `advance(40 events)`: lets the world run, e.g. so a later crash lands mid-flight. */
export class AdvanceCommand extends FuzzCommand {
  constructor(private readonly events: number) {
    super();
  }

  protected act(_model: FuzzModel, real: FuzzSystem): string {
    const ran = real.advance(this.events);
    return `advance(${ran} events)`;
  }

  protected unresolved(): string {
    return `advance(${this.events} events)`;
  }
}

/** ` → EIO`, ` (pending)`, or nothing for a request that succeeded. */
function outcome(request: { readonly state: string; readonly error: string | null }): string {
  if (request.state !== 'done') return ` (${request.state === 'waiting' ? 'queued' : 'pending'})`;
  return request.error === null ? '' : ` → ${request.error}`;
}
