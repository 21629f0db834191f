/**
 * Unix socket paths as `log-daemon --socket` and `run --log-daemon` take
 * them. A socket's path lives in `sockaddr_un.sun_path`, 108 bytes with
 * the terminating NUL on Linux: a longer path cannot be bound or reached,
 * and Node would cut it silently (binding a socket at the truncated path).
 * So the path is checked before it is used, and so is its directory.
 */
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UsageError } from './cli-io.js';
import { quotePath } from './quote-value.js';

/** The longest socket path, in bytes (`sizeof(sun_path)` − 1 on Linux). */
export const SOCKET_PATH_BYTES_MAX = 107;

/** The absolute path for `text`, or a UsageError naming the flag and what is wrong. */
export function checkSocketPath(text: string, flag: string): string {
  if (text === '') throw new UsageError(`Invalid ${flag} "": expected the path of a Unix socket`);
  const path = resolve(text);
  const bytes = Buffer.byteLength(path);
  if (bytes > SOCKET_PATH_BYTES_MAX) {
    throw new UsageError(
      `Invalid ${flag} ${quotePath(text)}: its absolute path is ${bytes} bytes, and a Unix socket path holds at most ${SOCKET_PATH_BYTES_MAX} (sun_path); expected a shorter path`,
    );
  }
  const directory = dirname(path);
  let isDirectory = false;
  try {
    isDirectory = statSync(directory).isDirectory();
  } catch {
    throw new UsageError(
      `Invalid ${flag} ${quotePath(text)}: the directory ${quotePath(directory)} does not exist`,
    );
  }
  if (!isDirectory) {
    throw new UsageError(
      `Invalid ${flag} ${quotePath(text)}: ${quotePath(directory)} is not a directory`,
    );
  }
  return path;
}
