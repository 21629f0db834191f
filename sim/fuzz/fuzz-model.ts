/**
 * The model the crash-consistency commands are resolved against: the
 * scenario's configuration and what exists right now (the legs in the live
 * table's order, the target's size), refreshed from the system after every
 * command. Commands carry indices and resolve them modulo what the model
 * holds, so almost none is rejected and any shrunk subsequence still runs.
 */
import { FAULT_KINDS, type FaultKind, faultExpectation } from './fault-budget.js';
import type { FuzzConfig } from './fuzz-config.js';
import type { FuzzSystem } from './fuzz-system.js';

/** The model commands resolve their indices against (see the file comment). */
export class FuzzModel {
  readonly config: FuzzConfig;
  legOrder: readonly string[];
  lengthSectors: number;
  regionSizeSectors: number;
  /** Commands run so far. */
  commandsRun = 0;
  /** What each command resolved to, in order (for reports). */
  readonly resolved: string[] = [];
  private readonly enabledKinds: ReadonlySet<FaultKind>;

  constructor(config: FuzzConfig, real: FuzzSystem) {
    this.config = config;
    this.legOrder = real.legOrder;
    this.lengthSectors = real.lengthSectors;
    this.regionSizeSectors = config.geometry.regionSizeSectors;
    this.enabledKinds = new Set(
      FAULT_KINDS.filter((kind) => config.faultWeights[kind] > 0 && this.budgetAllows(kind)),
    );
  }

  /** Refreshes what the commands resolve against. */
  sync(real: FuzzSystem): void {
    this.legOrder = real.legOrder;
    this.lengthSectors = real.lengthSectors;
  }

  /**
   * Whether a fault command with `roll` (0–99) runs: the kind is on for this
   * seed and rolled under its weight. A negative roll (a scripted command,
   * a regression test) always runs; the budget still applies when it acts.
   */
  rolls(kind: FaultKind, roll: number): boolean {
    if (roll < 0) return true;
    return this.enabledKinds.has(kind) && roll < this.config.faultWeights[kind];
  }

  /** The leg at `index` modulo the legs in the live table, or the leg named so. */
  leg(reference: number | string): string {
    if (typeof reference === 'string') return reference;
    return this.legOrder[reference % this.legOrder.length]!;
  }

  /** A range of the target from two indices: a sector, and a length up to two regions. */
  range(at: number, length: number): { sector: number; sectorCount: number } {
    const sector = at % this.lengthSectors;
    const longest = Math.min(2 * this.regionSizeSectors, this.lengthSectors - sector);
    return { sector, sectorCount: 1 + (length % longest) };
  }

  /** Within budget, a kind no leg role can take is never generated; beyond it, everything is. */
  private budgetAllows(kind: FaultKind): boolean {
    if (this.config.budget === 'beyond') return true;
    const profile = this.config.profile;
    return (['default', 'other', 'none'] as const).some(
      (role) => faultExpectation(profile, kind, role).within,
    );
  }
}
