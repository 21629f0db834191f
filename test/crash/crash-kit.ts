/**
 * Helpers for the crash-consistency suites: run a command script (the
 * commands as a run prints them) on a hand-written configuration, and read
 * what the run found.
 */
import { expect } from 'vitest';
import { parseCommands } from '../../sim/fuzz/command-script.js';
import {
  type FuzzConfig,
  type FuzzConfigSpec,
  makeFuzzConfig,
} from '../../sim/fuzz/fuzz-config.js';
import { runScenarioCommands } from '../../sim/fuzz/fuzz-property.js';
import type { FuzzSystem } from '../../sim/fuzz/fuzz-system.js';
import '../../src/log/builtin-logs.js';

/** Runs `lines` on the configuration `spec` describes; throws the first unexplained violation. */
export function runScript(
  spec: FuzzConfigSpec,
  lines: readonly string[],
  options: { readonly traceRecentCapacity?: number } = {},
): FuzzSystem {
  return runScenarioCommands(makeFuzzConfig(spec), parseCommands(lines), options);
}

/** Runs `lines` on a configuration exactly as a failure report printed it (its JSON). */
export function runScriptOn(config: FuzzConfig, lines: readonly string[]): FuzzSystem {
  return runScenarioCommands(config, parseCommands(lines));
}

/** Runs `lines` and returns the violation message it must fail with. */
export function failureOf(spec: FuzzConfigSpec, lines: readonly string[]): string {
  try {
    runScript(spec, lines);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('the script ran without a violation');
}

/** The reference facts of the expected outcomes a run recorded. */
export function expectedFacts(system: FuzzSystem): string[] {
  return [...new Set(system.expected.map((outcome) => outcome.fact))];
}

/** Asserts that some expected outcome cites `section` (e.g. `§4.8`) and explains `kind`. */
export function expectExplained(system: FuzzSystem, kind: string, section: string): void {
  const matching = system.expected.filter(
    (outcome) => outcome.kind === kind && outcome.fact.includes(section),
  );
  expect(matching.length, `an expected ${kind} outcome citing ${section}`).toBeGreaterThan(0);
}
