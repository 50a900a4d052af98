import type { Features } from '../schemas/records';
import type { ModelArtifact } from './model';
import { scoreFeatures } from './model';
import { createRng } from './rng';

/**
 * A small, systematic perturbation of one row (essay §2.3): numbers move by ~1% noise, and category
 * strings are re-spelled the way upstream systems drift (case, stray whitespace). A robust model keeps
 * its answer; a model leaning on exact spellings or knife-edge thresholds flips.
 */
export function perturbFeatures(features: Features, rng: ReturnType<typeof createRng>): Features {
  const out: Features = {};
  for (const [k, v] of Object.entries(features)) {
    if (typeof v === 'number') out[k] = v * (1 + 0.01 * rng.normal());
    else if (typeof v === 'string') {
      const u = rng.next();
      out[k] = u < 0.34 ? v.toLowerCase() : u < 0.67 ? v.toUpperCase() : ` ${v} `;
    } else out[k] = v;
  }
  return out;
}

/** Share of rows whose predicted label changes under {@link perturbFeatures}; deterministic for a seed. */
export function perturbationFlipRate(
  artifact: ModelArtifact,
  rows: readonly { features: Features }[],
  seed: number,
): number {
  if (rows.length === 0) return 0;
  const rng = createRng(seed);
  let flips = 0;
  for (const r of rows) {
    if (
      scoreFeatures(artifact, r.features).predictedLabel !==
      scoreFeatures(artifact, perturbFeatures(r.features, rng)).predictedLabel
    )
      flips++;
  }
  return flips / rows.length;
}
