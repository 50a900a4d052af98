/**
 * Immutable model versions: models/{model}/versions/{version}/{model.json, manifest.json}, plus
 * model.onnx for versions of kind `onnx` (written first, then model.json, then the manifest). All are
 * created with putIfMatch(…, null) ("only if absent"), so two writers racing on one version id cannot
 * overwrite each other; the loser compares contents and either finds its own bytes (idempotent retry)
 * or reports a conflict.
 */
import type { z } from 'zod';
import { createHash } from 'node:crypto';
import type { StoredArtifact } from '../scoring/artifact';
import { parseStoredArtifact } from '../scoring/artifact';
import type { ModelManifest } from '../schemas/manifests';
import { ModelManifestSchema } from '../schemas/manifests';
import type { BlobStore } from './blob-store';
import { BlobConflictError, BlobNotFoundError } from './blob-store';
import { CorruptObjectError, firstIssue, jsonBody, parseStoredJson, readVersionedJson } from './cas-json';
import { canonicalJson, sameJson } from './content-id';
import { layout } from './layout';
import { VersionConflictError, VersionNotFoundError } from './registry-errors';

/** Manifest as callers write it (defaults not yet applied). */
export type ModelManifestInput = z.input<typeof ModelManifestSchema>;

/** Manifest fields the caller provides; id, version and class fields come from the registry and artifact. */
export type ManifestFields = Omit<
  ModelManifestInput,
  'modelId' | 'version' | 'classes' | 'positiveClass' | 'threshold'
>;

/** How many manifests are read at once when listing. */
const READ_CONCURRENCY = 16;

/**
 * Writes model.json once. Stored as canonical JSON, so the bytes are a function of the content alone.
 *
 * @returns true if this call created it, false if identical content was already there.
 * @throws VersionConflictError when different (or unreadable) content holds the key.
 */
export async function writeArtifactOnce(
  store: BlobStore,
  modelId: string,
  version: string,
  canonical: string,
): Promise<boolean> {
  const key = layout.modelVersion(modelId, version);
  try {
    await store.putIfMatch(key, `${canonical}\n`, null);
    return true;
  } catch (err) {
    if (!(err instanceof BlobConflictError)) throw err;
  }
  let existing: string;
  try {
    existing = canonicalJson(parseStoredArtifact(JSON.parse((await store.get(key)).toString('utf8'))));
  } catch {
    throw new VersionConflictError(
      modelId,
      version,
      'model.json content (the stored one is not a valid artifact)',
    );
  }
  if (existing !== canonical) throw new VersionConflictError(modelId, version, 'model.json content');
  return false;
}

/** Lowercase hex SHA-256 of some bytes (how model.onnx is named in its model.json). */
export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Writes model.onnx once (before model.json, so a version whose model.json names a graph has it).
 *
 * @returns true if this call created it, false if identical bytes were already there.
 * @throws VersionConflictError when different bytes hold the key.
 */
export async function writeOnnxOnce(
  store: BlobStore,
  modelId: string,
  version: string,
  bytes: Uint8Array,
): Promise<boolean> {
  const key = layout.modelOnnx(modelId, version);
  const body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    await store.putIfMatch(key, body, null);
    return true;
  } catch (err) {
    if (!(err instanceof BlobConflictError)) throw err;
  }
  if (!(await store.get(key)).equals(body))
    throw new VersionConflictError(modelId, version, 'model.onnx content');
  return false;
}

/** One file of a version; a missing file means the version is missing (VersionNotFoundError). */
async function getVersionFile(
  store: BlobStore,
  key: string,
  modelId: string,
  version: string,
): Promise<Buffer> {
  try {
    return await store.get(key);
  } catch (err) {
    if (err instanceof BlobNotFoundError) throw new VersionNotFoundError(modelId, version);
    throw err;
  }
}

/**
 * Reads a version's model.onnx and checks it against the sha256 its model.json records.
 *
 * @throws VersionNotFoundError when model.onnx is absent; CorruptObjectError when its bytes differ.
 */
export async function readOnnx(
  store: BlobStore,
  modelId: string,
  version: string,
  expectedSha256: string,
): Promise<Buffer> {
  const key = layout.modelOnnx(modelId, version);
  const body = await getVersionFile(store, key, modelId, version);
  const actual = sha256Hex(body);
  if (actual !== expectedSha256)
    throw new CorruptObjectError(
      store.uri,
      key,
      `sha256 ${actual.slice(0, 12)}… differs from ${expectedSha256.slice(0, 12)}… recorded in model.json`,
    );
  return body;
}

