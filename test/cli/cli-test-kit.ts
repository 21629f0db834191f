/** What the CLI tests capture from `runCli`: its output and a fake wall clock. */
import type { CliIo } from '../../cli/cli-io.js';

/** A CLI's captured output. */
export interface Captured {
  readonly io: CliIo;
  readonly stdout: () => string;
  readonly stderr: () => string;
}

/** Captures stdout and stderr; the wall clock advances `stepMs` per reading (0: it stands still). */
export function captureIo(stepMs: number): Captured {
  let out = '';
  let err = '';
  let nowMs = 0;
  return {
    io: {
      stdout: (text) => {
        out += text;
      },
      stderr: (text) => {
        err += text;
      },
      wallClockMs: () => {
        nowMs += stepMs;
        return nowMs;
      },
    },
    stdout: () => out,
    stderr: () => err,
  };
}
