/** Sign-in and sign-out routes. The token travels only in the body of POST /login. */
import { Hono } from 'hono';
import { getCookie } from 'hono/cookie';
import { z } from 'zod';
import type { UiAuth } from './auth';
import { CSRF_FIELD, issueLoginCsrf, LOGIN_COOKIE, sameSecret } from './auth';
import type { UiEnv } from './deps';
import { loginPage } from './login-view';
import { homeOf } from './roles';
import { hashToken, TokenInputSchema } from './users';
import type { UserDirectory } from './users';

/** A same-site path to go to after sign-in (never another origin, never `//host`). */
const NextPathSchema = z
  .string()
  .max(300)
  .regex(/^\/(?![/\\])[A-Za-z0-9/_.~-]*$/)
  .catch('/');

/** The sign-in form. */
export const LoginFormSchema = z.object({
  token: TokenInputSchema,
  [CSRF_FIELD]: z.string().max(200).default(''),
  next: NextPathSchema.default('/'),
});

/** Routes `/login` (GET form, POST sign-in) and `/logout` (POST, authenticated and CSRF-checked). */
export function createAuthRoutes(auth: UiAuth, users: UserDirectory): Hono<UiEnv> {
  const app = new Hono<UiEnv>();

  app.get('/login', (c) => {
    const next = NextPathSchema.parse(c.req.query('next') ?? '/');
    return c.html(loginPage({ loginCsrf: issueLoginCsrf(c), next }));
  });

  app.post('/login', async (c) => {
    const body = await c.req.parseBody();
    const form = LoginFormSchema.safeParse(body);
    const again = (error: string, status: 400 | 401 | 403) =>
      c.html(loginPage({ loginCsrf: issueLoginCsrf(c), error }), status);
    if (!form.success) return again(form.error.issues[0].message, 400);
    const expected = getCookie(c, LOGIN_COOKIE) ?? '';
    if (!sameSecret(form.data[CSRF_FIELD], expected))
      return again('the sign-in form expired or came from another site: try again', 403);
    const hash = hashToken(form.data.token);
    const user = await users.lookup(hash);
    if (!user) return again('unknown token', 401);
    await auth.signIn(c, hash, { name: user.name, role: user.role });
    const next = form.data.next === '/' ? homeOf(user.role) : form.data.next;
    return c.redirect(next, 303);
  });

  app.post('/logout', auth.authenticate, auth.requireCsrf, async (c) => {
    await auth.signOut(c);
    return c.redirect('/login', 303);
  });

  return app;
}
