import { describe, expect, it } from 'vitest';
import { CmirrordProcess } from '../../../sim/cluster/cmirrord-process.js';
import { CpgModel } from '../../../sim/cluster/cpg/cpg-model.js';
import { resolveSimUlogFaults } from '../../../sim/userspace/sim-ulog-faults.js';
import { SimUlogTransport } from '../../../sim/userspace/sim-ulog-transport.js';
import { World } from '../../../sim/world.js';
import { fixedLatency } from '../../../src/block/latency.js';
import { type Blocking, spawn } from '../../../src/concurrency/blocking.js';
import '../../../src/log/builtin-logs.js';
import { ENOSPC } from '../../../src/errno.js';
import { readDiskLogImage } from '../../../src/log/disk-log-format.js';
import { createDirtyLog } from '../../../src/log/registry.js';
import {
  UlogTransfer,
  USERSPACE_LOG_TYPE_NAME,
  type UserspaceLog,
} from '../../../src/log/userspace/index.js';

/** Two nodes, each a kernel transfer layer → simulated link → its cmirrord, over one CPG. */
function twoNodes(tableArgs: readonly string[] = ['LVM-e2e', 'clustered-disk', 'log0', '1024']) {
  const world = new World({ seed: 4 });
  const cpg = new CpgModel({
    scheduler: world.scheduler,
    random: world.random,
    latency: fixedLatency(50),
  });
  return [1, 2].map((nodeid) => {
    const link = new SimUlogTransport({
      scheduler: world.scheduler,
      random: world.random,
      faults: resolveSimUlogFaults(),
    });
    const process = new CmirrordProcess({
      scheduler: world.scheduler,
      nodeid,
      cpg: (pid) => cpg.service(nodeid, pid),
      getDevice: (name, sectors) => world.openDevice(name, sectors),
      sendToKernel: (reply) => link.sendReply(reply),
    });
    link.connectDaemon(process);
    let luid = BigInt(nodeid * 100);
    const transfer = new UlogTransfer({
      scheduler: world.scheduler,
      channel: link,
      allocateLuid: () => luid++,
    });
    const log = createDirtyLog(
      USERSPACE_LOG_TYPE_NAME,
      {
        scheduler: world.scheduler,
        targetLengthSectors: 8192,
        flushCallback: null,
        getDevice: (name, sectors = 1) => world.openDevice(name, sectors),
        raiseEvent: () => {},
        userspaceTransfer: () => transfer,
      },
      [...tableArgs],
    ) as UserspaceLog;
    const call = <T>(task: Blocking<T>): T => {
      let result: { value: T } | null = null;
      spawn(task, (value) => {
        result = { value };
      });
      world.scheduler.runUntil(() => result !== null, { stepsMax: 200_000 });
      return (result as unknown as { value: T }).value;
    };
    return { world, process, log, call };
  });
}

describe('a node’s kernel reaches its cmirrord through the simulated link (SimUlogDaemonEnd)', () => {
  it('the userspace log shim over two cmirrords: the CTR names the device, marks from node 2 reach the server’s disk write', () => {
    const [one, two] = twoNodes();
    expect(one!.log.logDeviceName).toBe('log0');
    expect(one!.call(one!.log.resume())).toBe(0);
    expect(two!.call(two!.log.resume())).toBe(0);
    // The initial resync through node 2's kernel.
    for (;;) {
      const work = two!.call(two!.log.getResyncWork());
      if (work.result !== 1) break;
      two!.call(two!.log.setRegionSync(work.region, true));
      two!.log.clearRegion(work.region);
      expect(two!.call(two!.log.flush())).toBe(0);
    }
    expect(two!.call(two!.log.getSyncCount())).toBe(8);
    two!.log.markRegion(6);
    expect(two!.call(two!.log.flush())).toBe(0);
    const image = readDiskLogImage(one!.world.device('log0').content, 8);
    expect(Array.from({ length: 8 }, (_, region) => image.cleanBits.test(region)).join('')).toBe(
      '11111101',
    );
    expect(one!.process.daemon.diskWrites).toBeGreaterThan(1);
    expect(two!.process.daemon.diskWrites).toBe(0);
    expect(two!.call(two!.log.status('info'))).toBe('3 clustered-disk log0 A');
  });

  it('§1.3 an integrated_flush table over stock cmirrord: clog_flush leaves the marks in the reply and the kernel, which gave a FLUSH no reply buffer, refuses it (fill_pkg: -ENOSPC)', () => {
    const [one, two] = twoNodes(['LVM-e2e', 'integrated_flush', 'clustered-disk', 'log0', '1024']);
    expect(one!.call(one!.log.resume())).toBe(0);
    expect(two!.call(two!.log.resume())).toBe(0);
    // A flush with nothing to carry has an empty payload and succeeds.
    expect(two!.call(two!.log.flush())).toBe(0);
    two!.log.markRegion(6);
    expect(two!.call(two!.log.flush())).toBe(ENOSPC);
    // And the mark never reached the replicas: region 6 is as dirty as the fresh log left it.
    expect(one!.process.daemon.getLog('LVM-e2e', 0n)?.markList).toEqual([]);
  });
});
