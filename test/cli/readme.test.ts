/**
 * The README tells the truth: its demo sample is what `npm start`
 * (`mirrorsim run` with its defaults) prints, byte for byte, and every link
 * in it and in docs/ points at a file inside the repository.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EXIT_OK } from '../../cli/cli-io.js';
import { runCli } from '../../cli/main.js';
import { captureIo } from './cli-test-kit.js';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

describe('the README', () => {
  it('shows the real output of npm start (mirrorsim run with its defaults)', async () => {
    const sample = /a map of the regions and the verdict:\n\n```\n([\s\S]*?)```\n/.exec(
      README,
    )?.[1];
    expect(sample, 'the demo sample block').toBeDefined();
    const captured = captureIo(0);
    expect(await runCli(['run'], captured.io)).toBe(EXIT_OK);
    expect(captured.stdout()).toBe(sample);
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(manifest.scripts.start).toBe('tsx cli/main.ts run');
  });

  it('states the Node version package.json requires', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(README).toContain(`\`${manifest.engines.node}\``);
  });

  it('links only to files inside the repository, in it and in docs/', () => {
    const documents = [
      'README.md',
      ...readdirSync(join(ROOT, 'docs'), { recursive: true, encoding: 'utf8' })
        .filter((name) => name.endsWith('.md'))
        .map((name) => join('docs', name)),
    ];
    let links = 0;
    for (const document of documents) {
      const text = readFileSync(join(ROOT, document), 'utf8');
      for (const match of text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
        const target = match[1]!;
        if (/^[a-z]+:/.test(target)) continue;
        links++;
        const path = resolve(ROOT, dirname(document), target);
        expect(relative(ROOT, path).startsWith('..'), `${document} → ${target}`).toBe(false);
        expect(existsSync(path), `${document} → ${target}`).toBe(true);
      }
    }
    expect(links).toBeGreaterThan(5);
  });
});
