/**
 * Who may sign in to the web app. Users come from two places, merged: `ui.users` in the configuration
 * file (for deployments that manage config) and `ui/users.json` in the store, written by
 * `loopkeeper ui token add` with compare-and-swap (the config file is optional and read-only to
 * loopkeeper, while every process of an installation already shares the store). Only sha256 hashes of
 * tokens are stored; a token is shown once, when it is created.
 */
import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { TokenHashSchema, UiUserEntrySchema, UiUsersSchema } from '../config/ui-config';
import type { UiRole, UiUserEntry, UiUsers } from '../config/ui-config';
import type { BlobStore } from '../storage/blob-store';
import { readMutableJson, updateJsonCas } from '../storage/cas-json';
import { layout } from '../storage/layout';

/** What `ui/users.json` holds. */
export const StoredUsersSchema = z.strictObject({ users: UiUsersSchema });
export type StoredUsers = z.infer<typeof StoredUsersSchema>;

/** sha256 hex of a token: the only form in which a token is kept. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A new random token (256 bits), recognisable by its prefix. */
export function newToken(): string {
  return `lk_${randomBytes(32).toString('base64url')}`;
}

/** What a sign-in form may carry as a token: printable ASCII, bounded. */
export const TokenInputSchema = z
  .string()
  .trim()
  .min(1, 'token: required')
  .max(200, 'token: too long')
  .regex(/^[\x21-\x7e]+$/, 'token: printable characters only');

/** Reads the users stored by `ui token add` (none when the object does not exist). */
export async function readStoredUsers(store: BlobStore): Promise<UiUsers> {
  const found = await readMutableJson(store, layout.uiUsers, StoredUsersSchema);
  return found.value?.users ?? {};
}

/** Config users and stored users in one table; a hash in both keeps the config's entry. */
export function mergeUsers(fromConfig: UiUsers, fromStore: UiUsers): UiUsers {
  return { ...fromStore, ...fromConfig };
}

/**
 * Adds a user with a fresh token and returns the token (the only time it exists outside the caller).
 * A name may hold several tokens (one per device); `revokeUser` removes all of a name's tokens.
 */
export async function addUser(
  store: BlobStore,
  user: { name: string; role: UiRole },
  now: Date = new Date(),
): Promise<{ token: string; hash: string }> {
  const entry: UiUserEntry = UiUserEntrySchema.parse({ ...user, createdAt: now.toISOString() });
  const token = newToken();
  const hash = TokenHashSchema.parse(hashToken(token));
  await updateJsonCas(store, layout.uiUsers, StoredUsersSchema, (cur) => ({
    next: { users: { ...(cur.value?.users ?? {}), [hash]: entry } },
    result: undefined,
  }));
  return { token, hash };
}

/** Removes every stored token of `name`; returns how many were removed. */
export async function revokeUser(store: BlobStore, name: string): Promise<number> {
  const out = await updateJsonCas(store, layout.uiUsers, StoredUsersSchema, (cur) => {
    const users = cur.value?.users ?? {};
    const kept = Object.fromEntries(Object.entries(users).filter(([, u]) => u.name !== name));
    const removed = Object.keys(users).length - Object.keys(kept).length;
    return removed === 0 ? { result: 0 } : { next: { users: kept }, result: removed };
  });
  return out.result;
}

/**
 * A cached view of the user table, re-read from the store at most every `ttlMs`, so a token revoked
 * with `ui token revoke` stops working within that time without restarting the app.
 */
export class UserDirectory {
  private cached?: { at: number; users: UiUsers };
  private pending?: Promise<UiUsers>;

  constructor(
    private readonly store: BlobStore,
    private readonly fromConfig: UiUsers,
    private readonly ttlMs = 5000,
  ) {}

  /** The user a token hash belongs to, if any. */
  async lookup(hash: string): Promise<UiUserEntry | undefined> {
    const users = await this.users();
    return Object.prototype.hasOwnProperty.call(users, hash) ? users[hash] : undefined;
  }

  private async users(): Promise<UiUsers> {
    if (this.cached && Date.now() - this.cached.at < this.ttlMs) return this.cached.users;
    this.pending ??= readStoredUsers(this.store)
      .then((stored) => {
        const users = mergeUsers(this.fromConfig, stored);
        this.cached = { at: Date.now(), users };
        return users;
      })
      .finally(() => {
        this.pending = undefined;
      });
    return this.pending;
  }
}
