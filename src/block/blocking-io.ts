/**
 * Block I/O for blocking code ({@link Blocking} tasks): each call issues
 * the request and waits for its completion, as the kernel's synchronous
 * `dm_io` client does for the disk log.
 */
import { type Blocking, waitFor } from '../concurrency/blocking.js';
import type { BlockDevice, BlockIoError, ReadRequest, WriteRequest } from './block-device.js';

export interface ReadResult {
  readonly error: BlockIoError | null;
  readonly data: Uint8Array | null;
}

export function* readBlocking(device: BlockDevice, request: ReadRequest): Blocking<ReadResult> {
  return yield* waitFor<ReadResult>((resume) =>
    device.read(request, (error, data) => resume({ error, data })),
  );
}

export function* writeBlocking(
  device: BlockDevice,
  request: WriteRequest,
): Blocking<BlockIoError | null> {
  return yield* waitFor<BlockIoError | null>((resume) => device.write(request, resume));
}

export function* flushBlocking(device: BlockDevice): Blocking<BlockIoError | null> {
  return yield* waitFor<BlockIoError | null>((resume) => device.flush(resume));
}
