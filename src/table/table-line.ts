/**
 * A device-mapper table line, `<start> <length> <target> <args…>`, in
 * sectors, exactly as `dmsetup table` prints it. mirrorsim models
 * single-target devices, so the one line must start at sector 0.
 */
import { parseUnsigned, splitTableWords } from './table-args.js';
import { TableError } from './table-error.js';

export interface TableLine {
  readonly startSector: number;
  readonly lengthSectors: number;
  readonly targetType: string;
  readonly args: readonly string[];
}

export function parseTableLine(line: string): TableLine {
  const words = splitTableWords(line);
  if (words.length < 3) {
    throw new TableError(
      `Invalid table line "${line.trim()}": expected "<start> <length> <target> <args…>"`,
    );
  }
  const startSector = parseUnsigned(words[0], 'table start sector');
  if (startSector !== 0) {
    throw new TableError(
      `Invalid table start sector ${startSector}: expected 0 (a single-target table starts at sector 0)`,
    );
  }
  const lengthSectors = parseUnsigned(words[1], 'table length');
  if (lengthSectors === 0)
    throw new TableError('Invalid table length 0: expected at least 1 sector');
  return { startSector, lengthSectors, targetType: words[2]!, args: words.slice(3) };
}

export function formatTableLine(line: TableLine): string {
  return `${line.startSector} ${line.lengthSectors} ${line.targetType} ${line.args.join(' ')}`;
}
