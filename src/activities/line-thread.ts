/**
 * Worker-thread entry of one line job (started by line-threads.ts through run-thread.ts): batches of
 * whole lines arrive from the reader on the activity's thread, each handled and acknowledged (so the
 * reader may send more), then the job's partial result goes back on 'end'.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { LineJobSpec, LineThreadMessage } from './line-threads';
import { createLineJob } from './line-threads';
import type { ThreadMessage } from './run-thread';

function main(): void {
  const port = parentPort;
  if (!port) return;
  const post = (m: ThreadMessage<{ ack: true }, unknown>): void => port.postMessage(m);
  const decoder = new TextDecoder();
  try {
    const job = createLineJob(workerData as LineJobSpec);
    port.on('message', (m: LineThreadMessage) => {
      try {
        if (m.kind === 'batch') {
          job.add({ key: m.key, firstLineNo: m.firstLineNo, text: decoder.decode(m.bytes) });
          post({ type: 'event', event: { ack: true } });
        } else if (m.kind === 'damaged') job.damaged?.();
        else {
          post({ type: 'result', result: job.result() });
          port.removeAllListeners('message');
        }
      } catch (err) {
        post({ type: 'error', message: (err as Error).message, stack: (err as Error).stack });
        port.removeAllListeners('message');
      }
    });
  } catch (err) {
    post({ type: 'error', message: (err as Error).message, stack: (err as Error).stack });
  }
}

if (!isMainThread) main();
