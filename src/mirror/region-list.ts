/**
 * An intrusive doubly linked list of regions, so the region hash can keep
 * the kernel's list order exactly (`list_add` at the head, `list_add_tail`
 * at the tail) with O(1) removal from the middle (`list_del_init`).
 */
import { assert } from '../assert.js';

export interface ListedRegion {
  list: RegionList | null;
  listPrevious: ListedRegion | null;
  listNext: ListedRegion | null;
}

export class RegionList {
  private head: ListedRegion | null = null;
  private tail: ListedRegion | null = null;
  private count = 0;

  constructor(readonly name: string) {}

  get size(): number {
    return this.count;
  }

  addHead(region: ListedRegion): void {
    assert(region.list === null, `region is already on the ${region.list?.name} list`);
    region.list = this;
    region.listPrevious = null;
    region.listNext = this.head;
    if (this.head !== null) this.head.listPrevious = region;
    this.head = region;
    if (this.tail === null) this.tail = region;
    this.count++;
  }

  addTail(region: ListedRegion): void {
    assert(region.list === null, `region is already on the ${region.list?.name} list`);
    region.list = this;
    region.listNext = null;
    region.listPrevious = this.tail;
    if (this.tail !== null) this.tail.listNext = region;
    this.tail = region;
    if (this.head === null) this.head = region;
    this.count++;
  }

  /** `list_del_init`. */
  remove(region: ListedRegion): void {
    assert(region.list === this, `region is not on the ${this.name} list`);
    if (region.listPrevious !== null) region.listPrevious.listNext = region.listNext;
    else this.head = region.listNext;
    if (region.listNext !== null) region.listNext.listPrevious = region.listPrevious;
    else this.tail = region.listPrevious;
    region.list = null;
    region.listPrevious = null;
    region.listNext = null;
    this.count--;
    assert(this.count >= 0, `${this.name} list count went negative`);
  }

  /** Removes and returns the first region, or null. */
  popHead<T extends ListedRegion>(): T | null {
    const first = this.head;
    if (first === null) return null;
    this.remove(first);
    return first as T;
  }

  /** `list_splice_init`: empties the list and returns its regions in order. */
  takeAll<T extends ListedRegion>(): T[] {
    const taken: T[] = [];
    for (let region = this.head; region !== null; region = region.listNext) taken.push(region as T);
    for (const region of taken) {
      region.list = null;
      region.listPrevious = null;
      region.listNext = null;
    }
    this.head = null;
    this.tail = null;
    this.count = 0;
    return taken;
  }
}
