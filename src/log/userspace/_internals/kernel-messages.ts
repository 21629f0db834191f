/**
 * A bounded list of the kernel log lines (DMERR, DMWARN, DMINFO) the
 * userspace log's kernel side prints, so that tests and reports can see
 * "Userspace log server not found" and "Request timed out" happen.
 */

/** One kernel log line. */
export interface UlogKernelMessage {
  readonly timeTicks: number;
  readonly level: 'error' | 'warning' | 'info';
  readonly text: string;
}

/** The most lines kept; older ones are dropped first. */
const MESSAGES_MAX = 256;

/** A ring of the most recent kernel log lines. */
export class KernelMessageLog {
  private readonly lines: UlogKernelMessage[] = [];
  private droppedCount = 0;

  /** Appends one line, dropping the oldest beyond the bound. */
  push(message: UlogKernelMessage): void {
    this.lines.push(message);
    if (this.lines.length > MESSAGES_MAX) {
      this.lines.shift();
      this.droppedCount++;
    }
  }

  /** The lines kept, oldest first. */
  get all(): readonly UlogKernelMessage[] {
    return this.lines;
  }

  /** Lines dropped to keep the bound. */
  get dropped(): number {
    return this.droppedCount;
  }

  /** How many kept lines contain `text`. */
  count(text: string): number {
    return this.lines.filter((line) => line.text.includes(text)).length;
  }
}
