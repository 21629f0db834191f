/**
 * The log-type registry (`dm_dirty_log_type_register`, `dm_dirty_log_create`,
 * reference §1): names, duplicates, the sorted lists of types and
 * `TYPE+VARIANT` names a benchmark compares, and the error for an unknown
 * type. Test types are registered under names no built-in uses and removed
 * after each test.
 */
import { afterEach, describe, expect, it } from 'vitest';
import '../../src/log/builtin-logs.js';
import type { DirtyLog, DirtyLogType } from '../../src/log/dirty-log.js';
import {
  createDirtyLog,
  dirtyLogTypeNames,
  dirtyLogVariantNames,
  registerDirtyLogType,
  splitLogVariant,
  unregisterDirtyLogType,
} from '../../src/log/registry.js';
import { TableError } from '../../src/table/table-error.js';

const registered: string[] = [];

function testType(name: string, tableVariants?: readonly string[]): DirtyLogType {
  return {
    name,
    summary: `test type ${name}`,
    create: () => ({}) as DirtyLog,
    ...(tableVariants === undefined ? {} : { tableVariants }),
  };
}

function register(type: DirtyLogType): void {
  registerDirtyLogType(type);
  registered.push(type.name);
}

afterEach(() => {
  for (const name of registered.splice(0)) unregisterDirtyLogType(name);
});

describe('the log-type registry (§1)', () => {
  it('accepts lower-case letters, digits and dashes starting with a letter, and refuses anything else by name', () => {
    register(testType('zz-test-1'));
    expect(dirtyLogTypeNames()).toContain('zz-test-1');
    for (const bad of ['', 'Core', '1abc', 'a_b', 'abc!', '!abc', '-abc']) {
      expect(() => registerDirtyLogType(testType(bad)), bad).toThrow(
        new RangeError(`Log type name "${bad}" is not lower-case letters, digits and dashes`),
      );
    }
    expect(dirtyLogTypeNames()).not.toContain('Core');
  });

  it('refuses a second type of the same name, as the kernel answers -EEXIST', () => {
    expect(() => registerDirtyLogType(testType('core'))).toThrow(
      new RangeError('Log type "core" is already registered'),
    );
  });

  it('lists type names sorted, whatever the registration order', () => {
    register(testType('zz-late'));
    register(testType('aa-early'));
    const names = dirtyLogTypeNames();
    expect(names).toEqual([...names].sort());
    expect(names.indexOf('aa-early')).toBeLessThan(names.indexOf('core'));
    expect(names.at(-1)).toBe('zz-late');
  });

  it('lists each type followed by its TYPE+VARIANT names, in the order the type gives them', () => {
    register(testType('zz-variants', ['fast', 'careful']));
    const names = dirtyLogVariantNames();
    const at = names.indexOf('zz-variants');
    expect(names.slice(at, at + 3)).toEqual([
      'zz-variants',
      'zz-variants+fast',
      'zz-variants+careful',
    ]);
    expect(names).toContain('userspace+integrated_flush');
    expect(names.filter((name) => name.startsWith('core'))).toEqual(['core']);
  });

  it('splits TYPE+VARIANT at the first plus; a name without one has no variant', () => {
    expect(splitLogVariant('userspace+integrated_flush')).toEqual({
      type: 'userspace',
      variant: 'integrated_flush',
    });
    expect(splitLogVariant('core')).toEqual({ type: 'core', variant: undefined });
    expect(splitLogVariant('+x')).toEqual({ type: '', variant: 'x' });
    expect(splitLogVariant('a+b+c')).toEqual({ type: 'a', variant: 'b+c' });
  });

  it('§1 dm_dirty_log_create of an unknown type is a TableError that lists the known ones', () => {
    expect(() => createDirtyLog('nope', {} as never, [])).toThrow(TableError);
    expect(() => createDirtyLog('nope', {} as never, [])).toThrow(
      `Unknown dirty log type "nope": expected one of ${dirtyLogTypeNames().join(', ')}`,
    );
  });
});
