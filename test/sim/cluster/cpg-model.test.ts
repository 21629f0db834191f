import { describe, expect, it } from 'vitest';
import {
  CPG_MAX_NAME_LENGTH,
  CpgReason,
  CS_ERR_BAD_HANDLE,
  CS_ERR_BUSY,
  CS_ERR_EXIST,
  CS_ERR_LIBRARY,
  CS_ERR_NAME_TOO_LONG,
  CS_ERR_NOT_EXIST,
  CS_ERR_TRY_AGAIN,
  CS_OK,
} from '../../../src/log/cluster/cpg.js';
import { address, CpgTestProcess, newCpg } from './cpg-test-kit.js';

const { JOIN, LEAVE, NODEDOWN, PROCDOWN } = CpgReason;
const GROUP = 'log-uuid';

describe('the simulated CPG service (§4.10)', () => {
  it('a member receives its own messages and every member gets them in one order; nothing runs inside the call', () => {
    const { world, model } = newCpg();
    const a = new CpgTestProcess(model, 1, 100);
    const b = new CpgTestProcess(model, 2, 200);
    expect(a.handle.join(GROUP)).toBe(CS_OK);
    expect(b.handle.join(GROUP)).toBe(CS_OK);
    expect(a.send('a1')).toBe(CS_OK);
    expect(b.send('b1')).toBe(CS_OK);
    expect(a.seen).toEqual([]);
    world.scheduler.runUntilIdle();
    expect(a.texts).toEqual(['a1', 'b1']);
    expect(b.texts).toEqual(['a1', 'b1']);
    expect(a.seen[0]).toEqual({
      kind: 'confchg',
      members: [address(1, 100, JOIN)],
      left: [],
      joined: [address(1, 100, JOIN)],
    });
    // b joined after a: its first event is its own join, with a listed first.
    expect(b.seen[0]).toEqual({
      kind: 'confchg',
      members: [address(1, 100, JOIN), address(2, 200, JOIN)],
      left: [],
      joined: [address(2, 200, JOIN)],
    });
    expect(a.seen.length).toBe(4);
    expect(a.handle.localGet()).toBe(1);
    expect(b.handle.membershipGet(GROUP)).toEqual([address(1, 100, JOIN), address(2, 200, JOIN)]);
    expect(b.handle.membershipGet('other')).toEqual([]);
  });

  it('a joiner sees no message sequenced before its join, and every one after', () => {
    const { world, model } = newCpg();
    const a = new CpgTestProcess(model, 1, 100);
    const b = new CpgTestProcess(model, 2, 200);
    a.handle.join(GROUP);
    a.send('before');
    b.handle.join(GROUP);
    a.send('after');
    world.scheduler.runUntilIdle();
    expect(a.texts).toEqual(['before', 'after']);
    expect(b.texts).toEqual(['after']);
  });

  it('libcpg’s error codes (corosync exec/cpg.c): mcast or leave unjoined, join twice, a name too long, calls after finalize', () => {
    const { world, model } = newCpg();
    const a = new CpgTestProcess(model, 1, 100);
    expect(a.send('x')).toBe(CS_ERR_NOT_EXIST);
    expect(a.handle.leave(GROUP)).toBe(CS_ERR_NOT_EXIST);
    expect(a.handle.join('n'.repeat(CPG_MAX_NAME_LENGTH + 1))).toBe(CS_ERR_NAME_TOO_LONG);
    expect(a.handle.join('n'.repeat(CPG_MAX_NAME_LENGTH))).toBe(CS_OK);
    expect(a.handle.join(GROUP)).toBe(CS_ERR_EXIST);
    world.scheduler.runUntilIdle();
    // The model refuses a leave naming another group (corosync would send that group a leave).
    expect(a.handle.leave(GROUP)).toBe(CS_ERR_NOT_EXIST);
    expect(a.handle.leave('n'.repeat(CPG_MAX_NAME_LENGTH))).toBe(CS_OK);
    expect(a.send('x')).toBe(CS_ERR_NOT_EXIST);
    expect(a.handle.finalize()).toBe(CS_OK);
    for (const call of [
      () => a.handle.finalize(),
      () => a.handle.dispatch('all'),
      () => a.handle.join(GROUP),
      () => a.handle.leave(GROUP),
      () => a.send('x'),
    ]) {
      expect(call()).toBe(CS_ERR_BAD_HANDLE);
    }
  });

  it('cpd_state as corosync’s exec/cpg.c keeps it: joining until the own join confchg reaches the node (mcast allowed, leave BUSY), leaving until the own leave confchg does (mcast refused, the same group EXIST, another BUSY)', () => {
    const { world, model } = newCpg();
    const a = new CpgTestProcess(model, 1, 100);
    const b = new CpgTestProcess(model, 2, 200);
    b.handle.join(GROUP);
    world.scheduler.runUntilIdle();
    expect(a.handle.join(GROUP)).toBe(CS_OK);
    // Sequenced already, but its confchg has not reached node 1: still joining.
    expect(a.handle.leave(GROUP)).toBe(CS_ERR_BUSY);
    expect(a.handle.join(GROUP)).toBe(CS_ERR_EXIST);
    // Its message follows its join in the order: it receives it.
    expect(a.send('early')).toBe(CS_OK);
    world.scheduler.runFor(9);
    expect(a.handle.leave(GROUP)).toBe(CS_ERR_BUSY);
    world.scheduler.runFor(1);
    expect(a.seen.map((event) => event.kind)).toEqual(['confchg', 'message']);
    expect(a.handle.leave(GROUP)).toBe(CS_OK);
    expect(a.send('late')).toBe(CS_ERR_NOT_EXIST);
    expect(a.handle.leave(GROUP)).toBe(CS_ERR_NOT_EXIST);
    expect(a.handle.join(GROUP)).toBe(CS_ERR_EXIST);
    expect(a.handle.join('other')).toBe(CS_ERR_BUSY);
    world.scheduler.runUntilIdle();
    // Its leave reached it: it may join again.
    expect(a.seen.at(-1)).toMatchObject({ kind: 'confchg', left: [address(1, 100, LEAVE)] });
    expect(a.handle.join(GROUP)).toBe(CS_OK);
  });

  it('one process joins a group through one handle at a time: a second handle is refused (CS_ERR_EXIST), and so is a new one while a departure of the process waits (CS_ERR_TRY_AGAIN)', () => {
    const { world, model } = newCpg({ merge: true });
    const first = new CpgTestProcess(model, 1, 100);
    first.handle.join(GROUP);
    world.scheduler.runUntilIdle();
    const result = first.service.initialize({ deliver: () => {}, confchg: () => {} });
    const second = result.handle!;
    expect(second.join(GROUP)).toBe(CS_ERR_EXIST);
    expect(second.join('other')).toBe(CS_OK);
    // Finalizing the first handle: its departure (PROCDOWN) waits to be merged this instant.
    first.handle.finalize();
    const third = first.service.initialize({ deliver: () => {}, confchg: () => {} }).handle!;
    expect(third.join(GROUP)).toBe(CS_ERR_TRY_AGAIN);
    world.scheduler.runUntilIdle();
    expect(third.join(GROUP)).toBe(CS_OK);
  });

  it('confchg member lists are sorted by nodeid, then pid, as corosync keeps its process list', () => {
    const { world, model } = newCpg();
    const processes = [
      new CpgTestProcess(model, 3, 300),
      new CpgTestProcess(model, 1, 101),
      new CpgTestProcess(model, 1, 100),
    ];
    for (const process of processes) process.handle.join(GROUP);
    world.scheduler.runUntilIdle();
    const sorted = [address(1, 100, JOIN), address(1, 101, JOIN), address(3, 300, JOIN)];
    expect(processes[0]!.seen.at(-1)).toMatchObject({ members: sorted });
    expect(model.members(GROUP)).toEqual(sorted);
  });

  it('corosync’s rule (the default): one confchg per join, leave and process exit (do_proc_join, do_proc_leave); the nodes that fail together leave in one (the downlist)', () => {
    const { world, model } = newCpg();
    const a = new CpgTestProcess(model, 1, 100);
    const b = new CpgTestProcess(model, 2, 200);
    const c = new CpgTestProcess(model, 3, 300);
    const c2 = new CpgTestProcess(model, 3, 301);
    const d = new CpgTestProcess(model, 4, 400);
    for (const process of [a, b, c, c2, d]) process.handle.join(GROUP);
    world.scheduler.runUntilIdle();
    const confchgs = () => a.seen.filter((event) => event.kind === 'confchg');
    expect(confchgs().map((event) => event.joined.length)).toEqual([1, 1, 1, 1, 1]);
    d.handle.leave(GROUP);
    model.nodeDown(2);
    model.nodeDown(3);
    a.send('after');
    world.scheduler.runUntilIdle();
    expect(
      a.seen.slice(-3).map((event) => (event.kind === 'confchg' ? event.left : event.text)),
    ).toEqual([
      [address(4, 400, LEAVE)],
      [address(2, 200, NODEDOWN), address(3, 300, NODEDOWN), address(3, 301, NODEDOWN)],
      'after',
    ]);
  });

  it('while node failures wait to be merged: a failing node’s last message goes before their confchg, a survivor’s after it, and a process exit is a confchg of its own', () => {
    const { world, model } = newCpg();
    const processes = [1, 2, 3, 4].map((nodeid) => new CpgTestProcess(model, nodeid, nodeid * 100));
    for (const process of processes) process.handle.join(GROUP);
    world.scheduler.runUntilIdle();
    const [a, , c, d] = processes as [
      CpgTestProcess,
      CpgTestProcess,
      CpgTestProcess,
      CpgTestProcess,
    ];
    model.nodeDown(2);
    c.send('from 3');
    a.send('from 1');
    model.nodeDown(3);
    d.service.processExited();
    world.scheduler.runUntilIdle();
    expect(
      a.seen.slice(-4).map((event) => (event.kind === 'confchg' ? event.left : event.text)),
    ).toEqual([
      'from 3',
      [address(2, 200, NODEDOWN), address(3, 300, NODEDOWN)],
      'from 1',
      [address(4, 400, PROCDOWN)],
    ]);
  });

  it('a node’s deliveries can run late (setDeliveryDelayTicks): in order, while what it multicasts is sequenced when sent', () => {
    const { world, model } = newCpg();
    const a = new CpgTestProcess(model, 1, 100);
    const b = new CpgTestProcess(model, 2, 200);
    a.handle.join(GROUP);
    b.handle.join(GROUP);
    world.scheduler.runUntilIdle();
    model.setDeliveryDelayTicks(2, 1000);
    a.send('a1');
    world.scheduler.runFor(100);
    expect(a.texts).toEqual(['a1']);
    expect(b.texts).toEqual([]);
    // b has not seen a1, yet its own message is sequenced after it.
    b.send('b1');
    model.setDeliveryDelayTicks(2, 0);
    a.send('a2');
    world.scheduler.runUntilIdle();
    expect(a.texts).toEqual(['a1', 'b1', 'a2']);
    expect(b.texts).toEqual(['a1', 'b1', 'a2']);
    expect(() => model.setDeliveryDelayTicks(2, -1)).toThrow(
      'CPG delivery delay -1 is not an integer ≥ 0 ticks',
    );
  });

  it('an orderly leaver gets the messages sequenced before its leave, then its own confchg, then nothing', () => {
    const { world, model } = newCpg();
    const a = new CpgTestProcess(model, 1, 100);
    const b = new CpgTestProcess(model, 2, 200);
    a.handle.join(GROUP);
    b.handle.join(GROUP);
    world.scheduler.runUntilIdle();
    b.send('m1');
    expect(b.handle.leave(GROUP)).toBe(CS_OK);
    a.send('m2');
    world.scheduler.runUntilIdle();
    expect(b.texts).toEqual(['m1']);
    const leave = {
      kind: 'confchg',
      members: [address(1, 100, JOIN)],
      left: [address(2, 200, LEAVE)],
      joined: [],
    };
    expect(b.seen.at(-1)).toEqual(leave);
    expect(a.seen.slice(-2)).toEqual([leave, { kind: 'message', nodeid: 1, pid: 100, text: 'm2' }]);
  });

  it('a process that exits leaves with PROCDOWN, a node that goes down takes all its processes with NODEDOWN', () => {
    const { world, model } = newCpg({ merge: false });
    const a = new CpgTestProcess(model, 1, 100);
    const b = new CpgTestProcess(model, 2, 200);
    const c1 = new CpgTestProcess(model, 3, 300);
    const c2 = new CpgTestProcess(model, 3, 301);
    for (const process of [a, b, c1, c2]) process.handle.join(GROUP);
    world.scheduler.runUntilIdle();
    b.service.processExited();
    b.service.processExited();
    model.nodeDown(3);
    a.send('after');
    world.scheduler.runUntilIdle();
    expect(
      a.seen.slice(-4).map((event) => (event.kind === 'confchg' ? event.left : event.text)),
    ).toEqual([
      [address(2, 200, PROCDOWN)],
      [address(3, 300, NODEDOWN)],
      [address(3, 301, NODEDOWN)],
      'after',
    ]);
    // The dead see nothing more; a down node cannot reach the service until it is up again.
    expect(b.texts).toEqual([]);
    // Node 3 went down before b's departure reached it: it never sees it.
    expect(c1.seen.filter((event) => event.kind === 'confchg').length).toBe(2);
    expect(model.service(3, 302).initialize({ deliver: () => {}, confchg: () => {} }).error).toBe(
      CS_ERR_LIBRARY,
    );
    expect(b.service.initialize({ deliver: () => {}, confchg: () => {} }).error).toBe(
      CS_ERR_LIBRARY,
    );
    model.nodeUp(3);
    expect(new CpgTestProcess(model, 3, 302).handle.join(GROUP)).toBe(CS_OK);
    expect(model.members(GROUP)).toEqual([address(1, 100, JOIN), address(3, 302, JOIN)]);
  });

  it('finalize without leaving is the process going away: the others see PROCDOWN', () => {
    const { world, model } = newCpg();
    const a = new CpgTestProcess(model, 1, 100);
    const b = new CpgTestProcess(model, 2, 200);
    a.handle.join(GROUP);
    b.handle.join(GROUP);
    b.handle.finalize();
    world.scheduler.runUntilIdle();
    expect(a.seen.at(-1)).toEqual({
      kind: 'confchg',
      members: [address(1, 100, JOIN)],
      left: [address(2, 200, PROCDOWN)],
      joined: [],
    });
  });

  it('messages a dead process multicast before it died reach every survivor', () => {
    const { world, model } = newCpg();
    const a = new CpgTestProcess(model, 1, 100);
    const b = new CpgTestProcess(model, 2, 200);
    a.handle.join(GROUP);
    b.handle.join(GROUP);
    b.send('last words');
    b.service.processExited();
    world.scheduler.runUntilIdle();
    expect(a.texts).toEqual(['last words']);
    expect(a.seen.at(-1)?.kind).toBe('confchg');
  });

  it('with mergeMembershipChanges true (beyond corosync) two joins, or two node failures, of one instant arrive as one confchg', () => {
    const { world, model } = newCpg({ merge: true });
    const a = new CpgTestProcess(model, 1, 100);
    a.handle.join(GROUP);
    world.scheduler.runUntilIdle();
    const b = new CpgTestProcess(model, 2, 200);
    const c = new CpgTestProcess(model, 3, 300);
    b.handle.join(GROUP);
    c.handle.join(GROUP);
    world.scheduler.runUntilIdle();
    const both = [address(2, 200, JOIN), address(3, 300, JOIN)];
    expect(a.seen.at(-1)).toEqual({
      kind: 'confchg',
      members: [address(1, 100, JOIN), ...both],
      left: [],
      joined: both,
    });
    expect(c.seen).toEqual([a.seen.at(-1)]);
    model.nodeDown(2);
    model.nodeDown(3);
    world.scheduler.runUntilIdle();
    expect(a.seen.at(-1)).toEqual({
      kind: 'confchg',
      members: [address(1, 100, JOIN)],
      left: [address(2, 200, NODEDOWN), address(3, 300, NODEDOWN)],
      joined: [],
    });
  });

  it('with mergeMembershipChanges true a message multicast while changes wait comes right after their confchg', () => {
    const { world, model } = newCpg({ merge: true });
    const a = new CpgTestProcess(model, 1, 100);
    const b = new CpgTestProcess(model, 2, 200);
    a.handle.join(GROUP);
    a.send('a');
    b.handle.join(GROUP);
    b.send('b');
    world.scheduler.runUntilIdle();
    expect(
      b.seen.map((event) => (event.kind === 'confchg' ? event.joined.length : event.text)),
    ).toEqual([2, 'a', 'b']);
  });

  it('with mergeMembershipChanges true a join and a leave never share a confchg', () => {
    const { world, model } = newCpg({ merge: true });
    const a = new CpgTestProcess(model, 1, 100);
    const b = new CpgTestProcess(model, 2, 200);
    const c = new CpgTestProcess(model, 3, 300);
    a.handle.join(GROUP);
    world.scheduler.runUntilIdle();
    b.handle.join(GROUP);
    a.handle.leave(GROUP);
    c.handle.join(GROUP);
    world.scheduler.runUntilIdle();
    const changes = b.seen.filter((event) => event.kind === 'confchg');
    expect(changes.map((event) => [event.joined.length, event.left.length])).toEqual([
      [1, 0],
      [0, 1],
      [1, 0],
    ]);
  });

  it('with mergeMembershipChanges true a join asked for right after the last member’s leave is not lost with the group, nor is a message held behind a joiner that dies', () => {
    const { world, model } = newCpg({ merge: true });
    const a = new CpgTestProcess(model, 1, 100);
    const b = new CpgTestProcess(model, 2, 200);
    const c = new CpgTestProcess(model, 3, 300);
    a.handle.join(GROUP);
    world.scheduler.runUntilIdle();
    // a's leave waits; b's join flushes it, emptying the group: b's join must go to the new one.
    a.handle.leave(GROUP);
    b.handle.join(GROUP);
    model.nodeDown(2);
    world.scheduler.runUntilIdle();
    expect(model.members(GROUP)).toEqual([]);
    expect(b.seen).toEqual([]);
    // c's message waits behind d's join; d dies before it is sequenced: the message still goes.
    c.handle.join(GROUP);
    world.scheduler.runUntilIdle();
    const d = new CpgTestProcess(model, 4, 400);
    d.handle.join(GROUP);
    expect(c.send('held')).toBe(CS_OK);
    d.service.processExited();
    world.scheduler.runUntilIdle();
    expect(c.texts).toEqual(['held']);
  });

  it('a power cut (reset) drops everything in flight; services from before it are dead', () => {
    const { world, model } = newCpg();
    const a = new CpgTestProcess(model, 1, 100);
    a.handle.join(GROUP);
    a.send('lost');
    model.reset();
    world.scheduler.runUntilIdle();
    expect(a.seen).toEqual([]);
    expect(a.handle.dispatch('all')).toBe(CS_ERR_BAD_HANDLE);
    expect(a.service.initialize({ deliver: () => {}, confchg: () => {} }).error).toBe(
      CS_ERR_LIBRARY,
    );
    expect(model.members(GROUP)).toEqual([]);
    const fresh = new CpgTestProcess(model, 1, 101);
    expect(fresh.handle.join(GROUP)).toBe(CS_OK);
    world.scheduler.runUntilIdle();
    expect(fresh.seen.length).toBe(1);
  });

  it('latency is drawn per delivery, yet a member never gets a later event before an earlier one', () => {
    const { world, model } = newCpg({
      seed: 9,
      latency: { kind: 'exponential', minimumTicks: 1, meanTicks: 500 },
    });
    const a = new CpgTestProcess(model, 1, 100);
    const b = new CpgTestProcess(model, 2, 200);
    a.handle.join(GROUP);
    b.handle.join(GROUP);
    const sent = Array.from({ length: 40 }, (_, index) => `m${index}`);
    sent.forEach((text, index) => {
      world.scheduler.schedule(index * 100, 'test.send', () =>
        (index % 2 === 0 ? a : b).send(text),
      );
    });
    const arrivals: number[] = [];
    b.handle.onReadable = () => {
      arrivals.push(world.scheduler.now());
      b.handle.dispatch('one');
    };
    world.scheduler.runUntilIdle();
    expect(a.texts).toEqual(sent);
    expect(b.texts).toEqual(sent);
    // The draws differ: some messages overtake nothing but arrive later than 100 ticks after sending.
    expect(new Set(arrivals.map((time, index) => time - index * 100)).size).toBeGreaterThan(10);
  });

  it('dispatch one runs a single callback; the readable signal comes once per arrival', () => {
    const { world, model } = newCpg();
    const a = new CpgTestProcess(model, 1, 100);
    a.autoDispatch = false;
    a.handle.join(GROUP);
    a.send('1');
    a.send('2');
    world.scheduler.runUntilIdle();
    expect(a.readableSignals).toBe(3);
    expect(a.handle.dispatch('one')).toBe(CS_OK);
    expect(a.seen.length).toBe(1);
    a.handle.dispatch('all');
    expect(a.texts).toEqual(['1', '2']);
    expect(a.handle.dispatch('one')).toBe(CS_OK);
    expect(a.seen.length).toBe(3);
  });

  it('counts messages, bytes, deliveries and confchgs', () => {
    const { world, model } = newCpg();
    const a = new CpgTestProcess(model, 1, 100);
    const b = new CpgTestProcess(model, 2, 200);
    a.handle.join(GROUP);
    b.handle.join(GROUP);
    a.send('abc');
    b.send('de');
    new CpgTestProcess(model, 3, 300).send('refused');
    world.scheduler.runUntilIdle();
    expect(model.stats).toEqual({
      messagesMulticast: 2,
      bytesMulticast: 5,
      messageDeliveries: 4,
      bytesDelivered: 10,
      confchgs: 2,
      confchgDeliveries: 3,
      mcastRefused: 1,
    });
  });

  it('refuses ids that are not u32 and latencies that are not ticks', () => {
    const { model } = newCpg();
    expect(() => model.service(-1, 1)).toThrow('CPG nodeid -1 is not a u32');
    expect(() => model.service(1, 2 ** 32)).toThrow('CPG pid 4294967296 is not a u32');
    expect(() => newCpg({ latency: { kind: 'fixed', ticks: -1 } })).toThrow(
      'Device "cpg" delivery latency ticks -1 is not an integer ≥ 0 ticks',
    );
  });
});
