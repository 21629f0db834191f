import { describe, expect, it } from 'vitest';
import {
  KernelMessageLog,
  type UlogKernelMessage,
} from '../../../../src/log/userspace/_internals/kernel-messages.js';

/** The bound of the log: the most lines it keeps. */
const KEPT_MAX = 256;

function line(index: number): UlogKernelMessage {
  return { timeTicks: index, level: 'warning', text: `line ${index}.` };
}

function filled(count: number): KernelMessageLog {
  const log = new KernelMessageLog();
  for (let index = 0; index < count; index++) log.push(line(index));
  return log;
}

describe('KernelMessageLog (the kernel lines of the userspace log)', () => {
  it('keeps exactly its bound of lines without dropping any', () => {
    const log = filled(KEPT_MAX);
    expect(log.all).toHaveLength(KEPT_MAX);
    expect(log.dropped).toBe(0);
    expect(log.all[0]).toEqual(line(0));
    expect(log.all[KEPT_MAX - 1]).toEqual(line(KEPT_MAX - 1));
  });

  it('one line over the bound drops the oldest line and counts it', () => {
    const log = filled(KEPT_MAX + 1);
    expect(log.all).toHaveLength(KEPT_MAX);
    expect(log.dropped).toBe(1);
    expect(log.all[0]).toEqual(line(1));
    expect(log.all[KEPT_MAX - 1]).toEqual(line(KEPT_MAX));
  });

  it('counts every dropped line, oldest first', () => {
    const log = filled(KEPT_MAX + 10);
    expect(log.dropped).toBe(10);
    expect(log.all.map((kept) => kept.timeTicks)).toEqual(
      Array.from({ length: KEPT_MAX }, (_, index) => index + 10),
    );
    // Only kept lines are counted: line 9 was dropped, line 10 was kept.
    expect(log.count('line 9.')).toBe(0);
    expect(log.count('line 10.')).toBe(1);
    expect(log.count('line ')).toBe(KEPT_MAX);
  });
});
