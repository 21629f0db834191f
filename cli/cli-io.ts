/**
 * What a command may touch of the outside world. Tests pass their own; the
 * real process passes {@link processIo}. The CLI is the one place allowed to
 * read the wall clock (for progress and wall-speed figures).
 */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Milliseconds of wall-clock time, for progress and speed figures only. */
  wallClockMs(): number;
  /** Whether stderr is a terminal, where progress may redraw one line (default false). */
  readonly stderrIsTerminal?: boolean;
}

export const processIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  wallClockMs: () => performance.now(),
  get stderrIsTerminal() {
    return process.stderr.isTTY === true;
  },
};

/** Bad usage or bad input: the CLI prints the message as one line and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export const EXIT_OK = 0;
export const EXIT_VIOLATION = 1;
export const EXIT_USAGE = 2;
