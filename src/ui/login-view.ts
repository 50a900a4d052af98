/** The sign-in page and the plain error pages (401 for HTML, 403). */
import { documentHtml } from './layout';
import { html } from './html';

/** The sign-in form: a token in the body of a POST (never in a URL), with the pre-session CSRF value. */
export function loginPage(p: { loginCsrf: string; next?: string; error?: string }): string {
  return documentHtml({
    title: 'Sign in',
    body: html`<section class="card narrow">
      <h1>Sign in</h1>
      ${p.error ? html`<p class="flash error" role="alert">${p.error}</p>` : ''}
      <p>Paste the token you were given (<code>loopkeeper ui token add</code> prints it once).</p>
      <form method="post" action="/login" autocomplete="off">
        <input type="hidden" name="_csrf" value="${p.loginCsrf}" />
        <input type="hidden" name="next" value="${p.next ?? '/'}" />
        <label>Token <input type="password" name="token" id="token" required autofocus /></label>
        <button type="submit">Sign in</button>
      </form>
    </section>`,
  });
}

/** A 403 page: signed in, but not allowed here. */
export function forbiddenPage(p: { what: string }): string {
  return documentHtml({
    title: 'Forbidden',
    body: html`<section class="card narrow">
      <h1>Forbidden</h1>
      <p class="flash error">${p.what}</p>
      <p><a href="/">Back</a></p>
    </section>`,
  });
}
