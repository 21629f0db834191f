/**
 * A cluster of simulated cmirrord processes over the simulated CPG, fed
 * kernel request records directly (no mirror, no link): each node sends
 * `dm_ulog_request`s as its kernel would and collects the replies.
 */
import { CmirrordProcess } from '../../../sim/cluster/cmirrord-process.js';
import { CpgModel } from '../../../sim/cluster/cpg/cpg-model.js';
import type { CpgMembershipMerge } from '../../../sim/cluster/cpg/cpg-model-options.js';
import { World } from '../../../sim/world.js';
import { fixedLatency } from '../../../src/block/latency.js';
import type { SimulatedDevice } from '../../../src/block/simulated-device.js';
import type { ClogCpg } from '../../../src/log/cluster/clog-cpg.js';
import type { LogC } from '../../../src/log/cluster/log-c.js';
import {
  decodeUlogRequest,
  encodeUlogCtrRequest,
  encodeUlogRegionSync,
  encodeUlogRegions,
  encodeUlogRequest,
  encodeUlogU64,
  UlogProtocolError,
  type UlogRequest,
  UlogRequestType,
  type UlogRequestTypeCode,
} from '../../../src/log/userspace/index.js';
import { TICKS_PER_SECOND } from '../../../src/world/scheduler.js';

export const UUID = 'LVM-cluster-mirror';

/** One node: its cmirrord process and what its kernel received. */
export class TestNode {
  readonly replies = new Map<number, UlogRequest>();
  /** The reply records as sent, by seq (for what the strict decoder refuses). */
  readonly rawReplies = new Map<number, Uint8Array>();
  readonly process: CmirrordProcess;
  private seqNext: number;

  constructor(
    readonly cluster: TestCluster,
    readonly nodeid: number,
    options: { rejoinDelay?: boolean },
  ) {
    this.seqNext = nodeid * 100_000;
    this.process = new CmirrordProcess({
      scheduler: cluster.world.scheduler,
      nodeid,
      cpg: (pid) => cluster.cpg.service(nodeid, pid),
      getDevice: (name, sectors) =>
        cluster.world.openDevice(name, sectors, {
          writeCache: cluster.logWriteCache,
          latency: { write: fixedLatency(cluster.logWriteTicks) },
        }),
      sendToKernel: (bytes) => {
        const reply = decodeReply(bytes);
        this.replies.set(reply.seq, reply);
        this.rawReplies.set(reply.seq, bytes);
      },
      ...(options.rejoinDelay === undefined ? {} : { rejoinDelay: options.rejoinDelay }),
    });
  }

  /** Sends one kernel request; returns its seq. */
  send(
    requestType: UlogRequestTypeCode,
    data: Uint8Array = new Uint8Array(0),
    version = 3,
  ): number {
    const seq = this.seqNext++;
    const request: UlogRequest = {
      luid: BigInt(this.nodeid),
      uuid: UUID,
      version,
      error: 0,
      seq,
      requestType,
      data,
    };
    this.process.deliver(encodeUlogRequest(request), this.process.generation);
    return seq;
  }

  /** Sends one request and runs the world until its reply (or until idle); returns the reply or undefined. */
  call(
    requestType: UlogRequestTypeCode,
    data: Uint8Array = new Uint8Array(0),
  ): UlogRequest | undefined {
    const seq = this.send(requestType, data);
    this.cluster.world.scheduler.runUntil(() => this.replies.has(seq), { stepsMax: 200_000 });
    return this.replies.get(seq);
  }

  /** CTR on the table-load path; the reply's error. */
  ctr(ctrString: string, version = 3): UlogRequest {
    const request: UlogRequest = {
      luid: BigInt(this.nodeid),
      uuid: UUID,
      version,
      error: 0,
      seq: this.seqNext++,
      requestType: UlogRequestType.CTR,
      data: encodeUlogCtrRequest(ctrString, false),
    };
    return decodeUlogRequest(this.process.handleNow(encodeUlogRequest(request))!, {
      direction: 'reply',
    });
  }

  mark(...regions: number[]): UlogRequest | undefined {
    return this.call(UlogRequestType.MARK_REGION, encodeUlogRegions(regions));
  }

  clear(...regions: number[]): UlogRequest | undefined {
    return this.call(UlogRequestType.CLEAR_REGION, encodeUlogRegions(regions));
  }

