import { openNdjsonSink } from '../../src/storage/ndjson-sink';
import { readLines } from '../../src/storage/ndjson';
import { tempFileStore } from '../support/temporal';

describe('openNdjsonSink', () => {
  test.each(['rows.ndjson', 'rows.ndjson.gz'])(
    '%s: rows of every size and spelling come back in order, byte for byte',
    async (key) => {
      const { store } = tempFileStore();
      const sink = openNdjsonSink(store, key);
      const expected: string[] = [];
      for (let i = 0; i < 3000; i++) {
        // Small rows, multi-byte text, and every 500th row larger than the sink's chunk.
        const text = i % 500 === 0 ? 'x'.repeat(200_000) : `ünï-€-${i}-${'y'.repeat(i % 97)}`;
        const row = { i, text };
        let pending: Promise<void> | undefined;
        if (i % 3 === 0) pending = sink.write(row);
        else if (i % 3 === 1) pending = sink.writeJsonLine(JSON.stringify(row));
        else {
          const json = JSON.stringify(row);
          const tail = Buffer.from(`..${json.slice(5)}..`, 'utf8');
          pending = sink.writeLineSplice(json.slice(0, 5), tail, 2, tail.length - 2);
        }
        if (pending) await pending;
        expected.push(JSON.stringify(row));
      }
      const { rows } = await sink.end();
      expect(rows).toBe(3000);
      const got: string[] = [];
      for await (const { line } of readLines(store, key)) got.push(line);
      expect(got).toEqual(expected);
    },
  );

  test('nothing is visible under the key until end(), and nothing after abort()', async () => {
    const { store } = tempFileStore();
    const sink = openNdjsonSink(store, 'a.ndjson');
    for (let i = 0; i < 5000; i++) await sink.write({ i, pad: 'z'.repeat(100) });
    expect(await store.head('a.ndjson')).toBeUndefined();
    await sink.abort(new Error('stop'));
    expect(await store.head('a.ndjson')).toBeUndefined();
  });
});
