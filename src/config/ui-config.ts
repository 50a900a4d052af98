/**
 * Configuration of the web app (`loopkeeper ui`): who may sign in (token hash → name and role), the
 * session lifetime, and the Chromium binary the browser tests drive. Pure zod.
 */
import { z } from 'zod';

/** The roles of the web app, weakest first; each includes the ones before it (admin ⊇ viewer ⊇ annotator). */
export const UI_ROLES = ['annotator', 'viewer', 'admin'] as const;
export const UiRoleSchema = z.enum(UI_ROLES);
/** `annotator` labels, `viewer` also reads the model pages, `admin` may do everything (lead view, actions). */
export type UiRole = z.infer<typeof UiRoleSchema>;

/**
 * A person's name in the web app; also the annotator id sent to review queues. Kept to a plain
 * alphabet because written label rows join annotator names with `,` and `:` in their lineage.
 */
export const UiUserNameSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
    'name: 1-64 of A-Z, a-z, 0-9, ".", "_", "-" (starting with a letter or digit)',
  );

/** The sha256 (hex) of a token: only the hash is ever stored. */
export const TokenHashSchema = z.string().regex(/^[0-9a-f]{64}$/, 'must be the sha256 hex digest of a token');

/** One user: who a token hash belongs to. */
export const UiUserEntrySchema = z.strictObject({
  name: UiUserNameSchema,
  role: UiRoleSchema,
  /** When the token was created (set by `loopkeeper ui token add`). */
  createdAt: z.string().optional(),
});
export type UiUserEntry = z.infer<typeof UiUserEntrySchema>;

/** Token hash → user. */
export const UiUsersSchema = z.record(TokenHashSchema, UiUserEntrySchema);
export type UiUsers = z.infer<typeof UiUsersSchema>;

/** The `ui` section of the configuration. */
export const UiConfigSchema = z.object({
  /** Users from the config file (deployments that manage config); `ui token add` stores users in the store. */
  users: UiUsersSchema.default({}),
  /** A session ends this many hours after sign-in. */
  sessionHours: z.coerce
    .number()
    .min(0.05)
    .max(24 * 30)
    .default(12),
  /** Chromium for the browser tests and screenshots (default /usr/bin/chromium). */
  chromiumPath: z.string().min(1).optional(),
});
export type UiConfig = z.infer<typeof UiConfigSchema>;
