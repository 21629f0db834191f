import { describe, expect, it } from 'vitest';
import { EINVAL, ENOENT } from '../../../src/errno.js';
import { encodeClogRequest } from '../../../src/log/cluster/clog-request.js';
import { ClogCpgState, LogState } from '../../../src/log/cluster/cluster-constants.js';
import { readDiskLogImage } from '../../../src/log/disk-log-format.js';
import {
  decodeUlogRemoteRecovering,
  decodeUlogResyncWork,
  decodeUlogS64,
  decodeUlogStatus,
  decodeUlogU64,
  encodeUlogRegions,
  UlogRequestType,
} from '../../../src/log/userspace/index.js';
import { bits, TestCluster, UUID } from './cmirrord-test-kit.js';

const DISK = '8192 clustered-disk log0 1024';
const CORE = '8192 clustered-core 1024';

/** Clean bits of the first 8 regions as the log device durably holds them. */
function durableClean(cluster: TestCluster): string {
  const image = readDiskLogImage(cluster.device('log0').durableContent, 8);
  return Array.from({ length: 8 }, (_, region) => image.cleanBits.test(region)).join('');
}

/**
 * Recovers every region through node `nodeid` as its kernel would:
 * GET_RESYNC_WORK, SET_REGION_SYNC (sent at once), then the queued
 * CLEAR_REGION and a FLUSH (dm_rh_update_states, §2.6).
 */
function resyncAll(cluster: TestCluster, nodeid: number): void {
  const node = cluster.node(nodeid);
  for (;;) {
    const work = decodeUlogResyncWork(node.call(UlogRequestType.GET_RESYNC_WORK)!.data);
    if (work.result !== 1n) break;
    node.setRegionSync(Number(work.region), true);
    node.clear(Number(work.region));
    node.flush();
  }
  cluster.settle();
}

