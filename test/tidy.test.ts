/**
 * The tidy test (TigerBeetle's idea): reads every source file under src/ and
 * sim/ and bans what breaks determinism or layering. Time comes from the
 * Scheduler and randomness from RandomStream, never from the wall clock,
 * Math.random or timers; src/ never imports sim/; src/ does not print except
 * in the CLI; nobody leaves a `debugger` behind.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Violation {
  /** Repository-relative path with forward slashes. */
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  readonly rule: string;
  readonly text: string;
}

/** Where the wall clock and timers are allowed: the CLI, and real-process socket code. */
const CLOCK_EXEMPT = ['src/cli/', 'src/host/'];
/** Where printing is allowed within src/. */
const CONSOLE_EXEMPT = ['src/cli/'];

interface Rule {
  readonly name: string;
  readonly pattern: RegExp;
  readonly appliesTo: (file: string) => boolean;
}

const inSrcOrSim = (file: string) => file.startsWith('src/') || file.startsWith('sim/');
const clockBanned = (file: string) =>
  inSrcOrSim(file) && !CLOCK_EXEMPT.some((prefix) => file.startsWith(prefix));

const RULES: readonly Rule[] = [
  { name: 'Math.random', pattern: /\bMath\s*\.\s*random\b/, appliesTo: clockBanned },
  { name: 'Date.now', pattern: /\bDate\s*\.\s*now\b/, appliesTo: clockBanned },
  { name: 'new Date', pattern: /\bnew\s+Date\b/, appliesTo: clockBanned },
  { name: 'Date()', pattern: /(?<!\bnew\s+|[.\w])Date\s*\(/, appliesTo: clockBanned },
  { name: 'performance.now', pattern: /\bperformance\s*\.\s*now\b/, appliesTo: clockBanned },
  { name: 'process.hrtime', pattern: /\bprocess\s*\.\s*hrtime\b/, appliesTo: clockBanned },
  {
    name: 'timer',
    pattern: /\b(setTimeout|setInterval|setImmediate)\b/,
    appliesTo: clockBanned,
  },
  {
    name: 'crypto randomness',
    pattern: /\b(randomBytes|randomUUID|getRandomValues|randomInt)\b/,
    appliesTo: clockBanned,
  },
  {
    name: 'console',
    pattern: /\bconsole\s*\./,
    appliesTo: (file) =>
      file.startsWith('src/') && !CONSOLE_EXEMPT.some((prefix) => file.startsWith(prefix)),
  },
  { name: 'debugger', pattern: /\bdebugger\b/, appliesTo: inSrcOrSim },
];

/**
 * Blanks comments (and, with `blankStrings`, the contents of string and
 * template literals, but not `${...}` code inside templates), keeping every
 * newline so that line numbers stay right.
 */
function stripSource(source: string, blankStrings: boolean): string {
  let output = '';
  let index = 0;
  /** Brace depth of each open `${` inside a template, innermost last. */
  const templateDepths: number[] = [];
  let braceDepth = 0;
  const blank = (text: string) => text.replace(/[^\n]/g, ' ');
  while (index < source.length) {
    const char = source[index]!;
    const next = source[index + 1];
    if (char === '/' && next === '/') {
      const end = source.indexOf('\n', index);
      const stop = end < 0 ? source.length : end;
      output += blank(source.slice(index, stop));
      index = stop;
    } else if (char === '/' && next === '*') {
      const end = source.indexOf('*/', index + 2);
      const stop = end < 0 ? source.length : end + 2;
      output += blank(source.slice(index, stop));
      index = stop;
    } else if (char === "'" || char === '"') {
      let end = index + 1;
      while (end < source.length && source[end] !== char && source[end] !== '\n') {
        end += source[end] === '\\' ? 2 : 1;
      }
      const literal = source.slice(index, end + 1);
      output += blankStrings ? char + blank(literal.slice(1, -1)) + char : literal;
      index = end + 1;
    } else if (char === '`' || (char === '}' && templateDepths.at(-1) === braceDepth)) {
      // A template starts, or a `${...}` inside one ends: scan template text up to `${` or the closing backtick.
      if (char === '}') templateDepths.pop();
      output += char;
      let end = index + 1;
      while (
        end < source.length &&
        source[end] !== '`' &&
        !(source[end] === '$' && source[end + 1] === '{')
      ) {
        end += source[end] === '\\' ? 2 : 1;
      }
      const text = source.slice(index + 1, end);
      output += blankStrings ? blank(text) : text;
      if (source[end] === '$') {
        output += '${';
        templateDepths.push(braceDepth);
        index = end + 2;
      } else {
        output += '`';
        index = end + 1;
      }
    } else {
      if (char === '{') braceDepth++;
      if (char === '}') braceDepth--;
      output += char;
      index++;
    }
  }
  return output;
}

/** Module specifiers of every static, dynamic and side-effect import or re-export. */
function importSpecifiers(code: string): Array<{ specifier: string; line: number }> {
  const found: Array<{ specifier: string; line: number }> = [];
  const pattern = /\b(?:from|import)\s*\(?\s*(['"])([^'"\n]+)\1/g;
  for (const match of code.matchAll(pattern)) {
    const line = code.slice(0, match.index).split('\n').length;
    found.push({ specifier: match[2]!, line });
  }
  return found;
}

/** Whether `specifier`, imported from `file`, points into sim/. */
function importsSim(file: string, specifier: string): boolean {
  if (specifier === 'mirrorsim/sim' || specifier.startsWith('mirrorsim/sim/')) return true;
  if (!specifier.startsWith('.')) return false;
  const target = posix.normalize(posix.join(posix.dirname(file), specifier));
  return target === 'sim' || target.startsWith('sim/');
}

/** Every rule broken in one file, given its repository-relative path and its text. */
function findViolations(file: string, source: string): Violation[] {
  const violations: Violation[] = [];
  const rawLines = source.split('\n');
  const codeLines = stripSource(source, true).split('\n');
  codeLines.forEach((code, lineIndex) => {
    for (const rule of RULES) {
      if (rule.appliesTo(file) && rule.pattern.test(code)) {
        violations.push({
          file,
          line: lineIndex + 1,
          rule: rule.name,
          text: rawLines[lineIndex]!.trim(),
        });
      }
    }
  });
  if (file.startsWith('src/')) {
    for (const { specifier, line } of importSpecifiers(stripSource(source, false))) {
      if (importsSim(file, specifier)) {
        violations.push({
          file,
          line,
          rule: 'src imports sim',
          text: rawLines[line - 1]!.trim(),
        });
      }
    }
  }
  return violations;
}

function sourceFiles(directory: string): string[] {
  const absolute = join(ROOT, directory);
  return (readdirSync(absolute, { recursive: true }) as string[])
    .filter((name) => name.endsWith('.ts'))
    .map((name) => relative(ROOT, join(absolute, name)).split(sep).join('/'))
    .sort();
}

function format(violations: readonly Violation[]): string {
  return violations.map((v) => `${v.file}:${v.line}: ${v.rule}: ${v.text}`).join('\n');
}

describe('tidy', () => {
  const files = [...sourceFiles('src'), ...sourceFiles('sim')];

  it('finds the source files to check', () => {
    expect(files).toContain('src/block/simulated-device.ts');
    expect(files).toContain('sim/scheduler.ts');
    expect(files.every((file) => dirname(file) !== '.')).toBe(true);
  });

  it('src/ and sim/ use no wall clock, Math.random, timers, stray console or debugger; src/ never imports sim/', () => {
    const violations = files.flatMap((file) =>
      findViolations(file, readFileSync(join(ROOT, file), 'utf8')),
    );
    expect(format(violations), 'tidy violations (file:line: rule: text)').toBe('');
  });
});

describe('tidy checker (it can fail)', () => {
  it('reports Math.random with its file and line', () => {
    const source = 'const a = 1;\nconst b = Math.random();\n';
    expect(findViolations('src/block/example.ts', source)).toEqual([
      {
        file: 'src/block/example.ts',
        line: 2,
        rule: 'Math.random',
        text: 'const b = Math.random();',
      },
    ]);
  });

  it('reports each clock and timer use in src/ and sim/', () => {
    const source = [
      'const t = Date.now();',
      'const d = new Date();',
      'const s = Date();',
      'const p = performance.now();',
      'const h = process.hrtime.bigint();',
      'setTimeout(() => {}, 1);',
      'const i = setInterval(tick, 5);',
      'setImmediate(run);',
      'const u = crypto.randomUUID();',
    ].join('\n');
    const rules = findViolations('sim/world.ts', source).map((v) => `${v.line}:${v.rule}`);
    expect(rules).toEqual([
      '1:Date.now',
      '2:new Date',
      '3:Date()',
      '4:performance.now',
      '5:process.hrtime',
      '6:timer',
      '7:timer',
      '8:timer',
      '9:crypto randomness',
    ]);
  });

  it('exempts src/cli/ and src/host/ from the clock ban but not from the sim import ban', () => {
    const source = "import { World } from '../../sim/world.js';\nconst t = Date.now();\n";
    expect(findViolations('src/cli/main.ts', source).map((v) => v.rule)).toEqual([
      'src imports sim',
    ]);
    expect(findViolations('src/host/socket.ts', source).map((v) => v.rule)).toEqual([
      'src imports sim',
    ]);
    expect(findViolations('src/log/disk-log.ts', source).map((v) => v.rule)).toEqual([
      'Date.now',
      'src imports sim',
    ]);
  });

  it('finds every form of importing sim/ from src/, and allows sim/ to import src/', () => {
    const source = [
      "import type { World } from '../../sim/world.js';",
      "export { SeededRandom } from '../sim/random.js';",
      "const module = await import('../../sim/index.js');",
      "import '../../sim/setup.js';",
      "import { World as W } from 'mirrorsim/sim';",
      "import { assert } from '../assert.js';",
      "import { simulate } from './sim/local.js';",
    ].join('\n');
    const lines = findViolations('src/block/example.ts', source).map((v) => v.line);
    // Line 2 is src/sim (a sibling of src/block), not the top-level sim/.
    expect(lines).toEqual([1, 3, 4, 5]);
    expect(findViolations('sim/world.ts', "import { assert } from '../src/assert.js';")).toEqual(
      [],
    );
    expect(
      findViolations('src/index.ts', "export { World } from '../sim/world.js';").map((v) => v.rule),
    ).toEqual(['src imports sim']);
  });

  it('bans console in src/ outside the CLI, and debugger everywhere', () => {
    expect(findViolations('src/mirror/target.ts', 'console.log(x);').map((v) => v.rule)).toEqual([
      'console',
    ]);
    expect(findViolations('src/cli/main.ts', 'console.log(x);')).toEqual([]);
    expect(findViolations('sim/world.ts', 'console.error(x);')).toEqual([]);
    expect(findViolations('sim/world.ts', '  debugger;').map((v) => v.rule)).toEqual(['debugger']);
    expect(findViolations('src/cli/main.ts', 'debugger').map((v) => v.rule)).toEqual(['debugger']);
  });

  it('ignores comments and string contents but not code inside template expressions', () => {
    const source = [
      '// src/ never calls Math.random or Date.now',
      '/* setTimeout is banned;',
      '   so is new Date */',
      "const message = 'Math.random is banned';",
      'const text = `no Date.now here`;',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: this string is source text to check.
      'const bad = `at ${Date.now()} ms`;',
      "const url = 'http://example.com'; const r = Math.random();",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: this string is source text to check.
      'const nested = `a ${`b ${performance.now()}`} c`;',
      "const obj = { a: `x` }; const s = '}'; setImmediate(f);",
    ].join('\n');
    const found = findViolations('src/block/example.ts', source).map((v) => `${v.line}:${v.rule}`);
    expect(found).toEqual(['6:Date.now', '7:Math.random', '8:performance.now', '9:timer']);
  });

  it('does not take look-alike names for banned ones', () => {
    const source = [
      'const mathRandom = stream.nextFloat();',
      'const updatedAt = record.Date;',
      'const timeoutTicks = 5;',
      'myconsole.log(1);',
      'class NotDate {}',
      'const x = toDate(1);',
    ].join('\n');
    expect(findViolations('src/block/example.ts', source)).toEqual([]);
  });
});
