/**
 * The race local_resume's 3 s rejoin sleep works around (reference
 * userspace-and-cluster-logs.md §4.9 delay #2, §5.7): a member prepares a
 * checkpoint for node B; B leaves and joins again; the checkpoint meant for
 * B's previous session reaches the new one first, and B imports a state
 * that misses everything between the snapshot and its new join.
 *
 * In cluster.c the snapshot is taken at the end of the next message a
 * member handles after B's join (`cpg_message_callback` →
 * `prepare_checkpoint`) and multicast once `cpg_dispatch` returns
 * (`do_checkpoints`). B's leave removes that pending checkpoint
 * (`cpg_leave_callback`) only if the member handles the leave first, and
 * `import_checkpoint` checks nothing but the bitmap size: no session, no
 * generation. Three nodes here: node 1 is the server (its log device takes
 * 10 ms a write), node 2 the member whose checkpoint goes stale, node 3 is B.
 */
import { describe, expect, it } from 'vitest';
import { LogState } from '../../../src/log/cluster/cluster-constants.js';
import {
  encodeUlogRegionSync,
  encodeUlogRegions,
  UlogRequestType,
} from '../../../src/log/userspace/index.js';
import { bits, TestCluster, type TestNode, UUID } from './cmirrord-test-kit.js';

const TABLE = '8192 clustered-disk log0 1024 nosync';
const MARKED = 2;
const OUT_OF_SYNC = 5;
const WRITE_TICKS = 10_000;

/** The last checkpoint a node imported: the sender's nodeid. */
function importedFrom(node: TestNode): number | undefined {
  const prefix = `[${UUID}] Checkpoint data received from `;
  const line = node.process.messages.filter((text) => text.startsWith(prefix)).at(-1);
  return line === undefined ? undefined : Number.parseInt(line.slice(prefix.length), 10);
}

/** Every replica's clean and sync bits. */
function replicas(cluster: TestCluster): string[] {
  return cluster.nodes.map((node) => `${bits(node.log!, 'clean')}/${bits(node.log!, 'sync')}`);
}

/** Runs until node 3's request `seq` is answered. */
function until(cluster: TestCluster, seq: number): void {
  cluster.world.scheduler.runUntil(() => cluster.node(3).replies.has(seq), { stepsMax: 200_000 });
}

/**
 * Node 3 resumes; nodes 1 and 2 write while it leaves and joins again
 * (`suspend`: POSTSUSPEND then RESUME of the same log; `reload`: a DTR
 * and a new CTR in between, as a deactivation and activation do).
 * `lagTicks` is how late node 2's corosync hands it what the CPG delivers.
 */
function rejoin(options: {
  readonly rejoinDelay: boolean;
  readonly path: 'suspend' | 'reload';
  readonly lagTicks: number;
}) {
  const cluster = new TestCluster({
    nodeCount: 3,
    rejoinDelay: options.rejoinDelay,
    logWriteTicks: WRITE_TICKS,
  });
  cluster.activate(TABLE, [1, 2]);
  cluster.cpg.setDeliveryDelayTicks(2, options.lagTicks);
  const [one, , three] = cluster.nodes as [TestNode, TestNode, TestNode];
  three.ctr(TABLE);
  // Node 1's checkpoint makes node 3 valid; node 2 has not even seen the join yet.
  expect(three.call(UlogRequestType.RESUME)?.error).toBe(0);
  // The server marks a region and takes one out of sync, then writes its log (blocked 10 ms).
  one.send(UlogRequestType.MARK_REGION, encodeUlogRegions([MARKED]));
  one.send(
    UlogRequestType.SET_REGION_SYNC,
    encodeUlogRegionSync({ region: OUT_OF_SYNC, inSync: 0 }),
  );
  one.send(UlogRequestType.FLUSH);
  three.send(UlogRequestType.PRESUSPEND);
  until(cluster, three.send(UlogRequestType.POSTSUSPEND));
  const left = cluster.world.scheduler.now();
  if (options.path === 'reload') {
    expect(three.call(UlogRequestType.DTR)?.error).toBe(0);
    expect(three.ctr(TABLE).error).toBe(0);
  }
  const resume = three.send(UlogRequestType.RESUME);
  // local_resume joins the CPG (after its sleep, if any) before the RESUME is multicast.
  cluster.world.scheduler.runUntil(() => three.cpg !== undefined, { stepsMax: 200_000 });
  const rejoinTicks = cluster.world.scheduler.now() - left;
  cluster.settle();
  expect(three.replies.get(resume)?.error).toBe(0);
  expect(three.log!.state).toBe(LogState.RESUMED);
  return { cluster, rejoinTicks, importedFrom: importedFrom(three), replicas: replicas(cluster) };
}

