/**
 * How fast `mirrorsim serve` answers a real client (issue 14, "Speed"):
 * fio 4 KiB random writes, iodepth 16, over Unix sockets, against
 *
 * 1. `nbdkit memory` — the reference peer, measured in the same run;
 * 2. `mirrorsim serve` with a `core` log and the virtual clock;
 * 3. `mirrorsim serve` with a `disk` log (the cost of a persistent log);
 * 4. the `core` log again with `--no-check` (without the white-box checks).
 *
 * It reports fio's IOPS for each, the ratio of mirrorsim to nbdkit (aim
 * ≥ 0.5), and each server's CPU time per request (from /proc, so the
 * figure holds even when other processes share the cores). Servers run
 * from the compiled `dist/` (built first) with plain node.
 *
 * Run: `npx tsx bench/nbd-speed.ts [--seconds 10] [--rounds 1] [--profile DIR]`.
 * With `--profile DIR`, the mirrorsim servers run under `node --cpu-prof`
 * and the functions with the most self time are printed per server.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPOSITORY = dirname(dirname(fileURLToPath(import.meta.url)));
const CLOCK_TICKS_PER_SECOND = 100;

interface Options {
  readonly seconds: number;
  readonly rounds: number;
  readonly profileDir: string | null;
}

interface Subject {
  readonly name: string;
  /** The folder its profile goes to under --profile DIR (none for nbdkit). */
  readonly profileName: string | null;
  readonly command: (socket: string, profileDir: string | null) => [string, string[]];
  /** Text on stderr or stdout that says the server listens (null: wait for the socket file). */
  readonly readyText: string | null;
}

interface Measurement {
  readonly subject: string;
  readonly iops: number;
  readonly cpuMicrosecondsPerRequest: number;
  readonly latencyMeanMicroseconds: number;
}

function parseOptions(argv: readonly string[]): Options {
  const value = (name: string, fallback: string) => {
    const index = argv.indexOf(name);
    return index >= 0 && argv[index + 1] !== undefined ? argv[index + 1]! : fallback;
  };
  const seconds = Number(value('--seconds', '10'));
  const rounds = Number(value('--rounds', '1'));
  if (!(seconds > 0) || !Number.isInteger(rounds) || rounds < 1) {
    throw new RangeError('expected --seconds > 0 and --rounds ≥ 1');
  }
  const profile = value('--profile', '');
  return { seconds, rounds, profileDir: profile === '' ? null : profile };
}

