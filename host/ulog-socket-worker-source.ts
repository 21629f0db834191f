/**
 * The worker thread of {@link UlogSocketChannel}, as JavaScript source run
 * with `eval`, so that it works the same from the TypeScript sources (tsx,
 * vitest) and from the built package. It owns one connection to the
 * daemon, framed as whole `dm_ulog_request` records, and answers each
 * posted request through the shared buffer:
 *
 * control[0] state (1 posted, 2 done), [1] status (0 reply, 1 no listener,
 * 2 lost), [2] reply length, [3] the request id it answers; then the reply
 * bytes.
 */
export const ULOG_SOCKET_WORKER_SOURCE = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const net = require('node:net');
const HEADER = 160;
const PAYLOAD_MAX = 864;
const control = new Int32Array(workerData.shared, 0, 4);
const data = new Uint8Array(workerData.shared, 16);
let socket = null;
let connected = false;
let buffered = Buffer.alloc(0);
let pending = null;

function finish(status, bytes) {
  if (pending === null) return;
  clearTimeout(pending.timer);
  const id = pending.id;
  pending = null;
  if (bytes) data.set(bytes, 0);
  Atomics.store(control, 1, status);
  Atomics.store(control, 2, bytes ? bytes.length : 0);
  Atomics.store(control, 3, id);
  Atomics.store(control, 0, 2);
  Atomics.notify(control, 0);
}

function drop() {
  if (socket !== null) socket.destroy();
  socket = null;
  connected = false;
  buffered = Buffer.alloc(0);
}

function onData(chunk) {
  buffered = Buffer.concat([buffered, chunk]);
  while (buffered.length >= HEADER) {
    const size = buffered.readUInt32LE(156);
    if (size > PAYLOAD_MAX) {
      // A reply stream that cannot be framed: give up on this connection.
      drop();
      finish(2, null);
      return;
    }
    if (buffered.length < HEADER + size) return;
    const record = Buffer.from(buffered.subarray(0, HEADER + size));
    buffered = buffered.subarray(HEADER + size);
    // Replies to older seqs (late replies) are dropped here, as the kernel drops them.
    if (pending !== null && record.readUInt32LE(148) === pending.seq) finish(0, record);
  }
}

function withConnection(then) {
  if (connected && socket !== null) {
    then(null);
    return;
  }
  drop();
  const attempt = net.connect(workerData.socketPath);
  let established = false;
  socket = attempt;
  attempt.on('connect', () => {
    established = true;
    connected = true;
    then(null);
  });
  attempt.on('data', (chunk) => {
    if (socket === attempt) onData(chunk);
  });
  attempt.on('error', (error) => {
    // An error on a live connection is followed by 'close', which settles the request.
    if (established) return;
    if (socket === attempt) drop();
    then(error);
  });
  attempt.on('close', () => {
    if (socket !== attempt) return;
    drop();
    // The daemon went away with our request in it: the request counts as lost.
    if (established) finish(2, null);
  });
}

parentPort.on('message', (message) => {
  if (message.kind !== 'request') return;
  pending = {
    id: message.id,
    seq: message.seq,
    timer: setTimeout(() => finish(2, null), message.timeoutMs),
  };
  const id = message.id;
  withConnection((error) => {
    if (pending === null || pending.id !== id) return;
    if (error !== null) {
      setTimeout(() => {
        if (pending !== null && pending.id === id) finish(1, null);
      }, message.noListenerPauseMs);
      return;
    }
    socket.write(Buffer.from(message.bytes));
  });
});
`;