/** The parts of a manifest that identify a registration; createdAt and the blessing may differ on a retry. */
function identity(manifest: ModelManifest): Omit<ModelManifest, 'createdAt' | 'blessing'> {
  const { createdAt: _createdAt, blessing: _blessing, ...rest } = manifest;
  return rest;
}

/**
 * Writes manifest.json once.
 *
 * @returns the stored manifest and whether this call created it.
 * @throws VersionConflictError when a manifest with different content (beyond createdAt/blessing) exists.
 */
export async function writeManifestOnce(
  store: BlobStore,
  manifest: ModelManifest,
): Promise<{ manifest: ModelManifest; created: boolean }> {
  const key = layout.modelManifest(manifest.modelId, manifest.version);
  try {
    await store.putIfMatch(key, jsonBody(manifest), null);
    return { manifest, created: true };
  } catch (err) {
    if (!(err instanceof BlobConflictError)) throw err;
  }
  const existing = await readManifest(store, manifest.modelId, manifest.version);
  if (!existing || !sameJson(identity(existing), identity(manifest))) {
    throw new VersionConflictError(manifest.modelId, manifest.version, 'manifest.json content');
  }
  return { manifest: existing, created: false };
}

/** Reads a manifest with its etag (for CAS updates); undefined value when the version does not exist. */
export async function readManifestVersioned(
  store: BlobStore,
  modelId: string,
  version: string,
): Promise<{ value: ModelManifest | undefined; etag: string | null }> {
  return readVersionedJson(store, layout.modelManifest(modelId, version), ModelManifestSchema);
}

/** Reads a manifest, or undefined when the version does not exist. */
export async function readManifest(
  store: BlobStore,
  modelId: string,
  version: string,
): Promise<ModelManifest | undefined> {
  return (await readManifestVersioned(store, modelId, version)).value;
}

/**
 * Loads and validates a version's artifact (model.json; linear, or the metadata of an onnx graph).
 *
 * @throws VersionNotFoundError when model.json is absent; Error naming the key when it is corrupt.
 */
export async function readArtifact(
  store: BlobStore,
  modelId: string,
  version: string,
): Promise<StoredArtifact> {
  const key = layout.modelVersion(modelId, version);
  const body = await getVersionFile(store, key, modelId, version);
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new CorruptObjectError(store.uri, key, `not valid JSON (${(err as Error).message})`, {
      cause: err,
    });
  }
  try {
    return parseStoredArtifact(json);
  } catch (err) {
    throw new CorruptObjectError(store.uri, key, `invalid model artifact at ${firstIssue(err)}`, {
      cause: err,
    });
  }
}

/** Version ids that have a manifest (registration is complete once the manifest exists), in key order. */
export async function listVersionIds(store: BlobStore, modelId: string): Promise<string[]> {
  const prefix = layout.modelVersionsPrefix(modelId);
  const ids: string[] = [];
  for await (const info of store.list(prefix)) {
    const rest = info.key.slice(prefix.length);
    const slash = rest.indexOf('/');
    if (slash > 0 && rest.slice(slash + 1) === 'manifest.json') ids.push(rest.slice(0, slash));
  }
  return ids;
}

/** Every manifest of a model, oldest first (createdAt, then version id). */
export async function listManifests(store: BlobStore, modelId: string): Promise<ModelManifest[]> {
  const ids = await listVersionIds(store, modelId);
  const manifests: ModelManifest[] = [];
  for (let i = 0; i < ids.length; i += READ_CONCURRENCY) {
    const batch = ids.slice(i, i + READ_CONCURRENCY);
    const bodies = await Promise.all(batch.map((id) => store.get(layout.modelManifest(modelId, id))));
    batch.forEach((id, k) =>
      manifests.push(
        parseStoredJson(store, layout.modelManifest(modelId, id), bodies[k], ModelManifestSchema),
      ),
    );
  }
  return manifests.sort(
    (a, b) =>
      Date.parse(a.createdAt) - Date.parse(b.createdAt) ||
      (a.version < b.version ? -1 : a.version > b.version ? 1 : 0),
  );
}
