/**
 * Runs COPY ... TO STDOUT on the caller's client and, when the export fails or is
 * cancelled half-way, stops it so the client can be used (or rolled back) afterwards.
 */
import net from 'node:net';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type pg from 'pg';
import { CopyOutStream } from './copy-out.js';

const CANCEL_REQUEST_CODE = 80877102;
const CANCEL_TIMEOUT_MS = 5000;

export function startCopy(client: pg.ClientBase, sql: string): Readable {
  return client.query(new CopyOutStream(sql));
}

/**
 * Asks the server to cancel the COPY, then drains whatever is still in flight until the
 * server ends it, which leaves the connection idle (its transaction, if any, aborted).
 */
export async function stopCopy(client: pg.ClientBase, copy: Readable): Promise<void> {
  if (copy.readableEnded || copy.destroyed) return;
  const ended = finished(copy).catch(() => undefined); // the cancel ends the COPY with an error, as intended
  // Read and discard explicitly: resume() does nothing while an abandoned async iterator
  // still has a 'readable' listener on the stream.
  const discard = (): void => {
    while (copy.read() !== null);
  };
  copy.on('readable', discard);
  await sendCancelRequest(client);
  discard();
  await ended;
}

/**
 * The protocol's CancelRequest, on a fresh connection: pg exposes no public cancel, and a
 * cancel needs no credentials beyond the backend's key. Best effort: if it does not get
 * through, draining still ends the COPY, only later.
 */
function sendCancelRequest(client: pg.ClientBase): Promise<void> {
  const { host, port, processID, secretKey } = client as unknown as { host?: string; port?: number; processID?: number | null; secretKey?: number | null };
  if (!host || !port || processID == null || secretKey == null) return Promise.resolve();
  return new Promise((resolve) => {
    const socket = host.startsWith('/') ? net.connect(`${host}/.s.PGSQL.${port}`) : net.connect(port, host);
    const packet = Buffer.alloc(16);
    packet.writeInt32BE(16, 0);
    packet.writeInt32BE(CANCEL_REQUEST_CODE, 4);
    packet.writeInt32BE(processID, 8);
    packet.writeInt32BE(secretKey, 12);
    socket.setTimeout(CANCEL_TIMEOUT_MS, () => socket.destroy());
    socket.once('connect', () => socket.end(packet));
    socket.once('error', () => undefined);
    socket.once('close', () => resolve());
  });
}
