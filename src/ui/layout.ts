/**
 * The HTML document every page shares: header with navigation by role, the signed-in user, a sign-out
 * form, and the session's CSRF token in a meta tag for the page scripts. Scripts and styles come from
 * `/static/` only (the Content-Security-Policy forbids inline scripts).
 */
import type { Context } from 'hono';
import { roleAtLeast } from './roles';
import type { UiEnv, UiPage, UiUser } from './deps';
import { html, raw } from './html';
import type { SafeHtml } from './html';

/** The navigation entries, each shown to the roles that may open it. */
const NAV: { id: string; href: string; label: string; role: UiUser['role'] }[] = [
  { id: 'annotate', href: '/annotate', label: 'Label', role: 'annotator' },
  { id: 'models', href: '/models', label: 'Models', role: 'viewer' },
  { id: 'lead', href: '/lead', label: 'Lead', role: 'admin' },
];

/** A whole HTML document around `body` (escaped pieces only). */
export function documentHtml(p: {
  title: string;
  body: SafeHtml | string;
  user?: UiUser;
  csrf?: string;
  nav?: string;
  scripts?: string[];
}): string {
  const body = typeof p.body === 'string' ? raw(p.body) : p.body;
  const nav = p.user
    ? html`<nav>
        ${NAV.filter((n) => roleAtLeast(p.user!.role, n.role)).map(
          (n) =>
            html`<a href="${n.href}" ${n.id === p.nav ? raw(' aria-current="page"') : ''}>${n.label}</a>`,
        )}
        <span class="who">${p.user.name} <small>(${p.user.role})</small></span>
        <form method="post" action="/logout" class="inline">
          <input type="hidden" name="_csrf" value="${p.csrf ?? ''}" /><button type="submit">Sign out</button>
        </form>
      </nav>`
    : '';
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        ${p.csrf ? html`<meta name="csrf-token" content="${p.csrf}" />` : ''}
        <title>${p.title} · loopkeeper</title>
        <link rel="stylesheet" href="/static/ui.css" />
      </head>
      <body>
        <header><a class="brand" href="/">loopkeeper</a>${nav}</header>
        <main>${body}</main>
        ${(p.scripts ?? []).map((s) => html`<script src="/static/${s}" defer></script>`)}
      </body>
    </html> `.value;
}

/** `deps.layout`: the document for a signed-in page. */
export function layoutFor(c: Context<UiEnv>, page: UiPage): string {
  return documentHtml({ ...page, user: c.get('user'), csrf: c.get('csrf') });
}
