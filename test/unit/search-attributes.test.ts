import { ensureSearchAttributes, MissingSearchAttributesError } from '../../src/config/search-attributes';
import type { Connection } from '@temporalio/client';

/** An operator service answering from a set of registered names; `refuse` is the gRPC code of add. */
function operator(known: string[], refuse?: number) {
  const added: Array<Record<string, number>> = [];
  const service = {
    listSearchAttributes: async () => ({ customAttributes: Object.fromEntries(known.map((k) => [k, 2])) }),
    addSearchAttributes: async (req: { searchAttributes: Record<string, number> }) => {
      if (refuse !== undefined) throw Object.assign(new Error('no\nmore'), { code: refuse });
      added.push(req.searchAttributes);
      return {};
    },
  };
  return {
    added,
    connection: { operatorService: service } as unknown as Pick<Connection, 'operatorService'>,
  };
}

test('registers only the missing attributes, as Keyword, and nothing when all exist', async () => {
  const some = operator(['LoopkeeperModel']);
  await ensureSearchAttributes(some.connection, 'loopkeeper-abc123');
  expect(some.added).toEqual([{ LoopkeeperKind: 2, LoopkeeperOutcome: 2 }]);
  const all = operator(['LoopkeeperModel', 'LoopkeeperKind', 'LoopkeeperOutcome']);
  await ensureSearchAttributes(all.connection, 'loopkeeper-abc123');
  expect(all.added).toEqual([]);
});

test('a concurrent registration is fine; a refusal names the commands to run', async () => {
  await expect(ensureSearchAttributes(operator([], 6).connection, 'ns')).resolves.toBeUndefined();
  const refused = ensureSearchAttributes(operator(['LoopkeeperModel'], 7).connection, 'prod.acct');
  await expect(refused).rejects.toThrow(MissingSearchAttributesError);
  await expect(refused).rejects.toThrow(
    'temporal operator search-attribute create --namespace prod.acct --name LoopkeeperKind --type Keyword && ' +
      'temporal operator search-attribute create --namespace prod.acct --name LoopkeeperOutcome --type Keyword',
  );
  await expect(ensureSearchAttributes(operator([], 14).connection, 'ns')).rejects.toThrow('no');
});
