import { Readable } from 'node:stream';

/**
 * Passes `source` through, failing with `idleError()` when the consumer is waiting for data
 * and none has arrived for `idleMs`: a stalled server errors instead of hanging a download
 * forever. The clock runs only while the consumer asks for more, so a slow consumer (a
 * backpressured COPY) never trips it; a socket timeout could not tell the two apart.
 */
export function watchIdle(source: Readable, idleMs: number, idleError: () => Error): Readable {
  let timer: NodeJS.Timeout | undefined;
  const disarm = () => {
    clearTimeout(timer);
    timer = undefined;
  };
  const arm = () => {
    timer ??= setTimeout(() => watched.destroy(idleError()), idleMs);
  };
  const watched = new Readable({
    read() {
      arm();
      source.resume();
    },
    destroy(error, callback) {
      disarm();
      source.destroy();
      callback(error);
    },
  });
  source.pause();
  source.on('data', (chunk: Buffer) => {
    disarm();
    if (watched.push(chunk)) arm();
    else source.pause();
  });
  source.once('end', () => {
    disarm();
    watched.push(null);
  });
  source.once('error', (error) => watched.destroy(error));
  return watched;
}