/** Node 1's and node 2's copies after the marks: region 2 dirty, region 5 out of sync. */
const AGREED = '11011111/11111011';
/** A copy from before them: what node 2 held when it prepared node 3's first checkpoint. */
const STALE = '11111111/11111111';

describe('the stale checkpoint behind the 3 s rejoin sleep (local_resume, §4.9 delay #2, §5.7)', () => {
  it('a member that lags 3 ms: without the sleep, the checkpoint it prepared for node 3’s first session is the first to reach the second one, which imports it and diverges', () => {
    const run = rejoin({ rejoinDelay: false, path: 'suspend', lagTicks: 3000 });
    expect(run.rejoinTicks).toBe(0);
    expect(run.importedFrom).toBe(2);
    expect(run.replicas).toEqual([AGREED, AGREED, STALE]);
    // Node 2 never saw node 3 leave before it sent it: nothing was there to remove.
    expect(run.cluster.node(2).process.messages.join('\n')).not.toContain('Removing pending');
    // The lag must outlast node 3's leave and rejoin (200 µs here): at 100 µs the checkpoint is
    // sequenced before the new join, which never sees it.
    expect(rejoin({ rejoinDelay: false, path: 'suspend', lagTicks: 100 }).replicas).toEqual([
      AGREED,
      AGREED,
      AGREED,
    ]);
  });

  it('with the sleep, node 3 joins again 3 s later, long after the stale checkpoint went out to nobody: it imports a fresh one and every copy agrees', () => {
    const run = rejoin({ rejoinDelay: true, path: 'suspend', lagTicks: 3000 });
    expect(run.rejoinTicks).toBeGreaterThan(2_000_000);
    expect(run.replicas).toEqual([AGREED, AGREED, AGREED]);
  });

  it('the sleep guards a suspend and resume only: a DTR and a new CTR make a new log_c whose last postsuspend is "never", so a deactivation and reactivation rejoin at once and diverge', () => {
    const run = rejoin({ rejoinDelay: true, path: 'reload', lagTicks: 3000 });
    expect(run.rejoinTicks).toBe(0);
    expect(run.cluster.node(3).process.daemon.stats.rejoinSleeps).toBe(0);
    expect(run.importedFrom).toBe(2);
    expect(run.replicas).toEqual([AGREED, AGREED, STALE]);
  });

  it('no lag, no race: a member blocked inside cpg_dispatch (the server writing its log) still handles the leave before do_checkpoints, and cpg_leave_callback drops the pending checkpoint', () => {
    const cluster = new TestCluster({
      nodeCount: 3,
      rejoinDelay: false,
      logWriteTicks: WRITE_TICKS,
    });
    cluster.activate(TABLE, [1, 2]);
    const [one, two, three] = cluster.nodes as [TestNode, TestNode, TestNode];
    const sentBefore = one.process.daemon.cluster.stats.checkpointsSent;
    const start = cluster.world.scheduler.now();
    three.ctr(TABLE);
    // Node 3's join and RESUME, then a mark and a flush, reach node 1 together: it prepares node
    // 3's checkpoint after the RESUME, then blocks writing its log in the same dispatch.
    const resume = three.send(UlogRequestType.RESUME);
    two.send(UlogRequestType.MARK_REGION, encodeUlogRegions([MARKED]));
    two.send(UlogRequestType.FLUSH);
    until(cluster, resume);
    three.send(UlogRequestType.PRESUSPEND);
    until(cluster, three.send(UlogRequestType.POSTSUSPEND));
    until(cluster, three.send(UlogRequestType.RESUME));
    // Node 3 is back before node 1's write is done.
    expect(cluster.world.scheduler.now() - start).toBeLessThan(WRITE_TICKS);
    cluster.settle();
    expect(one.process.messages).toContain(`[${UUID}] Removing pending checkpoint (3 is leaving)`);
    // Node 1 sent one checkpoint for node 3: the second session's, prepared after its join.
    expect(one.process.daemon.cluster.stats.checkpointsSent - sentBefore).toBe(1);
    expect(importedFrom(three)).toBe(2);
    const agreed = replicas(cluster);
    expect(new Set(agreed).size).toBe(1);
  });
});
