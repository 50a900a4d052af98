/**
 * Which model answers a request (pure). The canary split is the sticky `canaryShare` from the policy
 * module — the same function the rollout analysis assumes — keyed by entity, so a user stays on one side
 * for the whole rollout step. Shadow sampling is per request (deterministic from the request id).
 */
import { canaryShare } from '../policy/canary-analysis';
import { fnv1a32 } from '../policy/rng';
import type { LoadedModel, ServingModels } from './model-watcher';

/** The routing decision for one instance. */
export interface Route {
  role: 'champion' | 'canary';
  model: LoadedModel;
  /** A shadow candidate that also scores this request (logged only). */
  shadow?: LoadedModel;
}

/** True when a request falls in the shadow sample (hash of the request id, so a retry decides the same). */
export function inShadowSample(requestId: string, sampleShare: number): boolean {
  if (sampleShare >= 1) return true;
  if (sampleShare <= 0) return false;
  return fnv1a32(`shadow:${requestId}`) % 10000 < Math.round(sampleShare * 10000);
}

/**
 * Routes one instance: canary if one is configured and `canaryShare(routingKey, weight, salt)` says so,
 * otherwise the champion. Needs a champion (callers answer 503 without one).
 */
export function route(models: ServingModels, routingKey: string, requestId: string): Route | undefined {
  const champion = models.champion;
  if (!champion) return undefined;
  const canary = models.canary;
  const served =
    canary &&
    canary.weightPercent > 0 &&
    canaryShare(routingKey, canary.weightPercent, canary.salt) === 'canary'
      ? { role: 'canary' as const, model: canary.model }
      : { role: 'champion' as const, model: champion };
  const shadow = models.shadow;
  // A shadow of the very model that served adds nothing but cost.
  if (
    shadow &&
    shadow.model.version !== served.model.version &&
    inShadowSample(requestId, shadow.sampleShare)
  ) {
    return { ...served, shadow: shadow.model };
  }
  return served;
}
