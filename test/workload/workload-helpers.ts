/** Helpers shared by the workload tests. */
import type { Workload, WorkloadRequest } from '../../sim/workload/workload.js';

/** Every request a workload yields, until it is done. */
export function drain(workload: Workload): WorkloadRequest[] {
  const requests: WorkloadRequest[] = [];
  for (let request = workload.next(); request !== undefined; request = workload.next()) {
    requests.push(request);
  }
  return requests;
}

/**
 * The requests that break the generators' contract: whole aligned blocks
 * inside the device, of an allowed op, never FUA. Checked in one pass so a
 * property test does not pay for an `expect` per request.
 */
export function misfits(
  requests: readonly WorkloadRequest[],
  geometry: { deviceSizeSectors: number; blockSizeSectors: number; ops: readonly string[] },
): WorkloadRequest[] {
  const { deviceSizeSectors, blockSizeSectors, ops } = geometry;
  return requests.filter(
    (request) =>
      !ops.includes(request.op) ||
      request.fua ||
      request.sectorCount !== blockSizeSectors ||
      !Number.isSafeInteger(request.sector) ||
      request.sector < 0 ||
      request.sector % blockSizeSectors !== 0 ||
      request.sector + request.sectorCount > deviceSizeSectors,
  );
}