describe('cmirrord over the simulated CPG (§4, §5)', () => {
  it('§4.5 every valid member applies every request; the lowest nodeid answers and alone writes the disk (clog_flush)', () => {
    const cluster = new TestCluster({ nodeCount: 3 });
    cluster.activate(DISK);
    expect(cluster.nodes.map((node) => [node.cpg?.state, node.cpg?.lowestId])).toEqual([
      [ClogCpgState.VALID, 1],
      [ClogCpgState.VALID, 1],
      [ClogCpgState.VALID, 1],
    ]);
    resyncAll(cluster, 2);
    const writesBefore = cluster.nodes.map((node) => node.process.daemon.diskWrites);
    expect(cluster.node(3).mark(5)?.error).toBe(0);
    expect(cluster.node(3).flush()?.error).toBe(0);
    cluster.settle();
    expect(cluster.nodes.map((node) => bits(node.log!, 'clean'))).toEqual([
      '11111011',
      '11111011',
      '11111011',
    ]);
    expect(
      cluster.nodes.map((node) => node.process.daemon.diskWrites - writesBefore[node.nodeid - 1]!),
    ).toEqual([1, 0, 0]);
    expect(durableClean(cluster)).toBe('11111011');
  });

  it('§5.2 clear_region: nodes 2 and 3 mark R, 2 clears, 3 crashes: R stays dirty on disk', () => {
    const cluster = new TestCluster({ nodeCount: 3 });
    cluster.activate(DISK);
    resyncAll(cluster, 1);
    cluster.node(2).mark(4);
    cluster.node(3).mark(4);
    cluster.node(2).flush();
    cluster.node(2).clear(4);
    cluster.node(2).flush();
    cluster.node(3).process.crash();
    cluster.settle();
    cluster.node(1).flush();
    cluster.settle();
    expect(bits(cluster.node(1).log!, 'clean')).toBe('11110111');
    expect(durableClean(cluster)).toBe('11110111');
    // The dead node's mark is never dropped (§4.9): the region stays dirty on the survivors.
    expect(cluster.node(1).log!.markList).toEqual([{ region: 4, nodeid: 3 }]);
  });

  it('§4.6 clog_in_sync: once fully synced, IN_SYNC answers 1 whatever the bit says, until the next resume (53670b18f)', () => {
    const cluster = new TestCluster({ nodeCount: 2 });
    cluster.activate(CORE);
    resyncAll(cluster, 1);
    cluster.node(1).setRegionSync(6, false);
    cluster.settle();
    expect(bits(cluster.node(2).log!, 'sync')).toBe('11111101');
    expect(decodeUlogS64(cluster.node(2).region(UlogRequestType.IN_SYNC, 6)!.data)).toBe(1n);
    expect(cluster.node(2).region(UlogRequestType.IN_SYNC, 8)?.error).toBe(EINVAL);
    // GET_SYNC_COUNT is local: the replica's count.
    expect(decodeUlogU64(cluster.node(2).call(UlogRequestType.GET_SYNC_COUNT)!.data)).toBe(7n);
  });

  it('§4.9 clog_get_resync_work: a recoverer that crashes stalls recovery on the survivors ("someone already recovering") until a whole-cluster suspend and resume', () => {
    const cluster = new TestCluster({ nodeCount: 3 });
    cluster.activate(CORE);
    const work = decodeUlogResyncWork(cluster.node(3).call(UlogRequestType.GET_RESYNC_WORK)!.data);
    expect(work).toEqual({ result: 1n, region: 0n });
    // The recoverer asking again gets the same region (idempotent).
    expect(
      decodeUlogResyncWork(cluster.node(3).call(UlogRequestType.GET_RESYNC_WORK)!.data),
    ).toEqual(work);
    cluster.node(3).process.crash();
    cluster.settle();
    for (const nodeid of [1, 2]) {
      expect(
        decodeUlogResyncWork(cluster.node(nodeid).call(UlogRequestType.GET_RESYNC_WORK)!.data),
      ).toEqual({ result: 0n, region: 0n });
      expect(cluster.node(nodeid).log!.recoveringRegion).toBe(0);
    }
    // Only a whole-cluster suspend and resume clears it: clog_postsuspend resets recovering_region.
    for (const nodeid of [1, 2]) {
      expect(cluster.node(nodeid).call(UlogRequestType.POSTSUSPEND)?.error).toBe(0);
    }
    cluster.runForSeconds(4);
    for (const nodeid of [1, 2])
      expect(cluster.node(nodeid).call(UlogRequestType.RESUME)?.error).toBe(0);
    cluster.settle();
    expect(
      decodeUlogResyncWork(cluster.node(2).call(UlogRequestType.GET_RESYNC_WORK)!.data),
    ).toEqual({ result: 1n, region: 0n });
  });

  it('§4.6 clog_get_resync_work: "Resync work complete" answers i = 0 with r = find_next_zero_bit’s result (the region count); afterwards "Recovery finished" leaves r at 0', () => {
    const cluster = new TestCluster({ nodeCount: 2 });
    cluster.activate('8192 clustered-core 1024 nosync');
    const ask = () =>
      decodeUlogResyncWork(cluster.node(2).call(UlogRequestType.GET_RESYNC_WORK)!.data);
    expect(ask()).toEqual({ result: 0n, region: 8n });
    expect(cluster.node(1).log!.syncSearch).toBe(9);
    expect(ask()).toEqual({ result: 0n, region: 0n });
  });

  it('§4.6 clog_is_remote_recovering: any region out of sync is recovering, the hint is sync_search - 1, and a server PRESUSPEND answers {0, region_count}', () => {
    const cluster = new TestCluster({ nodeCount: 2 });
    cluster.activate(CORE);
    const node2 = cluster.node(2);
    node2.call(UlogRequestType.GET_RESYNC_WORK);
    node2.setRegionSync(0, true);
    node2.call(UlogRequestType.GET_RESYNC_WORK);
    const ask = (region: number) =>
      decodeUlogRemoteRecovering(node2.region(UlogRequestType.IS_REMOTE_RECOVERING, region)!.data);
    expect(ask(5)).toEqual({ isRecovering: 1n, inSyncHint: 1n });
    // Region 5 was waited on: the next work is region 5, pulled forward by the priority list.
    node2.setRegionSync(1, true);
    expect(decodeUlogResyncWork(node2.call(UlogRequestType.GET_RESYNC_WORK)!.data)).toEqual({
      result: 1n,
      region: 5n,
    });
    // PRESUSPEND is local: only the server's copy halts, and only the server answers.
    cluster.node(1).call(UlogRequestType.PRESUSPEND);
    expect(ask(6)).toEqual({ isRecovering: 0n, inSyncHint: 8n });
    expect(node2.log!.recoveryHalted).toBe(false);
  });

  it('§4.8 a joiner’s checkpoint has no mark list: after the marker clears, the joiner’s clean bit differs from the older members’', () => {
    const cluster = new TestCluster({ nodeCount: 3 });
    cluster.activate(CORE, [1, 2]);
    resyncAll(cluster, 1);
    cluster.node(1).mark(2);
    cluster.node(2).mark(2);
    cluster.activate(CORE, [3]);
    cluster.node(2).clear(2);
    cluster.settle();
    expect(bits(cluster.node(1).log!, 'clean')[2]).toBe('0');
    expect(bits(cluster.node(3).log!, 'clean')[2]).toBe('1');
    expect(cluster.node(3).log!.markList).toEqual([]);
  });

  it('§4.8 only the first checkpoint is imported; every valid member sends one (f0be9ac90)', () => {
    const cluster = new TestCluster({ nodeCount: 3 });
    cluster.activate(CORE);
    expect(cluster.node(3).process.messages).toContain(
      `[${UUID}] Redundant checkpoint from 2 ignored.`,
    );
    expect(cluster.node(3).process.daemon.cluster.stats.checkpointsImported).toBe(1);
    expect(cluster.node(1).process.daemon.cluster.stats.checkpointsSent).toBe(2);
    expect(cluster.node(3).log!.resumeOverride).toBe(1000);
  });

  it('§4.9 local_resume: a resume within 3 s of the postsuspend sleeps before joining; without the sleep the rejoin is at once', () => {
    for (const rejoinDelay of [true, false]) {
      const cluster = new TestCluster({ nodeCount: 2, rejoinDelay });
      cluster.activate(CORE);
      const node2 = cluster.node(2);
      expect(node2.call(UlogRequestType.POSTSUSPEND)?.error).toBe(0);
      expect(node2.log!.state).toBe(LogState.SUSPENDED);
      const start = cluster.world.scheduler.now();
      expect(node2.call(UlogRequestType.RESUME)?.error).toBe(0);
      const waited = cluster.world.scheduler.now() - start;
      expect(node2.process.daemon.stats.rejoinSleeps).toBe(rejoinDelay ? 1 : 0);
      if (rejoinDelay) expect(waited).toBeGreaterThanOrEqual(2_000_000);
      else expect(waited).toBeLessThan(10_000);
      cluster.settle();
      expect(node2.cpg?.state).toBe(ClogCpgState.VALID);
    }
  });

  it('§4.10 cpg_config_callback handles the first of two node failures in one confchg (the nodes one ring change lost): delay #1 stays up and the announced server change never resends', () => {
    const outcome = (merge: false | 'node-failures') => {
      const cluster = new TestCluster({ nodeCount: 4, merge });
      cluster.activate(CORE);
      // Nodes 1 (the server) and 2 announce their POSTSUSPEND; node 4's MARK goes after them.
      cluster.node(1).send(UlogRequestType.POSTSUSPEND);
      cluster.node(2).send(UlogRequestType.POSTSUSPEND);
      const mark = cluster.node(4).send(UlogRequestType.MARK_REGION, encodeUlogRegions([3]));
      // Both nodes fail before their own POSTSUSPEND comes back: no orderly leave, NODEDOWN.
      cluster.world.scheduler.runFor(10);
      for (const nodeid of [1, 2]) {
        cluster.cpg.nodeDown(nodeid);
        cluster.node(nodeid).process.crash();
      }
      cluster.settle();
      const node4 = cluster.node(4);
      return {
        answered: node4.replies.get(mark)?.error,
        delay: node4.cpg?.delay,
        server: node4.cpg?.lowestId,
        noted: node4.process.messages.includes(`[${UUID}]  More than one node joining/leaving`),
      };
    };
    // One confchg per failure: both decrements, then the resend reaches the new server (node 3).
    expect(outcome(false)).toEqual({ answered: 0, delay: 0, server: 3, noted: false });
    // corosync's one confchg: only node 1's departure counted; nothing is resent (the kernel's 15 s
    // resend is all that is left).
    expect(outcome('node-failures')).toEqual({
      answered: undefined,
      delay: 1,
      server: 3,
      noted: true,
    });
  });

  it('§4.10 two joins in one confchg (mergeMembershipChanges true; no corosync delivers it, do_proc_join): only the first is handled', () => {
    const cluster = new TestCluster({ nodeCount: 3, merge: true });
    cluster.activate(CORE, [1]);
    for (const nodeid of [2, 3]) cluster.node(nodeid).ctr(CORE);
    const seq2 = cluster.node(2).send(UlogRequestType.RESUME);
    const seq3 = cluster.node(3).send(UlogRequestType.RESUME);
    cluster.settle();
    expect(cluster.node(1).process.messages).toContain(
      `[${UUID}]  More than one node joining/leaving`,
    );
    // Node 1 queued a checkpoint for the first joiner only; node 3 waits for ever.
    expect(cluster.node(2).replies.get(seq2)?.error).toBe(0);
    expect(cluster.node(3).replies.has(seq3)).toBe(false);
    expect(cluster.node(3).cpg?.state).toBe(ClogCpgState.INVALID);
  });

  it('§1.3 integrated_flush marks in a FLUSH are not marked, and clog_flush sets no data_size: the server’s answer echoes them back to the kernel', () => {
    const cluster = new TestCluster({ nodeCount: 2 });
    cluster.activate(DISK);
    resyncAll(cluster, 1);
    const node2 = cluster.node(2);
    expect(node2.call(UlogRequestType.FLUSH, encodeUlogRegions([3]))?.error).toBe(0);
    cluster.settle();
    expect(bits(cluster.node(1).log!, 'clean')).toBe('11111111');
    // The reply record: error 0 and the 8 bytes of the FLUSH's payload (its data_size at 156),
    // which the kernel's fill_pkg refuses with -ENOSPC: it gave a FLUSH no reply buffer.
    const seq = Math.max(...node2.rawReplies.keys());
    const record = node2.rawReplies.get(seq)!;
    const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
    expect([view.getInt32(144, true), view.getUint32(156, true), record.length]).toEqual([
      0, 8, 168,
    ]);
    expect(Array.from(record.subarray(160))).toEqual(Array.from(encodeUlogRegions([3])));
  });

  it('§4.9 orderly server change: a request the leaving server never answered is resent to the new one; SET_REGION_SYNC is answered, not resent', () => {
    const cluster = new TestCluster({ nodeCount: 3 });
    cluster.activate(CORE);
    const node2 = cluster.node(2);
    // Node 1 (the server) announces POSTSUSPEND; node 2's requests are sequenced after it, so
    // node 1, LEAVING by the time they reach it, ignores them.
    const post = cluster.node(1).send(UlogRequestType.POSTSUSPEND);
    cluster.world.scheduler.runFor(10);
    const mark = node2.send(UlogRequestType.MARK_REGION, encodeUlogRegions([1]));
    const sync = node2.send(
      UlogRequestType.SET_REGION_SYNC,
      new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]),
    );
    cluster.settle();
    expect(cluster.node(1).replies.get(post)?.error).toBe(0);
    expect(cluster.node(1).cpg).toBeUndefined();
    expect(node2.replies.get(mark)?.error).toBe(0);
    expect(node2.replies.get(sync)?.error).toBe(0);
    expect(node2.cpg?.lowestId).toBe(2);
    expect(node2.process.daemon.cluster.stats.resentRequests).toBe(1);
    expect(cluster.node(3).process.daemon.cluster.stats.resentRequests).toBe(0);
    // The resent MARK was applied again everywhere: idempotent, one entry per node.
    expect(cluster.node(3).log!.markList).toEqual([{ region: 1, nodeid: 2 }]);
    expect(bits(cluster.node(3).log!, 'sync')[1]).toBe('1');
  });

  it('§4.9 server crash: no resend; an unanswered request waits for the kernel’s 15 s resend, which the new server answers', () => {
    const cluster = new TestCluster({ nodeCount: 2 });
    cluster.activate(CORE);
    const node2 = cluster.node(2);
    const seq = node2.send(UlogRequestType.GET_RESYNC_WORK);
    // Multicast, not yet delivered to the server when it dies.
    cluster.world.scheduler.runFor(10);
    cluster.node(1).process.crash();
    cluster.settle();
    expect(node2.replies.has(seq)).toBe(false);
    expect(node2.cpg?.resendRequests).toBe(false);
    expect(node2.cpg?.workingList.length).toBe(1);
    // The kernel resends with a new seq: the new server (node 2 itself) answers it.
    const retry = node2.call(UlogRequestType.GET_RESYNC_WORK);
    expect(retry?.error).toBe(0);
  });

  it('§4.8 self-promotion: when every member that could send a checkpoint leaves, the joiner declares itself valid', () => {
    const cluster = new TestCluster({ nodeCount: 2 });
    cluster.activate(CORE, [1]);
    cluster.node(2).ctr(CORE);
    const seq = cluster.node(2).send(UlogRequestType.RESUME);
    // Node 2's join is sequenced, then node 1 dies before any message lets it checkpoint.
    cluster.world.scheduler.runFor(10);
    cluster.node(1).process.crash();
    cluster.settle();
    expect(cluster.node(2).cpg?.state).toBe(ClogCpgState.VALID);
    expect(cluster.node(2).replies.get(seq)?.error).toBe(0);
  });

  it('malformed cluster messages (truncated, unknown type, impossible size) are logged and dropped; the daemon serves on', () => {
    const cluster = new TestCluster({ nodeCount: 2 });
    cluster.activate(CORE);
    const rogue = cluster.cpg.service(9, 9);
    const handle = rogue.initialize({ deliver: () => {}, confchg: () => {} }).handle!;
    handle.join(UUID);
    const good = encodeClogRequest({
      originator: 0,
      pitServer: 0,
      luid: 0n,
      uuid: UUID,
      version: 3,
      error: 0,
      seq: 1,
      requestType: UlogRequestType.MARK_REGION,
      response: false,
      data: encodeUlogRegions([1]),
    });
    const unknownType = good.slice();
    unknownType[176] = 99;
    const impossible = good.slice();
    impossible[180] = 0xff;
    for (const bytes of [good.subarray(0, 100), unknownType, impossible])
      handle.mcastJoined('agreed', bytes);
    cluster.settle();
    expect(cluster.node(1).process.daemon.cluster.stats.malformedMessages).toBe(3);
    expect(
      cluster.node(1).process.messages.filter((text) => text.includes('Dropped a message from 9')),
    ).toHaveLength(3);
    expect(cluster.node(2).mark(2)?.error).toBe(0);
  });

  it('clog_ctr: a malformed clustered-* line is refused with -EINVAL and a clear note; a missing disk is -ENOENT', () => {
    const cluster = new TestCluster({ nodeCount: 1 });
    const node = cluster.node(1);
    const cases: [string, number, string][] = [
      ['8192 clustered-disk', EINVAL, 'Too few arguments to clustered-disk log type'],
      ['8192 clustered-core 1024 a b c', EINVAL, 'Too many arguments to clustered-core log type'],
      [
        '8192 clustered-disk log0 0',
        EINVAL,
        'Invalid region_size argument to clustered-disk log type',
      ],
      ['x clustered-core 1024', EINVAL, 'Invalid device size argument: x'],
      ['8192 disk log0 1024', EINVAL, 'Unsupported userspace log type, "disk"'],
    ];
    for (const [line, error, note] of cases) {
      expect(node.ctr(line).error, line).toBe(error);
      expect(node.process.messages.at(-1)).toContain(note);
    }
    expect(node.ctr('8192 clustered-core 1024 nosync block_on_error').error).toBe(0);
    expect(node.ctr('8192 clustered-core 1024').error).toBe(EINVAL);
    expect(node.process.messages.at(-1)).toContain('Log already exists');
  });

  it('§1.3 clog_ctr answers a clustered-disk CTR with its device name at version 2 or later, nothing at version 1', () => {
    const cluster = new TestCluster({ nodeCount: 1 });
    expect(new TextDecoder().decode(cluster.node(1).ctr(DISK).data)).toBe('log0\u0000');
    const other = new TestCluster({ nodeCount: 1 });
    expect(other.node(1).ctr(DISK, 1).data.length).toBe(0);
  });

  it('clog_ctr names the first argument after a "clustered-disk" type word, whatever _clog_ctr made of the line, and nothing after "clustered-core"', () => {
    const cluster = new TestCluster({ nodeCount: 1 });
    // A core log by its arguments, under the disk type word: the kernel is told "1024".
    const core = cluster.node(1).ctr('8192 clustered-disk 1024 nosync');
    expect(new TextDecoder().decode(core.data)).toBe('1024\u0000');
    expect(cluster.node(1).log?.disk).toBeNull();
    // A disk log by its arguments, under the core type word: no name, though the log is on disk.
    const other = new TestCluster({ nodeCount: 1 });
    const disk = other.node(1).ctr('8192 clustered-core log0 1024');
    expect([disk.error, disk.data.length]).toEqual([0, 0]);
    expect(other.node(1).log?.disk).not.toBeNull();
  });

  it('STATUS_INFO and STATUS_TABLE as cmirrord prints them', () => {
    const cluster = new TestCluster({ nodeCount: 2 });
    cluster.activate(DISK);
    expect(decodeUlogStatus(cluster.node(2).call(UlogRequestType.STATUS_INFO)!.data)).toBe(
      '3 clustered-disk log0 A',
    );
    expect(decodeUlogStatus(cluster.node(2).call(UlogRequestType.STATUS_TABLE)!.data)).toBe(
      'clustered-disk log0 1024  ',
    );
  });

  it('§4.7 write_log is a plain write: over a volatile write cache the clean bits are not durable until the device writes back', () => {
    const cluster = new TestCluster({ nodeCount: 1, logWriteCache: true });
    cluster.activate(DISK);
    // The master resume wrote a fresh log (all dirty) but never flushed it: nothing is durable yet.
    expect(readDiskLogImage(cluster.device('log0').durableContent, 8).valid).toBe(false);
    expect(readDiskLogImage(cluster.device('log0').content, 8).valid).toBe(true);
  });
});