function mirrorsim(logType: 'core' | 'disk', check = true): Subject {
  const variant = check ? '' : ', --no-check';
  const profileName = `${logType}${check ? '' : '-no-check'}`;
  return {
    name: `mirrorsim serve (${logType} log, virtual clock${variant})`,
    profileName,
    readyText: 'listening on',
    command: (socket, profileDir) => {
      const profile =
        profileDir === null
          ? []
          : ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, profileName)}`];
      return [
        process.execPath,
        [
          // The flags the installed `mirrorsim` runs with (bin/mirrorsim.mjs).
          '--max-semi-space-size=4',
          ...profile,
          join(REPOSITORY, 'bin/mirrorsim.mjs'),
          'serve',
          '--socket',
          socket,
          '--log',
          logType,
          '--size',
          '64MiB',
          ...(check ? [] : ['--no-check']),
        ],
      ];
    },
  };
}

const NBDKIT: Subject = {
  name: 'nbdkit memory 64M',
  profileName: null,
  readyText: null,
  command: (socket) => ['nbdkit', ['-f', '-U', socket, 'memory', '64M']],
};

/** User plus system CPU seconds a process has used so far (Linux /proc). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // After the command name: field 14 (utime) and 15 (stime) of stat(5) are indices 11 and 12 here.
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

async function startServer(
  subject: Subject,
  socket: string,
  profileDir: string | null,
): Promise<ChildProcess> {
  // A socket file left by an earlier run would look ready before the new server listens.
  rmSync(socket, { force: true });
  const [command, args] = subject.command(socket, profileDir);
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const deadline = Date.now() + 30_000;
  while (
    !(subject.readyText === null ? await accepts(socket) : output.includes(subject.readyText))
  ) {
    if (child.exitCode !== null) throw new Error(`${subject.name} exited: ${output}`);
    if (Date.now() > deadline) throw new Error(`${subject.name} did not start: ${output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return child;
}

/** Whether something accepts connections on the Unix socket `path`. */
function accepts(path: string): Promise<boolean> {
  if (!existsSync(path)) return Promise.resolve(false);
  return new Promise((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

function runFio(
  socket: string,
  seconds: number,
): { iops: number; requests: number; latencyMeanMicroseconds: number } {
  const output = execFileSync(
    'fio',
    [
      '--name=randwrite',
      '--ioengine=nbd',
      `--uri=nbd+unix:///?socket=${socket}`,
      '--rw=randwrite',
      '--bs=4k',
      '--iodepth=16',
      '--time_based',
      `--runtime=${seconds}`,
      '--output-format=json',
    ],
    { encoding: 'utf8', maxBuffer: 16 << 20 },
  );
  const json = JSON.parse(output.slice(output.indexOf('{'))) as {
    jobs: { write: { iops: number; total_ios: number; clat_ns: { mean: number } } }[];
  };
  const write = json.jobs[0]!.write;
  return {
    iops: write.iops,
    requests: write.total_ios,
    latencyMeanMicroseconds: write.clat_ns.mean / 1000,
  };
}

async function measure(
  subject: Subject,
  options: Options,
  directory: string,
): Promise<Measurement> {
  const socket = join(directory, `${subject.name.replace(/\W+/g, '-')}.sock`);
  const child = await startServer(subject, socket, options.profileDir);
  try {
    const cpuBefore = cpuSeconds(child.pid!);
    const fio = runFio(socket, options.seconds);
    const cpu = cpuSeconds(child.pid!) - cpuBefore;
    return {
      subject: subject.name,
      iops: fio.iops,
      cpuMicrosecondsPerRequest: (cpu * 1e6) / fio.requests,
      latencyMeanMicroseconds: fio.latencyMeanMicroseconds,
    };
  } finally {
    await stopServer(child);
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((left, right) => left - right);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** The functions with the most self time in each profile under `directory`. */
function printProfiles(directory: string, subjects: readonly Subject[]): void {
  for (const subject of subjects) {
    if (subject.profileName === null) continue;
    const folder = join(directory, subject.profileName);
    if (!existsSync(folder)) continue;
    const selfTime = new Map<string, number>();
    let total = 0;
    for (const file of readdirSync(folder).filter((name) => name.endsWith('.cpuprofile'))) {
      const profile = JSON.parse(readFileSync(join(folder, file), 'utf8')) as {
        nodes: {
          id: number;
          callFrame: { functionName: string; url: string; lineNumber: number };
        }[];
        samples: number[];
        timeDeltas: number[];
      };
      const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
      profile.samples.forEach((id, index) => {
        const frame = nodes.get(id)!.callFrame;
        if (frame.functionName === '(idle)') return;
        const key = `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^.*\/(dist|node_modules)\//, '')}`;
        const delta = profile.timeDeltas[index]!;
        selfTime.set(key, (selfTime.get(key) ?? 0) + delta);
        total += delta;
      });
    }
    console.log(`\nprofile of ${subject.name}, self time excluding idle:`);
    for (const [key, time] of [...selfTime]
      .sort((left, right) => right[1] - left[1])
      .slice(0, 15)) {
      console.log(`  ${((100 * time) / total).toFixed(1).padStart(5)} %  ${key}`);
    }
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  console.log('mirrorsim NBD speed: fio 4 KiB randwrite, iodepth 16, Unix sockets');
  console.log(
    `  machine: ${cpus()[0]?.model ?? 'unknown'} (${cpus().length} cores), node ${process.version}`,
  );
  console.log(
    `  load average ${loadavg()
      .map((value) => value.toFixed(2))
      .join(' ')}, ${options.seconds} s per run, ${options.rounds} round(s)\n`,
  );
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: REPOSITORY, stdio: 'inherit' });
  if (options.profileDir !== null) {
    rmSync(options.profileDir, { recursive: true, force: true });
    mkdirSync(options.profileDir, { recursive: true });
  }
  const directory = mkdtempSync(join(tmpdir(), 'mirrorsim-nbd-speed-'));
  const subjects = [NBDKIT, mirrorsim('core'), mirrorsim('disk'), mirrorsim('core', false)];
  const results = new Map<string, Measurement[]>(subjects.map((subject) => [subject.name, []]));
  try {
    for (let round = 0; round < options.rounds; round++) {
      for (const subject of subjects)
        results.get(subject.name)!.push(await measure(subject, options, directory));
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
  const summary = subjects.map((subject) => {
    const runs = results.get(subject.name)!;
    return {
      name: subject.name,
      iops: median(runs.map((run) => run.iops)),
      cpu: median(runs.map((run) => run.cpuMicrosecondsPerRequest)),
      latency: median(runs.map((run) => run.latencyMeanMicroseconds)),
    };
  });
  const reference = summary[0]!;
  for (const row of summary) {
    const ratio = row === reference ? '' : `  ratio ${(row.iops / reference.iops).toFixed(2)}`;
    console.log(
      `  ${row.name.padEnd(56)} ${row.iops.toFixed(0).padStart(7)} IOPS  ${row.cpu.toFixed(1).padStart(6)} µs CPU/request  ${row.latency.toFixed(0).padStart(6)} µs mean latency${ratio}`,
    );
  }
  const coreRatio = summary[1]!.iops / reference.iops;
  console.log(
    `\n  core log vs nbdkit: ${coreRatio.toFixed(2)} (aim ≥ 0.5: ${coreRatio >= 0.5 ? 'met' : 'MISSED'})`,
  );
  console.log(
    `  load average after: ${loadavg()
      .map((value) => value.toFixed(2))
      .join(' ')}`,
  );
  if (options.profileDir !== null) printProfiles(options.profileDir, subjects);
}

await main();
