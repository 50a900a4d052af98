/**
 * Exit codes of the CLI, one per kind of failure (sysexits.h numbering), so scripts can tell a typo
 * from an outage. 2 and 3 are command-specific (a failed cycle or rejected label, a drift level).
 */
export const EXIT = {
  /** A command failed for a reason it explains (the default of CliError). */
  failed: 1,
  /** Bad arguments or input values. */
  usage: 64,
  /** A file a person wrote (policy, config) is invalid. */
  dataError: 65,
  /** Something named does not exist: the store, a model, a version. */
  noInput: 66,
  /** Temporal is unreachable, or no worker serves the task queue. */
  unavailable: 69,
  /** An unexpected error (a bug): the message, and the stack with LOOPKEEPER_DEBUG=1. */
  internal: 70,
  /** An output file cannot be created (e.g. its folder is missing). */
  cantCreate: 73,
  /** The Temporal namespace or workflow belongs to another installation's store. */
  foreignStore: 77,
  /** The loopkeeper configuration (environment, LOOPKEEPER_CONFIG) is invalid. */
  config: 78,
} as const;
