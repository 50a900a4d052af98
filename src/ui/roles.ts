/** Role ordering of the web app: admin ⊇ viewer ⊇ annotator (see src/config/ui-config.ts). */
import { UI_ROLES } from '../config/ui-config';
import type { UiRole } from '../config/ui-config';

/** Whether `have` grants what `need` requires (a higher role implies every lower one). */
export function roleAtLeast(have: UiRole, need: UiRole): boolean {
  return UI_ROLES.indexOf(have) >= UI_ROLES.indexOf(need);
}

/** Where a role lands after sign-in. */
export function homeOf(role: UiRole): string {
  return role === 'admin' ? '/lead' : role === 'viewer' ? '/models' : '/annotate';
}
