/**
 * The region hash's intrusive list (`list_add`, `list_add_tail`,
 * `list_del_init`, `list_splice_init`): the order it keeps, the links it
 * leaves behind, and the misuse it refuses with a message naming the list.
 */
import { describe, expect, it } from 'vitest';
import { type ListedRegion, RegionList } from '../../src/mirror/region-list.js';
import { invariantMessage } from '../assert-test-kit.js';

interface Item extends ListedRegion {
  readonly name: string;
}

function item(name: string): Item {
  return { name, list: null, listPrevious: null, listNext: null };
}

/** The names from head to tail, following the forward links. */
function forward(list: RegionList): string[] {
  const head = (list as unknown as { head: Item | null }).head;
  const names: string[] = [];
  for (let at: Item | null = head; at !== null; at = at.listNext as Item | null) {
    names.push(at.name);
  }
  return names;
}

/** The names from tail to head, following the backward links. */
function backward(list: RegionList): string[] {
  const tail = (list as unknown as { tail: Item | null }).tail;
  const names: string[] = [];
  for (let at: Item | null = tail; at !== null; at = at.listPrevious as Item | null) {
    names.push(at.name);
  }
  return names;
}

describe('RegionList keeps the kernel list order (§3.3)', () => {
  it('§3.3 addHead keeps the first region added as the tail, so a later addTail goes after it', () => {
    const list = new RegionList('clean');
    const [a, b, c] = [item('a'), item('b'), item('c')];
    list.addHead(a);
    list.addHead(b);
    list.addTail(c);
    expect(forward(list)).toEqual(['b', 'a', 'c']);
    expect(backward(list)).toEqual(['c', 'a', 'b']);
    expect(list.size).toBe(3);
  });

  it('§3.3 addTail on an empty list makes the region the head too, so a later addHead goes before it', () => {
    const list = new RegionList('quiesced');
    const [a, b] = [item('a'), item('b')];
    list.addTail(a);
    list.addHead(b);
    expect(forward(list)).toEqual(['b', 'a']);
    expect(backward(list)).toEqual(['a', 'b']);
  });

  it('§3.3 removing the last region empties head and tail; the list then refills from either end', () => {
    const list = new RegionList('recovered');
    const [a, b, c] = [item('a'), item('b'), item('c')];
    list.addTail(a);
    list.remove(a);
    expect(list.size).toBe(0);
    expect(forward(list)).toEqual([]);
    expect(backward(list)).toEqual([]);
    list.addTail(b);
    list.addHead(c);
    expect(forward(list)).toEqual(['c', 'b']);
    expect(backward(list)).toEqual(['b', 'c']);
    expect(list.popHead<Item>()?.name).toBe('c');
    expect(list.popHead<Item>()?.name).toBe('b');
    expect(list.popHead()).toBeNull();
    list.addHead(a);
    expect(forward(list)).toEqual(['a']);
    expect(backward(list)).toEqual(['a']);
  });

  it('§3.3 remove from the middle relinks both neighbours (list_del_init leaves the region unlinked)', () => {
    const list = new RegionList('clean');
    const [a, b, c] = [item('a'), item('b'), item('c')];
    for (const region of [a, b, c]) list.addTail(region);
    list.remove(b);
    expect(forward(list)).toEqual(['a', 'c']);
    expect(backward(list)).toEqual(['c', 'a']);
    expect([b.list, b.listPrevious, b.listNext]).toEqual([null, null, null]);
  });

  it('§3.4 takeAll (list_splice_init) returns the regions in order and leaves every one unlinked, free to join another list', () => {
    const list = new RegionList('recovered');
    const other = new RegionList('clean');
    const regions = [item('a'), item('b'), item('c')];
    for (const region of regions) list.addTail(region);
    const taken = list.takeAll<Item>();
    expect(taken.map((region) => region.name)).toEqual(['a', 'b', 'c']);
    expect(list.size).toBe(0);
    expect(forward(list)).toEqual([]);
    for (const region of regions) {
      expect([region.list, region.listPrevious, region.listNext]).toEqual([null, null, null]);
    }
    other.addTail(regions[2]!);
    other.addTail(regions[0]!);
    expect(forward(other)).toEqual(['c', 'a']);
    expect(backward(other)).toEqual(['a', 'c']);
  });
});

describe('RegionList refuses misuse with a message naming the list', () => {
  it('addHead and addTail of a region already on a list name that list', () => {
    const clean = new RegionList('clean');
    const quiesced = new RegionList('quiesced');
    const region = item('a');
    clean.addHead(region);
    expect(invariantMessage(() => quiesced.addHead(region))).toBe(
      'region is already on the clean list',
    );
    expect(invariantMessage(() => clean.addTail(region))).toBe(
      'region is already on the clean list',
    );
    expect(clean.size).toBe(1);
    expect(quiesced.size).toBe(0);
  });

  it('remove of a region on another list, or on none, names the list it was removed from', () => {
    const clean = new RegionList('clean');
    const recovered = new RegionList('recovered');
    const region = item('a');
    clean.addTail(region);
    expect(invariantMessage(() => recovered.remove(region))).toBe(
      'region is not on the recovered list',
    );
    clean.remove(region);
    expect(invariantMessage(() => clean.remove(region))).toBe('region is not on the clean list');
  });

  it('a count that would go negative is refused with the list name', () => {
    const list = new RegionList('failed_recovered');
    const region = item('a');
    list.addTail(region);
    (list as unknown as { count: number }).count = 0;
    expect(invariantMessage(() => list.remove(region))).toBe(
      'failed_recovered list count went negative',
    );
  });
});
