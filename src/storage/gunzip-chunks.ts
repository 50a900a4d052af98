import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

/**
 * Decompresses a gzip stream chunk by chunk, and on damage (truncated or corrupt) yields everything
 * decoded before it and then throws the zlib error. Piping into a gunzip and iterating it would drop
 * whatever output sat in the stream's buffer when the error came, so how much of a damaged file was
 * read would depend on timing; here the gunzip is never paused (the compressed input is what waits),
 * so every byte it decodes is seen, the same on every read.
 */
export async function* gunzipChunks(raw: Readable): AsyncGenerator<Buffer> {
  const gunzip = createGunzip();
  const out: Buffer[] = [];
  let failure: Error | undefined;
  let ended = false;
  let wake: (() => void) | undefined;
  const signal = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  gunzip.on('data', (chunk: Buffer) => {
    out.push(chunk);
    signal();
  });
  gunzip.on('error', (err: Error) => {
    failure = err;
    signal();
  });
  gunzip.on('end', () => {
    ended = true;
    signal();
  });
  const waitForOutput = (): Promise<void> => new Promise<void>((resolve) => (wake = resolve));

  try {
    for await (const chunk of raw) {
      if (failure) break;
      // Feed one compressed chunk, then hand out what it decoded before feeding more.
      let written = false;
      gunzip.write(chunk as Buffer, () => {
        written = true;
        signal();
      });
      while (!written && !failure) await waitForOutput();
      while (out.length > 0) yield out.shift()!;
    }
    if (!failure) gunzip.end();
    while (!ended && !failure) {
      if (out.length === 0) await waitForOutput();
      while (out.length > 0) yield out.shift()!;
    }
    while (out.length > 0) yield out.shift()!;
    if (failure) throw failure;
  } finally {
    gunzip.destroy();
  }
}
