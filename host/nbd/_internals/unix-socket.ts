/**
 * Unix socket paths for the servers of `mirrorsim serve`: a stale socket
 * file nobody listens on is replaced (pitfall §5.8), a live one or any
 * other file is refused, and the path is removed on close.
 */
import { existsSync, lstatSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';

/** Removes a socket file nobody listens on; throws a RangeError for a live socket or a non-socket. */
export async function claimSocketPath(path: string, what: string): Promise<void> {
  if (!existsSync(path)) return;
  if (!lstatSync(path).isSocket()) {
    throw new RangeError(`"${path}" exists and is not a socket: expected a free path for ${what}`);
  }
  const live = await new Promise<boolean>((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (live) {
    throw new RangeError(
      `Something already listens on "${path}": expected a free path for ${what}`,
    );
  }
  unlinkSync(path);
}

/** Removes the socket file if it is still there. */
export function releaseSocketPath(path: string): void {
  if (existsSync(path) && lstatSync(path).isSocket()) unlinkSync(path);
}
