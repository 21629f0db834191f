/**
 * Test helpers for the production `assert` (src/assert.ts): the invariant
 * tests of every layer break one invariant and read back its message.
 */
import { expect } from 'vitest';
import { InvariantError } from '../src/assert.js';

/** The message of the InvariantError that `action` throws; fails the test if it throws none or another error. */
export function invariantMessage(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(InvariantError);
    return (error as InvariantError).message;
  }
  return expect.unreachable('expected an InvariantError, but nothing was thrown');
}
