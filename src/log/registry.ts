/**
 * The registry of log types by name (`dm_dirty_log_type_register`). A new
 * log design is one file that implements {@link DirtyLogType} and registers
 * itself here when imported; `builtin-logs.ts` imports the built-in ones.
 */
import { TableError } from '../table/table-error.js';
import type { DirtyLog, DirtyLogContext, DirtyLogType } from './dirty-log.js';

const types = new Map<string, DirtyLogType>();

/** Registers a log type. A duplicate name is refused, as the kernel answers -EEXIST. */
export function registerDirtyLogType(type: DirtyLogType): void {
  if (!/^[a-z][a-z0-9-]*$/.test(type.name)) {
    throw new RangeError(
      `Log type name "${type.name}" is not lower-case letters, digits and dashes`,
    );
  }
  if (types.has(type.name)) throw new RangeError(`Log type "${type.name}" is already registered`);
  types.set(type.name, type);
}

/** Removes a log type (for tests of third-party designs). */
export function unregisterDirtyLogType(name: string): boolean {
  return types.delete(name);
}

export function findDirtyLogType(name: string): DirtyLogType | undefined {
  return types.get(name);
}

/** Names of every registered log type, sorted. */
export function dirtyLogTypeNames(): string[] {
  return [...types.keys()].sort();
}

/**
 * Every registered type, and each of its table variants as `TYPE+VARIANT`
 * (e.g. `userspace+integrated_flush`), sorted: what a benchmark compares.
 */
export function dirtyLogVariantNames(): string[] {
  return dirtyLogTypeNames().flatMap((name) => [
    name,
    ...(types.get(name)!.tableVariants ?? []).map((variant) => `${name}+${variant}`),
  ]);
}

/** Splits `TYPE+VARIANT` into its type name and variant (undefined without one). */
export function splitLogVariant(name: string): {
  readonly type: string;
  readonly variant: string | undefined;
} {
  const plus = name.indexOf('+');
  if (plus < 0) return { type: name, variant: undefined };
  return { type: name.slice(0, plus), variant: name.slice(plus + 1) };
}

/** `dm_dirty_log_create`: builds a log of a registered type from its table arguments. */
export function createDirtyLog(
  name: string,
  context: DirtyLogContext,
  args: readonly string[],
): DirtyLog {
  const type = types.get(name);
  if (type === undefined) {
    throw new TableError(
      `Unknown dirty log type "${name}": expected one of ${dirtyLogTypeNames().join(', ')}`,
    );
  }
  return type.create(context, args);
}
