/**
 * The NBD server's pure parts never read a clock, start a timer or touch a
 * socket (issue 14: the protocol is testable without sockets, and what it
 * decides cannot depend on timing). Like test/tidy.test.ts, it reads the
 * sources; comments and string contents are ignored.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../daemon-process-kit.js';

/** The protocol folder, and the files of host/nbd that decide things without I/O. */
const PURE = [
  ...readdirSync(join(PROJECT_ROOT, 'host/nbd/protocol'), { recursive: true })
    .map(String)
    .filter((name) => name.endsWith('.ts'))
    .map((name) => `host/nbd/protocol/${name}`),
  'host/nbd/content-oracle.ts',
  'host/nbd/block-status.ts',
  'host/nbd/overlap-tracker.ts',
  'host/nbd/power-cut.ts',
  'host/nbd/export-metrics.ts',
  'host/nbd/drive-write-back.ts',
  'host/nbd/_internals/sector-hash.ts',
  'host/nbd/_internals/sector-hash-store.ts',
  'host/nbd/_internals/prometheus-text.ts',
  'host/nbd/_internals/regions-in-sync.ts',
];

const BANNED: ReadonlyArray<readonly [string, RegExp]> = [
  ['wall clock', /\b(Date\s*\.\s*now|new\s+Date|performance\s*\.\s*now|process\s*\.\s*hrtime)\b/],
  ['timer', /\b(setTimeout|setInterval|setImmediate|process\s*\.\s*nextTick|queueMicrotask)\b/],
  ['randomness', /\bMath\s*\.\s*random\b/],
  ['I/O module', /from\s+'node:(net|http|fs|dgram|child_process|perf_hooks)'/],
];

/** The source with comments and string contents blanked (line structure kept). */
function code(source: string): string {
  return source
    .replace(/\/\*[\s\S]*?\*\//g, (comment) => comment.replace(/[^\n]/g, ' '))
    .replace(/\/\/[^\n]*/g, '')
    .replace(/(['"`])(?:\\.|(?!\1)[^\\\n])*\1/g, (literal, quote: string) =>
      literal.startsWith("'node:") ? literal : `${quote}${quote}`,
    );
}

describe("purity of the NBD protocol and the server's decisions", () => {
  it('finds the pure files', () => {
    expect(PURE).toContain('host/nbd/protocol/handshake.ts');
    expect(PURE).toContain('host/nbd/protocol/request-parser.ts');
    expect(PURE.length).toBeGreaterThanOrEqual(18);
  });

  it('none of them reads a clock, starts a timer, draws Math.random or imports an I/O module', () => {
    const found: string[] = [];
    for (const file of PURE) {
      const lines = code(readFileSync(join(PROJECT_ROOT, file), 'utf8')).split('\n');
      lines.forEach((line, index) => {
        for (const [rule, pattern] of BANNED) {
          if (pattern.test(line))
            found.push(`${relative('.', file)}:${index + 1}: ${rule}: ${line.trim()}`);
        }
      });
    }
    expect(found).toEqual([]);
  });

  it('the scan would see a banned call', () => {
    expect(
      BANNED.some(([, pattern]) => pattern.test(code('const t = performance.now(); // ok'))),
    ).toBe(true);
    expect(BANNED.some(([, pattern]) => pattern.test(code("const t = 'performance.now()';")))).toBe(
      false,
    );
  });
});
