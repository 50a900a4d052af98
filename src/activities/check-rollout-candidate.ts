/**
 * The rollout's first step, also run by the CLI before it starts a rollout: is this candidate allowed to
 * serve anyone? It must be registered, the model must have a champion that is not the candidate, and
 * the promotion gate must have blessed it, unless an explicit override (actor and reason) says
 * otherwise. A refusal names its reason (the gate's reasons for an unblessed version). It also measures
 * the offline control of the rollout's agreement metric: how often the candidate and the champion agree
 * on the gate's test set, which is what the live agreement should match if production looks like the
 * test set.
 */
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { loadScorer } from '../scoring';
import { LabeledRowSchema, ModelIdSchema } from '../schemas/records';
import type { BlobStore } from '../storage/blob-store';
import { CHAMPION, ModelRegistry, VersionIdSchema, VersionNotFoundError } from '../storage/model-registry';
import type { ActivityDeps } from './deps';
import { heartbeat } from './heartbeat';
import { readRows } from './read-rows';

/** Test-set rows scored for the offline agreement; more adds cost, not precision worth having. */
const MAX_AGREEMENT_ROWS = 20_000;

export const CheckRolloutCandidateInputSchema = z.object({
  modelId: ModelIdSchema,
  candidateVersion: z.string().min(1),
  /** Roll out a registered but unblessed version anyway; recorded in the rollout and the alias audit log. */
  forceUnblessed: z
    .object({ actor: z.string().trim().min(1), reason: z.string().trim().min(1) })
    .strict()
    .optional(),
});
export type CheckRolloutCandidateInput = z.input<typeof CheckRolloutCandidateInputSchema>;

/** Why a candidate may not be rolled out; `type` is the ApplicationFailure type the workflow fails with. */
export type RolloutRefusalType = 'UnknownVersion' | 'CandidateNotBlessed' | 'NoChampion' | 'AlreadyChampion';

/** A refused rollout candidate. */
export class RolloutRefusedError extends Error {
  override readonly name = 'RolloutRefusedError';
  constructor(
    readonly type: RolloutRefusalType,
    message: string,
  ) {
    super(message);
  }
}

/** What the check found about an accepted candidate. */
export interface RolloutCandidateCheck {
  champion: string;
  blessed: boolean;
  /** The gate's reasons (why it blessed or refused the candidate). */
  gateReasons: string[];
  /** Set when an unblessed candidate is rolled out on an explicit override. */
  forced: { actor: string; reason: string } | null;
  /** Candidate vs champion agreement on the gate's test set; null when there is none to score. */
  offlineAgreement: { rate: number; n: number; testSetKey: string } | null;
  notes: string[];
}

/**
 * Checks a rollout candidate against the registry; throws {@link RolloutRefusedError} when it may not
 * serve anyone. Reads only.
 */
export async function checkRolloutCandidate(
  store: BlobStore,
  raw: CheckRolloutCandidateInput,
  opts: { offlineAgreement?: boolean } = {},
): Promise<RolloutCandidateCheck> {
  const input = CheckRolloutCandidateInputSchema.parse(raw);
  const { modelId, candidateVersion: version } = input;
  const registry = new ModelRegistry(store);
  const listHint = `see \`loopkeeper models list --model ${modelId}\``;
  const id = VersionIdSchema.safeParse(version);
  if (!id.success) {
    throw new RolloutRefusedError(
      'UnknownVersion',
      `refusing to roll out "${version}": not a valid version id (${id.error.issues[0].message}); ${listHint}`,
    );
  }
  const manifest = await registry.getManifest(modelId, version).catch((err: unknown) => {
    if (err instanceof VersionNotFoundError) {
      throw new RolloutRefusedError(
        'UnknownVersion',
        `refusing to roll out ${version}: model ${modelId} has no version ${version}; ${listHint}`,
      );
    }
    throw err;
  });
  const champion = (await registry.getAliases(modelId)).aliases[CHAMPION] ?? null;
  if (champion === null) {
    throw new RolloutRefusedError(
      'NoChampion',
      `refusing to roll out ${version}: model ${modelId} has no champion to compare it with (promote one first: \`loopkeeper models promote\`)`,
    );
  }
  if (champion === version) {
    throw new RolloutRefusedError(
      'AlreadyChampion',
      `refusing to roll out ${version}: it is already the champion of ${modelId}`,
    );
  }
  const blessing = manifest.blessing;
  const blessed = blessing?.blessed === true;
  const gateReasons = blessing?.reasons ?? [];
  if (!blessed && !input.forceUnblessed) {
    const why = blessing
      ? `the promotion gate refused it: ${gateReasons.join('; ') || 'no reason recorded'}`
      : 'no blessing recorded (the promotion gate never evaluated it)';
    throw new RolloutRefusedError(
      'CandidateNotBlessed',
      `refusing to roll out ${version} of ${modelId}: ${why}; to override, pass --force-unblessed --reason "<why>" (recorded in the alias audit log)`,
    );
  }
  const notes: string[] = [];
  if (blessed && input.forceUnblessed) notes.push(`${version} is blessed: --force-unblessed was not needed`);
  const offlineAgreement =
    opts.offlineAgreement === false
      ? null
      : await agreementOnTestSet(registry, modelId, champion, version, blessing?.testSetKey, notes);
  return {
    champion,
    blessed,
    gateReasons,
    forced: !blessed && input.forceUnblessed ? input.forceUnblessed : null,
    offlineAgreement,
    notes,
  };
}

async function agreementOnTestSet(
  registry: ModelRegistry,
  modelId: string,
  champion: string,
  candidate: string,
  testSetKey: string | null | undefined,
  notes: string[],
): Promise<RolloutCandidateCheck['offlineAgreement']> {
  if (!testSetKey) {
    notes.push('no gate test set recorded: agreement with the champion is reported as information only');
    return null;
  }
  try {
    const [a, b] = await Promise.all([
      loadScorer(registry, modelId, champion),
      loadScorer(registry, modelId, candidate),
    ]);
    let n = 0;
    let agree = 0;
    for await (const row of readRows(registry.store, [testSetKey], LabeledRowSchema)) {
      if (n >= MAX_AGREEMENT_ROWS) break;
      n++;
      if (a.artifact.classes[a.score(row.features)] === b.artifact.classes[b.score(row.features)]) agree++;
      if (n % 2000 === 0) heartbeat({ n });
    }
    if (n === 0) {
      notes.push(`gate test set ${testSetKey} is empty: agreement is reported as information only`);
      return null;
    }
    return { rate: agree / n, n, testSetKey };
  } catch (err) {
    notes.push(
      `gate test set ${testSetKey} could not be scored (${err instanceof Error ? err.message : String(err)}): agreement is reported as information only`,
    );
    return null;
  }
}

/** Builds the activity: a refusal becomes a non-retryable ApplicationFailure of the refusal's type. */
export function createCheckRolloutCandidate(deps: ActivityDeps) {
  return async function checkRolloutCandidateActivity(
    input: CheckRolloutCandidateInput,
  ): Promise<RolloutCandidateCheck> {
    try {
      return await checkRolloutCandidate(deps.store, input);
    } catch (err) {
      if (err instanceof RolloutRefusedError) throw ApplicationFailure.nonRetryable(err.message, err.type);
      throw err;
    }
  };
}
