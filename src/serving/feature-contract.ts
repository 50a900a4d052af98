/**
 * What a /predict request must carry and what of it is used, for one snapshot of served models and
 * the model policy's `serving` section. Pure: no I/O, no clock.
 *
 * A feature the champion or the canary reads must be present in the request (a `null` value counts as
 * present: the client says the value is unknown, and the pipeline imputes it as in training), unless
 * `serving.allowMissing` names it. A request that leaves one out would otherwise be answered from
 * imputed values alone: `{"features":{}}` got a confident prediction. The union of champion and canary
 * is required so that whether a request is accepted never depends on which side the canary routing
 * puts its entity. Keys no served model reads (shadow included) are "ignored": still logged, so the
 * next training run can pick them up, and listed in the answer, or refused under
 * `serving.unknownFeatures: "refuse"`.
 */
import type { Features } from '../schemas/records';
import type { ServingModels } from './model-watcher';

/** The feature contract of one {@link ServingModels} snapshot. */
export interface FeatureContract {
  /** Features every request must carry, sorted. */
  readonly required: readonly string[];
  /** Every feature some served model reads. */
  readonly known: ReadonlySet<string>;
  readonly refuseUnknown: boolean;
}

/** What {@link inspectFeatures} found wrong or unused in one request's features. */
export interface FeatureFindings {
  /** Required features the request left out, in `required` order. */
  missing?: string[];
  /** Keys no served model reads, in request order. */
  unknown?: string[];
}

const NOTHING: FeatureFindings = Object.freeze({});
const contracts = new WeakMap<ServingModels, FeatureContract>();

function inputNames(models: ServingModels, withShadow: boolean): string[] {
  const names: string[] = [];
  for (const m of [models.champion, models.canary?.model, withShadow ? models.shadow?.model : undefined]) {
    if (m) for (const f of m.artifact.pipeline.features) names.push(f.name);
  }
  return names;
}

/** The contract of a snapshot, computed once per snapshot (snapshots are replaced, never mutated). */
export function contractOf(models: ServingModels): FeatureContract {
  let contract = contracts.get(models);
  if (contract === undefined) {
    const allowed = new Set(models.policy.allowMissing);
    contract = {
      required: [...new Set(inputNames(models, false))].filter((n) => !allowed.has(n)).sort(),
      known: new Set(inputNames(models, true)),
      refuseUnknown: models.policy.unknownFeatures === 'refuse',
    };
    contracts.set(models, contract);
  }
  return contract;
}

/**
 * The required features a request left out and the keys nothing reads. Allocates nothing for a
 * request that carries exactly what the models read (the common case on the hot path).
 */
export function inspectFeatures(contract: FeatureContract, features: Features): FeatureFindings {
  let missing: string[] | undefined;
  for (const name of contract.required) if (!Object.hasOwn(features, name)) (missing ??= []).push(name);
  let unknown: string[] | undefined;
  for (const key in features) if (!contract.known.has(key)) (unknown ??= []).push(key);
  if (missing === undefined && unknown === undefined) return NOTHING;
  return { ...(missing && { missing }), ...(unknown && { unknown }) };
}

/** Names for a one-line message: at most `max`, each cut to 64 characters and JSON-quoted. */
export function listNames(names: readonly string[], max = 10): string {
  const shown = names.slice(0, max).map((n) => JSON.stringify(n.length > 64 ? `${n.slice(0, 64)}…` : n));
  return shown.join(', ') + (names.length > max ? ` and ${names.length - max} more` : '');
}