  flush(): UlogRequest | undefined {
    return this.call(UlogRequestType.FLUSH);
  }

  setRegionSync(region: number, inSync: boolean): UlogRequest | undefined {
    return this.call(
      UlogRequestType.SET_REGION_SYNC,
      encodeUlogRegionSync({ region, inSync: inSync ? 1 : 0 }),
    );
  }

  region(type: UlogRequestTypeCode, region: number): UlogRequest | undefined {
    return this.call(type, encodeUlogU64(region));
  }

  /** This node's replica of the log (official or pending), if any. */
  get log(): LogC | undefined {
    const daemon = this.process.daemon;
    return daemon.getLog(UUID, 0n) ?? daemon.getPendingLog(UUID, 0n);
  }

  /** This node's CPG of the log, if joined. */
  get cpg(): ClogCpg | undefined {
    return this.process.daemon.cluster.cpgs.find((entry) => entry.name === UUID);
  }
}

/** A cluster of `nodeCount` nodes (ids 1…n). */
export class TestCluster {
  readonly world: World;
  readonly cpg: CpgModel;
  readonly nodes: TestNode[];
  logWriteCache = false;
  /** How long a write to a log device takes (the server's disk write in clog_flush). */
  logWriteTicks = 0;

  constructor(options: {
    nodeCount: number;
    seed?: number;
    rejoinDelay?: boolean;
    /** The CPG model's rule when given. */
    merge?: CpgMembershipMerge;
    logWriteCache?: boolean;
    logWriteTicks?: number;
  }) {
    this.world = new World({ seed: options.seed ?? 1 });
    this.logWriteCache = options.logWriteCache ?? false;
    this.logWriteTicks = options.logWriteTicks ?? 0;
    this.cpg = new CpgModel({
      scheduler: this.world.scheduler,
      random: this.world.random,
      latency: fixedLatency(50),
      ...(options.merge === undefined ? {} : { mergeMembershipChanges: options.merge }),
    });
    this.nodes = Array.from(
      { length: options.nodeCount },
      (_, index) => new TestNode(this, index + 1, options),
    );
  }

  node(nodeid: number): TestNode {
    return this.nodes[nodeid - 1]!;
  }

  /** CTR and RESUME on each listed node in turn, each resume run to its reply. */
  activate(
    ctrString: string,
    nodeids: readonly number[] = this.nodes.map((node) => node.nodeid),
  ): void {
    for (const nodeid of nodeids) {
      const node = this.node(nodeid);
      const ctr = node.ctr(ctrString);
      if (ctr.error !== 0) throw new Error(`CTR on node ${nodeid} failed: ${ctr.error}`);
      const resumed = node.call(UlogRequestType.RESUME);
      if (resumed?.error !== 0)
        throw new Error(`RESUME on node ${nodeid}: ${JSON.stringify(resumed?.error)}`);
    }
    this.settle();
  }

  /** Runs until nothing is left to do. */
  settle(): void {
    this.world.scheduler.runUntilIdle({ stepsMax: 500_000 });
  }

  /** Advances simulated time. */
  runForSeconds(seconds: number): void {
    this.world.scheduler.runFor(seconds * TICKS_PER_SECOND, { stepsMax: 500_000 });
  }

  device(name: string): SimulatedDevice {
    return this.world.device(name);
  }
}

/** The bits of a replica as a string of 0/1 for the first `count` regions. */
export function bits(log: LogC, which: 'clean' | 'sync', count = log.regionCount): string {
  const bitset = which === 'clean' ? log.cleanBits : log.syncBits;
  return Array.from({ length: count }, (_, region) => bitset.test(region)).join('');
}

/**
 * A reply record as the kernel reads it: matched on seq. A NACK of a
 * type-0 request echoes that header (type 0), which the strict decoder
 * refuses; its seq and error are read from the header then.
 */
function decodeReply(bytes: Uint8Array): UlogRequest {
  try {
    return decodeUlogRequest(bytes, { direction: 'reply' });
  } catch (error) {
    if (!(error instanceof UlogProtocolError) || error.header === null) throw error;
    const view = new DataView(error.header.buffer, error.header.byteOffset);
    return {
      luid: 0n,
      uuid: '',
      version: 0,
      error: view.getInt32(144, true),
      seq: view.getUint32(148, true),
      requestType: 0 as UlogRequestTypeCode,
      data: new Uint8Array(0),
    };
  }
}
