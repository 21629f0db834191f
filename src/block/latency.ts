/**
 * Latency of one class of request (read, write, flush), as dm-delay delays
 * each class separately: a fixed number of ticks, or TigerBeetle's
 * minimum plus an exponential tail. An optional transfer time per sector
 * makes big requests (a 512 KiB resync copy) take longer than small ones;
 * it is 0 by default, so the delay is per request as dm-delay's is.
 */
import { drawExponentialTicks, type RandomStream } from '../world/random-stream.js';

export type LatencyModel = (
  | { readonly kind: 'fixed'; readonly ticks: number }
  | { readonly kind: 'exponential'; readonly minimumTicks: number; readonly meanTicks: number }
) & {
  /** Added per 512-byte sector transferred (e.g. 1 ≈ 512 MB/s); may be fractional. Default 0. */
  readonly ticksPerSector?: number;
};

export interface DeviceLatency {
  readonly read: LatencyModel;
  readonly write: LatencyModel;
  readonly flush: LatencyModel;
}

export const ZERO_LATENCY: LatencyModel = { kind: 'fixed', ticks: 0 };

export function fixedLatency(ticks: number): LatencyModel {
  return { kind: 'fixed', ticks };
}

export function checkLatency(deviceName: string, operation: string, model: LatencyModel): void {
  const bad = (what: string, value: number) =>
    new RangeError(
      `Device "${deviceName}" ${operation} latency ${what} ${value} is not an integer ≥ 0 ticks`,
    );
  const perSector = model.ticksPerSector ?? 0;
  if (!(perSector >= 0 && Number.isFinite(perSector))) {
    throw new RangeError(
      `Device "${deviceName}" ${operation} latency ticksPerSector ${perSector} is not a finite number ≥ 0`,
    );
  }
  if (model.kind === 'fixed') {
    if (!Number.isSafeInteger(model.ticks) || model.ticks < 0) throw bad('ticks', model.ticks);
    return;
  }
  if (!Number.isSafeInteger(model.minimumTicks) || model.minimumTicks < 0) {
    throw bad('minimum', model.minimumTicks);
  }
  if (!(model.meanTicks >= 0 && Number.isFinite(model.meanTicks)))
    throw bad('mean', model.meanTicks);
}

/** The delay of one request of `sectorCount` sectors (0 for flushes). */
export function drawLatencyTicks(
  model: LatencyModel,
  random: RandomStream,
  sectorCount = 0,
): number {
  const transfer =
    model.ticksPerSector === undefined ? 0 : Math.round(sectorCount * model.ticksPerSector);
  if (model.kind === 'fixed') return model.ticks + transfer;
  return (
    drawExponentialTicks(random, { minimumTicks: model.minimumTicks, meanTicks: model.meanTicks }) +
    transfer
  );
}
