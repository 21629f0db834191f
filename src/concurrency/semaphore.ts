/**
 * A counting semaphore for blocking tasks, as the kernel's `struct
 * semaphore`: the region hash's `recovery_count` starts at 0 so that no
 * recovery runs before the first resume.
 */
import { assert } from '../assert.js';
import { type Blocking, waitFor } from './blocking.js';

export class Semaphore {
  private readonly waiters: Array<() => void> = [];

  constructor(private count: number) {
    assert(Number.isSafeInteger(count) && count >= 0, `semaphore count ${count} is not ≥ 0`);
  }

  get value(): number {
    return this.count;
  }

  /** `down_trylock`: takes the semaphore if it is free; true on success. */
  tryDown(): boolean {
    if (this.count === 0) return false;
    this.count--;
    return true;
  }

  /** `down`: waits until the semaphore can be taken. */
  *down(): Blocking<void> {
    if (this.tryDown()) return;
    yield* waitFor<void>((resume) => this.waiters.push(() => resume(undefined)));
  }

  /** `up`: releases one count, handing it straight to the oldest waiter if any. */
  up(): void {
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      waiter();
      return;
    }
    this.count++;
  }
}
