/**
 * The user requests of a crash-consistency scenario: issued through the
 * oracle's {@link RequestIssuer}, tracked until they complete, and kept
 * from overlapping in flight. Like fio's `serialize_overlap`, a write or
 * discard that overlaps one still in flight waits (in order) until it
 * completes: the mirror, like Linux, does not order overlapping writes, so
 * legs could otherwise differ legitimately in a region in sync. A write
 * held by the mirror (handle_errors) keeps the ones behind it waiting.
 */
import type { BlockIoError } from '../../src/block/block-device.js';
import type { RequestIssuer } from '../driver/request-issuer.js';
import type { SectorViolation } from '../oracle/write-history.js';

/** The kinds of user request. */
export type RequestKind = 'write' | 'read' | 'flush' | 'discard';

/** A user request to make: what, where, and whether FUA. */
export interface RequestSpec {
  readonly kind: RequestKind;
  readonly sector: number;
  readonly sectorCount: number;
  readonly fua: boolean;
}

/** A user request made, and its outcome once done. */
export interface UserRequest extends RequestSpec {
  /** Order of submission, from 1. */
  readonly seq: number;
  state: 'waiting' | 'issued' | 'done';
  /** `EIO`, `EOPNOTSUPP`, or null on success (meaningful once done). */
  error: string | null;
  /** What a read returned. */
  data: Uint8Array | null;
}

/** How requests report back to their owner. */
export interface UserRequestsHooks {
  /** A read came back with sectors the register oracle forbids. */
  readonly onReadViolations: (request: UserRequest, violations: readonly SectorViolation[]) => void;
  /** A request is about to reach the mapped device. */
  readonly onIssue?: (request: UserRequest) => void;
  /** A request completed (successfully or not). */
  readonly onDone?: (request: UserRequest) => void;
}

/** The requests of one scenario (see the file comment). */
export class UserRequests {
  private readonly live = new Set<UserRequest>();
  private waiting: UserRequest[] = [];
  private seqNext = 1;
  /** Bumped by {@link dropAll}: completions of an earlier generation never arrive. */
  private generation = 0;
  private pumping = false;
  private pumpAgain = false;

  constructor(
    private readonly issuer: RequestIssuer,
    private readonly hooks: UserRequestsHooks,
  ) {}

  /** Requests waiting or in flight. */
  get outstanding(): number {
    return this.live.size;
  }

  /** Writes and discards waiting or in flight. */
  get outstandingWrites(): number {
    let count = 0;
    for (const request of this.live) if (isWrite(request)) count++;
    return count;
  }

  /** Discards waiting or in flight. */
  get outstandingDiscards(): number {
    let count = 0;
    for (const request of this.live) if (request.kind === 'discard') count++;
    return count;
  }

  /** Submits a request: issued now, or queued behind an overlapping write. */
  submit(spec: RequestSpec): UserRequest {
    const request: UserRequest = {
      kind: spec.kind,
      sector: spec.sector,
      sectorCount: spec.sectorCount,
      fua: spec.fua,
      seq: this.seqNext++,
      state: 'waiting',
      error: null,
      data: null,
    };
    this.live.add(request);
    if (isWrite(request) && (this.overlapsLiveWrite(request) || this.waiting.length > 0)) {
      this.waiting.push(request);
      this.pump();
    } else {
      this.issue(request);
    }
    return request;
  }

  /** Whether a write or discard waiting or in flight overlaps the range. */
  overlapsWrite(sector: number, sectorCount: number): boolean {
    for (const request of this.live) {
      if (isWrite(request) && overlaps(request, sector, sectorCount)) return true;
    }
    return false;
  }

  /** The world crashed: nothing outstanding will ever complete (the oracle was told separately). */
  dropAll(): void {
    this.live.clear();
    this.waiting = [];
    this.generation++;
  }

  /** Outstanding requests, oldest first (for reports). */
  describeOutstanding(): string[] {
    return [...this.live]
      .sort((left, right) => left.seq - right.seq)
      .map((request) => `#${request.seq} ${describeRequest(request)} (${request.state})`);
  }

  private issue(request: UserRequest): void {
    request.state = 'issued';
    this.hooks.onIssue?.(request);
    const generation = this.generation;
    const done = (error: BlockIoError | null) => {
      if (generation !== this.generation) return;
      request.state = 'done';
      request.error = error === null ? null : error.errno;
      this.live.delete(request);
      this.hooks.onDone?.(request);
      this.pump();
    };
    const range = { sector: request.sector, sectorCount: request.sectorCount };
    switch (request.kind) {
      case 'write':
        this.issuer.write({ ...range, fua: request.fua }, done);
        return;
      case 'discard':
        this.issuer.discard(range, done);
        return;
      case 'flush':
        this.issuer.flush(done);
        return;
      case 'read':
        this.issuer.read(range, (error, data, violations) => {
          if (generation !== this.generation) return;
          request.data = data;
          if (violations.length > 0) this.hooks.onReadViolations(request, violations);
          done(error);
        });
        return;
    }
  }

  /** Issues waiting writes, in order, that no longer overlap anything before them. */
  private pump(): void {
    // A completion that arrives while pumping (a request ended at once) pumps again afterwards.
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        const queue = this.waiting;
        this.waiting = [];
        const stillWaiting: UserRequest[] = [];
        for (const request of queue) {
          const blockedByEarlier = stillWaiting.some((earlier) =>
            overlaps(earlier, request.sector, request.sectorCount),
          );
          if (blockedByEarlier || this.overlapsLiveWrite(request)) stillWaiting.push(request);
          else this.issue(request);
        }
        this.waiting = stillWaiting.concat(this.waiting);
      } while (this.pumpAgain);
    } finally {
      this.pumping = false;
    }
  }

  private overlapsLiveWrite(request: UserRequest): boolean {
    for (const other of this.live) {
      if (other === request || other.state !== 'issued' || !isWrite(other)) continue;
      if (overlaps(other, request.sector, request.sectorCount)) return true;
    }
    return false;
  }
}

function isWrite(request: RequestSpec): boolean {
  return request.kind === 'write' || request.kind === 'discard';
}

function overlaps(request: RequestSpec, sector: number, sectorCount: number): boolean {
  return request.sector < sector + sectorCount && sector < request.sector + request.sectorCount;
}

/** `write 40+8 fua`, `read 0+4`, `flush`, `discard 16+8`. */
export function describeRequest(request: RequestSpec): string {
  if (request.kind === 'flush') return 'flush';
  const fua = request.kind === 'write' && request.fua ? ' fua' : '';
  return `${request.kind} ${request.sector}+${request.sectorCount}${fua}`;
}
