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
    const { model } = newCpg();
    const a = new CpgTestProcess(model, 1, 100);
    expect(a.send('x')).toBe(CS_ERR_NOT_EXIST);
    expect(a.handle.leave(GROUP)).toBe(CS_ERR_NOT_EXIST);
    expect(a.handle.join('n'.repeat(CPG_MAX_NAME_LENGTH + 1))).toBe(CS_ERR_NAME_TOO_LONG);
    expect(a.handle.join('n'.repeat(CPG_MAX_NAME_LENGTH))).toBe(CS_OK);
    expect(a.handle.join(GROUP)).toBe(CS_ERR_EXIST);
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

  it('while a join or a leave waits to be sequenced: mcast joining is allowed, leave joining is BUSY, join leaving is BUSY', () => {
    const { world, model } = newCpg({ merge: true });
    const a = new CpgTestProcess(model, 1, 100);
    expect(a.handle.join(GROUP)).toBe(CS_OK);
    expect(a.handle.leave(GROUP)).toBe(CS_ERR_BUSY);
    // The sender's own join is sequenced first: it receives its message.
    expect(a.send('early')).toBe(CS_OK);
    world.scheduler.runUntilIdle();
    expect(a.texts).toEqual(['early']);
    expect(a.handle.leave(GROUP)).toBe(CS_OK);
    expect(a.handle.join(GROUP)).toBe(CS_ERR_BUSY);
    expect(a.send('late')).toBe(CS_ERR_NOT_EXIST);
  });

  it('an orderly leaver gets the messages sequenced before its leave, then its own confchg, then nothing', () => {
    const { world, model } = newCpg();
    const a = new CpgTestProcess(model, 1, 100);
    const b = new CpgTestProcess(model, 2, 200);
    a.handle.join(GROUP);
    b.handle.join(GROUP);
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
    const { world, model } = newCpg();
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

  it('with mergeMembershipChanges two joins, or two node failures, of one instant arrive as one confchg', () => {
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

  it('with mergeMembershipChanges a message multicast while changes wait comes right after their confchg', () => {
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

  it('with mergeMembershipChanges a join and a leave never share a confchg', () => {
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
