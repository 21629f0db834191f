/**
 * What the simulated kernel ⇄ daemon link ({@link SimUlogTransport}) needs
 * of the process at its far end: the simple log daemon
 * ({@link SimUlogDaemon}) or a node's cmirrord (sim/cluster).
 */

/** The daemon end of a simulated userspace-log link. */
export interface SimUlogDaemonEnd {
  /** A process is running and listening on the connector. */
  readonly listening: boolean;
  /** Which run of the process this is; a request sent to an earlier one is lost. */
  readonly generation: number;
  /** A request arrives for incarnation `generation` (dropped if that process died). */
  deliver(record: Uint8Array, generation: number): void;
  /** The table-load path: a request handled inside the call; its reply, or null if none. */
  handleNow(record: Uint8Array): Uint8Array | null;
}
