/**
 * The node:http request listener of a serving app. POST /predict is read and answered on node:http
 * directly; every other request goes to the hono app through @hono/node-server's adapter.
 *
 * Why /predict skips hono: at thousands of requests a second on one core, the adapter's web `Request`
 * and `Response` objects and hono's dispatch cost a fifth of the CPU of each prediction, and that
 * utilisation is what pushes the tail latency past the budget (src/serving/README.md, Performance). The
 * answers are the same either way: both paths call one {@link PredictEndpoint}.
 */
import type { RequestListener, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { PredictEndpoint, PredictReply } from './predict-endpoint';

/** As a web Request's `text()`: UTF-8, a leading byte-order mark dropped, malformed bytes replaced. */
const utf8 = new TextDecoder();

/** hono routes by path, so `/predict?x=1` is /predict too. */
function isPredictUrl(url: string | undefined): boolean {
  return url === '/predict' || (url !== undefined && url.startsWith('/predict?'));
}

/**
 * Writes a reply in one go. `close` ends the connection after it: a body refused before it was read
 * would otherwise have to be read and thrown away for the connection to be reused.
 */
function send(res: ServerResponse, reply: PredictReply, close: boolean): void {
  const headers = [
    'Content-Type',
    'application/json',
    'Content-Length',
    String(Buffer.byteLength(reply.body)),
  ];
  if (close) headers.push('Connection', 'close');
  if (reply.status === 401) headers.push('WWW-Authenticate', 'Bearer');
  res.writeHead(reply.status, headers);
  res.end(reply.body);
}

/**
 * A node:http listener serving POST /predict through `endpoint` and everything else through
 * `fallback` (the hono app's listener). A client that disconnects before its body has arrived gets
 * no answer and nothing of it is predicted or logged.
 */
export function createNodeListener(endpoint: PredictEndpoint, fallback: RequestListener): RequestListener {
  const max = endpoint.maxBodyBytes;
  return (req, res) => {
    if (req.method !== 'POST' || !isPredictUrl(req.url)) {
      fallback(req, res);
      return;
    }
    const started = performance.now();
    if (!endpoint.authorized(req.headers.authorization)) {
      send(res, endpoint.unauthorized(), true);
      return;
    }
    const length = req.headers['content-length'];
    if (length !== undefined && req.headers['transfer-encoding'] === undefined && Number(length) > max) {
      send(res, endpoint.tooLarge(), true);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size <= max) {
        chunks.push(chunk);
        return;
      }
      // A chunked body grew past the limit.
      refused = true;
      chunks.length = 0;
      send(res, endpoint.tooLarge(), true);
    });
    req.on('end', () => {
      if (refused) return;
      let reply: PredictReply;
      try {
        const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
        reply = endpoint.answer(utf8.decode(body), started);
      } catch (err) {
        reply = endpoint.failed(err);
      }
      send(res, reply, false);
    });
    // An aborted upload: node:http closes the socket; there is nobody left to answer.
    req.on('error', () => undefined);
  };
}
