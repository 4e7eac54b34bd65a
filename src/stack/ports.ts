import { readFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export const HOST = '127.0.0.1';

/** Ports handed out by this process, so parallel picks never collide before their servers bind. */
const handedOut = new Set<number>();

export function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: HOST, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

function kernelPickedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen({ port: 0, host: HOST, exclusive: true }, () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Ports between 20000 and the start of the kernel's ephemeral range. A server port inside
 * that range can be taken as the source port of any outgoing connection while the server is
 * down, and then a restart on the same port fails (seen in the MinIO stop/start test).
 */
function stablePortRange(): [number, number] | null {
  let ephemeralLow = 32768;
  try {
    ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || ephemeralLow;
  } catch {
    // not Linux: assume the usual default
  }
  const low = 20000;
  const high = ephemeralLow - 1;
  return high - low >= 1000 ? [low, high] : null;
}

async function freshPort(): Promise<number> {
  const range = stablePortRange();
  if (range) {
    for (let attempt = 0; attempt < 100; attempt++) {
      const port = range[0] + Math.floor(Math.random() * (range[1] - range[0] + 1));
      if (!handedOut.has(port) && (await canBind(port))) return port;
    }
  }
  return kernelPickedPort();
}

/** Keeps `preferred` when it is still free (so URLs stay stable across restarts), else picks a free one. */
export async function pickPort(preferred?: number): Promise<number> {
  if (preferred && !handedOut.has(preferred) && (await canBind(preferred))) {
    handedOut.add(preferred);
    return preferred;
  }
  for (;;) {
    const port = await freshPort();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

/** True when something accepts a TCP connection on the loopback port. */
export function portAnswers(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ port, host: HOST });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/** HTTP status of a GET, or 0 when nothing answers. */
export async function httpStatus(url: string, timeoutMs = 2000): Promise<number> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

/**
 * Polls `check` until it returns true. `failFast` may throw early (e.g. the process died).
 * Returns false on timeout so the caller can build a message naming its component.
 */
export async function waitUntil(
  check: () => Promise<boolean>,
  timeoutMs: number,
  failFast?: () => void,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    failFast?.();
    await sleep(200);
  }
  return check();
}