describe('cmirrord local.c routing (§4.3)', () => {
  it('do_local_work: CLEAR is acknowledged before the cluster sees it; a cluster request on a log without a CPG is answered at once with cluster_send’s error', () => {
    const cluster = new TestCluster({ nodeCount: 2 });
    cluster.activate(CORE, [1]);
    const node1 = cluster.node(1);
    const seq = node1.send(UlogRequestType.CLEAR_REGION, encodeUlogRegions([1]));
    // The ack is sent by the poll iteration that multicasts the clear, before any delivery.
    cluster.world.scheduler.runFor(1);
    expect(node1.replies.get(seq)?.error).toBe(0);
    expect(node1.cpg?.workingList.length).toBe(0);
    const node2 = cluster.node(2);
    node2.ctr(CORE);
    expect(node2.region(UlogRequestType.IS_CLEAN, 1)?.error).toBe(-2);
    // Local requests read the pending replica: GET_REGION_SIZE works before the resume.
    expect(decodeUlogU64(node2.call(UlogRequestType.GET_REGION_SIZE)!.data)).toBe(1024n);
    expect(node2.region(UlogRequestType.IN_SYNC, 1)?.error).toBe(EINVAL);
  });

  it('do_local_work: a RESUME that local_resume refuses is answered with u_rq->error untouched (0), so the kernel takes the resume as done; nothing was joined', () => {
    const cluster = new TestCluster({ nodeCount: 2 });
    const node1 = cluster.node(1);
    // No CTR: the log is neither official nor pending (-EINVAL from local_resume).
    expect(node1.call(UlogRequestType.RESUME)?.error).toBe(0);
    expect(node1.process.messages).toContain(
      'clog_resume called on log that is not official or pending',
    );
    // corosync refuses the handle on a node that is down (create_cluster_cpg's -EPERM).
    const node2 = cluster.node(2);
    node2.ctr(CORE);
    cluster.cpg.nodeDown(2);
    expect(node2.call(UlogRequestType.RESUME)?.error).toBe(0);
    expect(node2.process.messages).toContain('clog_resume:  Failed to create cluster CPG');
    // The log stayed pending and out of any CPG: cluster requests fail at cluster_send.
    expect(node2.log?.state).toBe(LogState.NEW);
    expect(node2.mark(1)?.error).toBe(ENOENT);
  });

  it('kernel_recv: request_type 0 is NACKed with -EAGAIN, an unknown type is ignored without a reply (local.c)', () => {
    const cluster = new TestCluster({ nodeCount: 1 });
    cluster.activate(CORE);
    const node = cluster.node(1);
    const seq = node.send(UlogRequestType.GET_SYNC_COUNT);
    cluster.settle();
    expect(node.replies.get(seq)?.error).toBe(0);
    const record = (type: number, seqValue: number) => {
      const bytes = new Uint8Array(160);
      new TextEncoder().encodeInto(UUID, bytes.subarray(8));
      const view = new DataView(bytes.buffer);
      view.setUint32(140, 3, true);
      view.setUint32(148, seqValue, true);
      view.setUint32(152, type, true);
      return bytes;
    };
    node.process.deliver(record(0, 77), node.process.generation);
    node.process.deliver(record(40, 78), node.process.generation);
    cluster.settle();
    expect(node.replies.get(77)?.error).toBe(-11);
    expect(node.replies.has(78)).toBe(false);
    expect(node.process.messages).toContain('Invalid log request received (40), ignoring.');
  });

  it('clog_dtr: a DTR on a log still in its CPG (no suspend first) leaves the CPG; the others see it go', () => {
    const cluster = new TestCluster({ nodeCount: 2 });
    cluster.activate(CORE);
    expect(cluster.node(2).call(UlogRequestType.DTR)?.error).toBe(0);
    cluster.settle();
    expect(cluster.node(2).process.messages).toContain(`[${UUID}] DTR before SUS: leaving CPG`);
    expect(cluster.node(2).log).toBeUndefined();
    expect(cluster.node(1).cpg?.lowestId).toBe(1);
    expect(cluster.cpg.members(UUID).map((member) => member.nodeid)).toEqual([1]);
  });

  it('clog_postsuspend: the reply comes only after the node’s own leave confchg (cpg_leave_callback)', () => {
    const cluster = new TestCluster({ nodeCount: 2 });
    cluster.activate(CORE);
    const node2 = cluster.node(2);
    const seq = node2.send(UlogRequestType.POSTSUSPEND);
    // Its own POSTSUSPEND comes back after 50 µs; the leave confchg 50 µs after that.
    cluster.world.scheduler.runFor(60);
    expect(node2.cpg?.state).toBe(ClogCpgState.LEAVING);
    expect(node2.replies.has(seq)).toBe(false);
    cluster.settle();
    expect(node2.replies.get(seq)?.error).toBe(0);
    expect(node2.log?.resumeOverride).toBe(0);
    expect(node2.process.daemon.logPendingList.length).toBe(1);
  });
});
