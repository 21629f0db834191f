/**
 * `--dump DIR`: writes each device's content as a sparse image file. Only
 * written chunks are written to the file, so a 64 MiB device with a little
 * data takes little disk space and unwritten ranges read back as zeros.
 */
import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { SECTOR_SIZE_BYTES } from '../src/block/sector.js';
import type { SparseStore } from '../src/block/sparse-store.js';
import { CHUNK_SIZE_BYTES } from '../src/block/sparse-store.js';
import { UsageError } from './cli-io.js';
import { prepareOutputDirectory } from './output-file.js';
import { quotePath } from './quote-value.js';

export interface DumpableDevice {
  readonly name: string;
  readonly sizeSectors: number;
  readonly content: SparseStore;
}

/** Writes `DIR/NAME.img` for every device; returns the paths written. */
export function dumpImages(directory: string, devices: readonly DumpableDevice[]): string[] {
  prepareOutputDirectory(directory, '--dump');
  return devices.map((device) => {
    const path = join(directory, `${device.name}.img`);
    writeSparseImage(path, device);
    return path;
  });
}

function writeSparseImage(path: string, device: DumpableDevice): void {
  let descriptor: number;
  try {
    descriptor = openSync(path, 'w', 0o644);
  } catch (error) {
    throw new UsageError(
      `Cannot write --dump image ${quotePath(path)}: ${(error as Error).message}`,
    );
  }
  try {
    ftruncateSync(descriptor, device.sizeSectors * SECTOR_SIZE_BYTES);
    for (const chunkIndex of device.content.chunkIndices()) {
      const chunk = device.content.chunkAt(chunkIndex)!;
      writeSync(descriptor, chunk, 0, chunk.length, chunkIndex * CHUNK_SIZE_BYTES);
    }
  } catch (error) {
    throw new UsageError(
      `Cannot write --dump image ${quotePath(path)}: ${(error as Error).message}`,
    );
  } finally {
    closeSync(descriptor);
  }
}
