/**
 * Running the real NBD clients (reference nbd.md §4) against an in-process
 * `mirrorsim serve`: which binaries are installed, an async runner (the
 * server shares this event loop, so a client must never be waited for
 * synchronously), and the URI of a served export. A test that needs a
 * missing binary is skipped with a message naming the install script.
 */
import { type ChildProcess, execFile, spawnSync } from 'node:child_process';
import { dirname } from 'node:path';

/** Clients started by the tests, killed in afterEach if still running. */
const running = new Set<ChildProcess>();

/** Whether `binary` runs (with `--version`); for fio, whether it was built with its nbd engine. */
export function installed(binary: string): boolean {
  if (spawnSync(binary, ['--version'], { stdio: 'ignore' }).status !== 0) return false;
  if (binary !== 'fio') return true;
  const engines = spawnSync('fio', ['--enghelp'], { encoding: 'utf8' });
  return /^\s*nbd$/m.test(engines.stdout ?? '');
}

/** The skip note for a suite whose binaries are missing (empty when all are there). */
export function missingNote(file: string, binaries: readonly string[]): string {
  const missing = binaries.filter((binary) => !installed(binary));
  if (missing.length === 0) return '';
  const note = `${file}: [SKIPPED: ${missing.join(', ')} not on PATH; install them with scripts/install-system-packages.sh]`;
  console.warn(note);
  return note;
}

export interface ClientResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a client to completion without blocking the event loop; rejects only if it cannot start. */
export function runClient(
  command: string,
  args: readonly string[],
  options: { readonly timeoutMs?: number; readonly cwd?: string } = {},
): Promise<ClientResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      [...args],
      {
        timeout: options.timeoutMs ?? 30_000,
        maxBuffer: 64 << 20,
        encoding: 'utf8',
        ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      },
      (error, stdout, stderr) => {
        running.delete(child);
        if (error !== null && typeof error.code !== 'number' && error.killed !== true) {
          reject(error);
          return;
        }
        resolve({
          code: typeof error?.code === 'number' ? error.code : error === null ? 0 : -1,
          stdout,
          stderr,
        });
      },
    );
    running.add(child);
  });
}

/** Starts a client and returns it (for a client a test lets run while it does something else). */
export function startClient(
  command: string,
  args: readonly string[],
  cwd?: string,
): {
  readonly child: ChildProcess;
  readonly done: Promise<ClientResult>;
} {
  let child!: ChildProcess;
  const done = new Promise<ClientResult>((resolve) => {
    child = execFile(
      command,
      [...args],
      { maxBuffer: 64 << 20, encoding: 'utf8', ...(cwd === undefined ? {} : { cwd }) },
      (error, stdout, stderr) => {
        running.delete(child);
        resolve({
          code: typeof error?.code === 'number' ? error.code : error === null ? 0 : -1,
          stdout,
          stderr,
        });
      },
    );
  });
  running.add(child);
  return { child, done };
}

/** Kills every client still running (afterEach). */
export function killClients(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

/** The `nbd+unix` URI of the default export on `socket`. */
export function unixUri(socket: string): string {
  return `nbd+unix:///?socket=${socket}`;
}

/**
 * fio with the nbd engine, JSON output; returns the parsed jobs. It runs
 * in the socket's directory: fio leaves its verify state files in its
 * working directory.
 */
export async function runFio(socket: string, args: readonly string[]): Promise<FioJob[]> {
  const result = await runClient(
    'fio',
    ['--ioengine=nbd', `--uri=${unixUri(socket)}`, '--output-format=json', ...args],
    { timeoutMs: 60_000, cwd: dirname(socket) },
  );
  if (result.code !== 0)
    throw new Error(`fio failed (${result.code}): ${result.stderr}${result.stdout.slice(0, 2000)}`);
  const json = JSON.parse(result.stdout.slice(result.stdout.indexOf('{'))) as { jobs: FioJob[] };
  return json.jobs;
}

/** The parts of fio's JSON job report the tests read. */
export interface FioJob {
  readonly jobname: string;
  readonly error: number;
  readonly read: { readonly total_ios: number; readonly io_bytes: number };
  readonly write: { readonly total_ios: number; readonly io_bytes: number };
  readonly trim: { readonly total_ios: number; readonly io_bytes: number };
  readonly sync: { readonly total_ios: number };
}
