import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';

/**
 * A loopback stand-in for Slack and a webhook receiver: every path is a channel whose URL
 * carries a secret token, like a real incoming webhook. `flaky` answers each distinct body
 * with HTTP 500 twice and then 200; `hang` never answers.
 */
export interface AlertReceiver {
  /** A fresh secret URL; requests to it are recorded under `name`. */
  url(name: string): string;
  mode: 'flaky' | 'ok' | 'hang';
  requests: { channel: string; body: string; status: number | null }[];
  /** The accepted (2xx) bodies of a channel. */
  delivered(channel: string): string[];
  close(): Promise<void>;
}

export async function startAlertReceiver(): Promise<AlertReceiver> {
  const channels = new Map<string, string>();
  const seen = new Map<string, number>();
  const sockets = new Set<Socket>();
  const receiver: Omit<AlertReceiver, 'url' | 'close'> = {
    mode: 'flaky',
    requests: [],
    delivered: (channel) => receiver.requests.filter((r) => r.channel === channel && r.status === 200).map((r) => r.body),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const channel = channels.get(req.url ?? '') ?? 'unknown';
      const body = Buffer.concat(chunks).toString('utf8');
      const request = { channel, body, status: null as number | null };
      receiver.requests.push(request);
      if (receiver.mode === 'hang') return;
      const n = (seen.get(`${channel}\n${body}`) ?? 0) + 1;
      seen.set(`${channel}\n${body}`, n);
      request.status = receiver.mode === 'flaky' && n <= 2 ? 500 : 200;
      res.writeHead(request.status, { 'content-type': 'text/plain' });
      res.end(request.status === 200 ? 'ok' : 'try again');
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return Object.assign(receiver, {
    url(name: string) {
      const path = `/hooks/${name}/T0${randomBytes(12).toString('hex')}`;
      channels.set(path, name);
      return `${base}${path}`;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}
