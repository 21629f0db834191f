/**
 * A process of the simulated CPG for tests: it initializes one handle,
 * dispatches everything as soon as the handle is readable (as a poll loop
 * would), and records every callback.
 */
import { CpgModel, type CpgProcessService } from '../../../sim/cluster/cpg/cpg-model.js';
import type { CpgMembershipMerge } from '../../../sim/cluster/cpg/cpg-model-options.js';
import { World } from '../../../sim/world.js';
import { fixedLatency, type LatencyModel } from '../../../src/block/latency.js';
import { type CpgAddress, type CpgHandle, CS_OK } from '../../../src/log/cluster/cpg.js';

/** One callback a {@link CpgTestProcess} saw. */
export type Seen =
  | {
      readonly kind: 'message';
      readonly nodeid: number;
      readonly pid: number;
      readonly text: string;
    }
  | {
      readonly kind: 'confchg';
      readonly members: readonly CpgAddress[];
      readonly left: readonly CpgAddress[];
      readonly joined: readonly CpgAddress[];
    };

/** A process with one handle that dispatches on every readable signal. */
export class CpgTestProcess {
  readonly seen: Seen[] = [];
  readonly service: CpgProcessService;
  readonly handle: CpgHandle;
  /** Whether each readable signal is dispatched at once (false: the test dispatches by hand). */
  autoDispatch = true;
  readableSignals = 0;

  constructor(model: CpgModel, nodeid: number, pid: number) {
    this.service = model.service(nodeid, pid);
    const result = this.service.initialize({
      deliver: (_handle, _group, sender, senderPid, message) => {
        this.seen.push({
          kind: 'message',
          nodeid: sender,
          pid: senderPid,
          text: new TextDecoder().decode(message),
        });
      },
      confchg: (_handle, _group, members, left, joined) => {
        this.seen.push({ kind: 'confchg', members, left, joined });
      },
    });
    if (result.error !== CS_OK || result.handle === null) {
      throw new Error(`cpg_initialize failed with ${result.error}`);
    }
    this.handle = result.handle;
    this.handle.onReadable = () => {
      this.readableSignals++;
      if (this.autoDispatch) this.handle.dispatch('all');
    };
  }

  /** Multicasts `text`; returns the cs_error. */
  send(text: string): number {
    return this.handle.mcastJoined('agreed', new TextEncoder().encode(text));
  }

  /** The texts of the messages seen, in order. */
  get texts(): string[] {
    return this.seen.flatMap((event) => (event.kind === 'message' ? [event.text] : []));
  }
}

/** A world and a CPG model over it; fixed 10-tick latency and the model's merge rule unless given. */
export function newCpg(
  options: {
    seed?: number;
    latency?: LatencyModel;
    merge?: CpgMembershipMerge;
    recordHistory?: boolean;
  } = {},
): { world: World; model: CpgModel } {
  const world = new World({ seed: options.seed ?? 1 });
  const model = new CpgModel({
    scheduler: world.scheduler,
    random: world.random,
    latency: options.latency ?? fixedLatency(10),
    recordHistory: options.recordHistory ?? false,
    ...(options.merge === undefined ? {} : { mergeMembershipChanges: options.merge }),
  });
  return { world, model };
}

/** `{nodeid, pid, reason}` as a confchg lists it. */
export function address(nodeid: number, pid: number, reason: number): CpgAddress {
  return { nodeid, pid, reason } as CpgAddress;
}
