/**
 * Optional bearer-token authentication of the serving endpoints. The token is compared in constant
 * time (both sides hashed to a fixed length first, so neither its length nor a common prefix shows in
 * the timing) and never logged or echoed.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/** `Authorization` header → allowed? Always true without a token. */
export type BearerCheck = (authorization: string | undefined) => boolean;

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** What a token may hold: printable ASCII without spaces, so it survives any HTTP header and shell. */
export function isValidToken(token: string): boolean {
  return /^[\x21-\x7e]+$/.test(token);
}

/**
 * A check accepting exactly `Authorization: Bearer <token>` (scheme case-insensitive, as RFC 6750
 * allows), or everything when `token` is undefined.
 *
 * @throws Error for a token that is not {@link isValidToken} (a token file's final newline is trimmed
 * by the caller; anything else would make a token nobody can send).
 */
export function bearerCheck(token: string | undefined): BearerCheck {
  if (token === undefined) return () => true;
  if (!isValidToken(token))
    throw new Error('the serving token must be non-empty printable ASCII, without whitespace');
  const expected = digest(token);
  return (authorization) => {
    if (authorization === undefined || authorization.length < 7) return false;
    if (authorization.slice(0, 7).toLowerCase() !== 'bearer ') return false;
    return timingSafeEqual(digest(authorization.slice(7)), expected);
  };
}
