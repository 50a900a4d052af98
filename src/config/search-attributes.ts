import type { Connection } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import { searchAttributeNames } from '../workflows/search-attributes';

/** temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD (@temporalio/proto is not a direct dependency). */
const KEYWORD = 2;

function grpcCode(err: unknown): number | undefined {
  return (err as { code?: number } | undefined)?.code;
}

/** Raised when the attributes are missing and this caller may not register them (a managed cluster). */
export class MissingSearchAttributesError extends Error {
  constructor(namespace: string, missing: string[], why: string) {
    super(
      `Temporal namespace "${namespace}" lacks loopkeeper's search attributes ${missing.join(', ')} and they cannot be registered from here (${why}); ` +
        `register them once: ${missing.map((n) => `temporal operator search-attribute create --namespace ${namespace} --name ${n} --type Keyword`).join(' && ')}`,
    );
    this.name = 'MissingSearchAttributesError';
  }
}

/**
 * Registers loopkeeper's Keyword search attributes in `namespace` when missing (idempotent; a concurrent
 * registration is fine). Search attributes are per namespace on current servers, so every installation's
 * namespace needs them before a workflow upserts one. Throws MissingSearchAttributesError, naming the
 * commands, when they are missing and the server refuses to add them.
 */
export async function ensureSearchAttributes(
  connection: Pick<Connection | NativeConnection, 'operatorService'>,
  namespace: string,
): Promise<void> {
  const service = connection.operatorService;
  const listed = await service.listSearchAttributes({ namespace });
  const known = new Set(Object.keys(listed.customAttributes ?? {}));
  const missing = searchAttributeNames.filter((n) => !known.has(n));
  if (missing.length === 0) return;
  try {
    await service.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((n) => [n, KEYWORD])),
    });
  } catch (err) {
    if (grpcCode(err) === 6 /* ALREADY_EXISTS: a concurrent caller */) return;
    if (grpcCode(err) === 7 || grpcCode(err) === 12) {
      throw new MissingSearchAttributesError(namespace, missing, (err as Error).message.split('\n')[0]);
    }
    throw err;
  }
}
