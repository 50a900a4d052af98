/** Where the shell mounts the model pages: every link they render is absolute under it. */
export const MODELS_BASE = '/models';

/** The page of one model (model ids are URL-safe by their schema; encoded anyway). */
export function modelPath(modelId: string): string {
  return `${MODELS_BASE}/${encodeURIComponent(modelId)}`;
}

/** A stored drift report of one run, served by the model routes. */
export function reportPath(modelId: string, runId: string): string {
  return `${modelPath(modelId)}/reports/${encodeURIComponent(runId)}/drift.html`;
}
