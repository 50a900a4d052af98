/**
 * Errors of the model registry. Each names the model, the version or alias and what to do, because
 * they surface directly in the CLI and in workflow failure messages.
 */

/** A version id is taken by different content: versions are immutable. */
export class VersionConflictError extends Error {
  override readonly name = 'VersionConflictError';
  constructor(
    readonly modelId: string,
    readonly version: string,
    detail: string,
  ) {
    super(
      `model ${modelId} version ${version} already exists with different ${detail}; versions are immutable, register under a new version id`,
    );
  }
}

/** The version (its manifest) does not exist. */
export class VersionNotFoundError extends Error {
  override readonly name = 'VersionNotFoundError';
  constructor(
    readonly modelId: string,
    readonly version: string,
  ) {
    super(`model ${modelId} has no version ${version} (see \`loopkeeper models list --model ${modelId}\`)`);
  }
}

/** A promotion was refused because the version is not blessed and no force reason was given. */
export class NotBlessedError extends Error {
  override readonly name = 'NotBlessedError';
  constructor(
    readonly modelId: string,
    readonly version: string,
    readonly why: string,
  ) {
    super(
      `refusing to make version ${version} the champion of model ${modelId}: it is not blessed (${why}); to override, pass force with a reason (CLI: --force --reason "…"), which is audited`,
    );
  }
}

/** setAlias was told what the alias should currently be, and it is something else. */
export class AliasConflictError extends Error {
  override readonly name = 'AliasConflictError';
  constructor(
    readonly modelId: string,
    readonly alias: string,
    readonly expected: string | null,
    readonly actual: string | null,
  ) {
    super(
      `alias ${alias} of model ${modelId} is ${actual ?? '(unset)'}, expected ${expected ?? '(unset)'}; someone else changed it, re-read and decide again`,
    );
  }
}

/** Rollback needs a previous champion. */
export class NoPreviousVersionError extends Error {
  override readonly name = 'NoPreviousVersionError';
  constructor(readonly modelId: string) {
    super(`model ${modelId} has no previous champion to roll back to (alias "previous" is unset)`);
  }
}

/** A manifest already carries a different blessing and the caller did not ask to replace it. */
export class BlessingExistsError extends Error {
  override readonly name = 'BlessingExistsError';
  constructor(
    readonly modelId: string,
    readonly version: string,
  ) {
    super(
      `model ${modelId} version ${version} already has a different blessing; pass replace: true to record a new decision`,
    );
  }
}

/** The rollout config changed since the etag the caller read. */
export class RolloutConflictError extends Error {
  override readonly name = 'RolloutConflictError';
  constructor(readonly modelId: string) {
    super(`rollout config of model ${modelId} changed since it was read; re-read and decide again`);
  }
}

/** An alias points at a version that is not registered (deleted by hand, or a partial copy of a store). */
export class DanglingAliasError extends Error {
  override readonly name = 'DanglingAliasError';
  constructor(
    readonly modelId: string,
    readonly alias: string,
    readonly version: string,
    what: string,
  ) {
    super(
      `${what}: alias ${alias} of model ${modelId} points at version ${version}, which does not exist (no manifest); promote an existing version instead (see \`loopkeeper models list --model ${modelId}\`)`,
    );
  }
}

/** aliases.json cannot be read and the audit log holds nothing to rebuild it from. */
export class AliasesUnreadableError extends Error {
  override readonly name = 'AliasesUnreadableError';
  constructor(
    readonly modelId: string,
    detail: string,
  ) {
    super(
      `the aliases of model ${modelId} cannot be read: ${detail}; restore models/${modelId}/aliases.json from a backup`,
    );
  }
}
