/**
 * The `dm_ulog_request` protocol between the `userspace` dirty log and its
 * daemon: record codec, payload codecs and rules, replies, stream framing,
 * and the constructor string (reference userspace-and-cluster-logs.md §1–§3);
 * the channel and transfer layer, the kernel-side `userspace` log, and the
 * daemon's request handler.
 */
export * from './ulog-binary-payloads.js';
export * from './ulog-channel.js';
export * from './ulog-constants.js';
export * from './ulog-constructor.js';
export * from './ulog-daemon.js';
export * from './ulog-direction.js';
export * from './ulog-payload-rules.js';
export * from './ulog-protocol-error.js';
export * from './ulog-reply.js';
export * from './ulog-request.js';
export * from './ulog-request-type.js';
export * from './ulog-stream-decoder.js';
export * from './ulog-text-payloads.js';
export * from './ulog-transfer.js';
export * from './userspace-log.js';
export * from './userspace-log-type.js';
