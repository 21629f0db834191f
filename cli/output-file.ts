/**
 * Where the CLI writes files (`fuzz --json`, `bench --json`, `bench
 * --plot`, `run --dump`): every output location is checked, or created,
 * before the long work starts, so a path that cannot be written fails in
 * the first second with one line, instead of after the run with the
 * output lost.
 *
 * Directories are created one level at a time: Node's recursive `mkdir`
 * never returns for a path under `/proc`, which refuses new entries with
 * ENOENT.
 */
import {
  closeSync,
  constants,
  mkdirSync,
  openSync,
  type Stats,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, join, parse, resolve } from 'node:path';
import { UsageError } from './cli-io.js';
import { quotePath } from './quote-value.js';

/** A file open for writing. */
export interface OutputFile {
  write(text: string): void;
  close(): void;
}

/** Opens (creating or truncating) `path` for writing now; UsageError when it cannot. */
export function openOutputFile(path: string, flag: string): OutputFile {
  checkParentDirectory(path, flag);
  let descriptor: number;
  try {
    descriptor = openSync(path, 'w', 0o644);
  } catch (error) {
    throw cannotWrite(flag, path, error);
  }
  let open = true;
  return {
    write: (text) => {
      try {
        writeSync(descriptor, text);
      } catch (error) {
        throw cannotWrite(flag, path, error);
      }
    },
    close: () => {
      if (open) closeSync(descriptor);
      open = false;
    },
  };
}

/**
 * Checks, without creating or changing anything, that `path` can be
 * written later: its directory exists and takes new files, and the path
 * is not a directory.
 */
export function checkOutputFile(path: string, flag: string): void {
  checkParentDirectory(path, flag);
  const existing = statOrNull(path);
  if (existing?.isDirectory()) {
    throw new UsageError(
      `Cannot write ${flag} ${quotePath(path)}: it is a directory; expected a file name`,
    );
  }
}

/**
 * Creates `path` (and missing parents, with `mode`, default 0755) now and
 * checks that it takes new files.
 */
export function prepareOutputDirectory(path: string, flag: string, mode = 0o755): void {
  const absolute = resolve(path);
  const missing: string[] = [];
  let existing = absolute;
  while (statOrNull(existing) === null && existing !== parse(existing).root) {
    missing.unshift(existing);
    existing = dirname(existing);
  }
  checkDirectory(existing, flag, path);
  for (const directory of missing) {
    try {
      mkdirSync(directory, { mode });
    } catch (error) {
      throw cannotWrite(flag, path, error, directory);
    }
  }
  probeWritable(absolute, flag, path);
}

function checkParentDirectory(path: string, flag: string): void {
  const parent = dirname(resolve(path));
  const stats = statOrNull(parent);
  if (stats === null) {
    throw new UsageError(
      `Cannot write ${flag} ${quotePath(path)}: the directory ${quotePath(parent)} does not exist`,
    );
  }
  checkDirectory(parent, flag, path);
  probeWritable(parent, flag, path);
}

function checkDirectory(directory: string, flag: string, path: string): void {
  if (!statOrNull(directory)?.isDirectory()) {
    throw new UsageError(
      `Cannot write ${flag} ${quotePath(path)}: ${quotePath(directory)} is not a directory`,
    );
  }
}

/** Creates and removes a file in `directory`: the one test that sees permissions, read-only mounts and full disks alike. */
function probeWritable(directory: string, flag: string, path: string): void {
  const probe = join(directory, `.mirrorsim-write-test-${process.pid}`);
  try {
    closeSync(openSync(probe, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600));
    unlinkSync(probe);
  } catch (error) {
    throw cannotWrite(flag, path, error, directory);
  }
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

/** Why a path cannot be written, in words, with the system's code. */
function cannotWrite(flag: string, path: string, error: unknown, where?: string): UsageError {
  const code = (error as NodeJS.ErrnoException).code ?? 'error';
  const reasons: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EROFS: 'a read-only file system',
    ENOSPC: 'no space left on the device',
    ENOENT: 'no such file or directory',
    ENOTDIR: 'a path component is not a directory',
    EISDIR: 'it is a directory',
    EEXIST: 'a file of that name exists',
  };
  const place = where === undefined || where === resolve(path) ? '' : ` in ${quotePath(where)}`;
  return new UsageError(
    `Cannot write ${flag} ${quotePath(path)}: ${reasons[code] ?? code}${place} (${code}); expected a writable location`,
  );
}
