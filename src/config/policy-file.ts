/**
 * Reading and writing a model's stored policy (`config/{model}/policy.json`), validated strictly. Used
 * by the cycle's policy stage and by `loopkeeper policy`.
 */
import { ApplicationFailure } from '@temporalio/common';
import { validatePolicyFile } from '../policy/model-policy';
import type { PolicyFile } from '../policy/model-policy';
import type { BlobStore } from '../storage/blob-store';
import { layout } from '../storage/layout';
import { writeJson } from '../storage/ndjson';

/** A stored policy as read: where it is, what the file holds, and the strict validation's outcome. */
export type StoredPolicy =
  | { key: string; source: 'defaults'; raw: undefined; policy: PolicyFile }
  | { key: string; source: 'stored'; raw: unknown; policy: PolicyFile }
  | { key: string; source: 'stored'; raw: unknown; problems: string[] };

/** Parses policy file text: JSON syntax errors become problems like any other. */
export function parsePolicyText(
  text: string,
): { raw: unknown; problems: string[] } | { raw: unknown; policy: PolicyFile } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { raw: undefined, problems: [`not valid JSON (${(err as Error).message})`] };
  }
  const r = validatePolicyFile(raw);
  return r.ok ? { raw, policy: r.data } : { raw, problems: r.problems };
}

/** Reads and strictly validates a model's policy; defaults when the model has none stored. */
export async function readStoredPolicy(store: BlobStore, modelId: string): Promise<StoredPolicy> {
  const key = layout.policy(modelId);
  const found = await store.getVersioned(key);
  if (!found) {
    const r = validatePolicyFile({});
    if (!r.ok) throw new Error(`the default policy is invalid: ${r.problems.join('; ')}`);
    return { key, source: 'defaults', raw: undefined, policy: r.data };
  }
  const parsed = parsePolicyText(found.body.toString('utf8'));
  return { key, source: 'stored', ...parsed };
}

/** `key in store: problem; problem` — one line naming the file and every problem. */
export function policyProblemsMessage(store: BlobStore, key: string, problems: string[]): string {
  return `${key} in ${store.uri} is invalid: ${problems.join('; ')}`;
}

/**
 * The policy a cycle runs by. A bad policy is a person's mistake that no retry fixes: it fails
 * non-retryably as `InvalidPolicy`, naming the file and every problem.
 */
export async function loadPolicyForCycle(
  store: BlobStore,
  modelId: string,
): Promise<{ policy: PolicyFile; source: 'stored' | 'defaults' }> {
  const stored = await readStoredPolicy(store, modelId);
  if ('problems' in stored)
    throw ApplicationFailure.nonRetryable(
      policyProblemsMessage(store, stored.key, stored.problems),
      'InvalidPolicy',
    );
  return { policy: stored.policy, source: stored.source };
}

/** Validates `raw` strictly and stores it as the model's policy; returns the problems instead when invalid. */
export async function writeStoredPolicy(
  store: BlobStore,
  modelId: string,
  raw: unknown,
): Promise<{ key: string; problems: string[] }> {
  const key = layout.policy(modelId);
  const r = validatePolicyFile(raw);
  if (!r.ok) return { key, problems: r.problems };
  // The file as written (not the defaults filled in), so later default changes still reach it.
  await writeJson(store, key, raw);
  return { key, problems: [] };
}
