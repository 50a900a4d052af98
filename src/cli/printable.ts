/**
 * Making text from users and the store safe to print: pure, no imports (the CLI's output and error
 * paths and its formatters all use it).
 */

/**
 * Characters that act on a terminal instead of printing: C0 controls (ESC starts colour, title and
 * cursor sequences; CR overwrites the line), DEL, C1 controls (U+009B is a one-character CSI on some
 * terminals), the bidirectional embeddings, overrides and isolates (U+202E makes `gpj.exe` read as
 * `exe.jpg`), the line and paragraph separators, and lone surrogates (no character at all).
 */
const UNSAFE =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** The same set without the newline: for whole multi-line texts the CLI composed itself. */
const UNSAFE_BUT_NEWLINE =
  // eslint-disable-next-line no-control-regex -- as above
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** What JSON.stringify leaves raw of UNSAFE (it escapes C0 controls and lone surrogates itself). */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const SHORT_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeChar(c: string): string {
  return SHORT_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/**
 * A value that came from a user or the store (annotator id, label, class, note, key, detail) as the
 * CLI may print it inside a line: every character in UNSAFE (newlines and tabs included, so a value
 * cannot fake an extra line or column) shown as an escape such as `\u001b` or `\n`, and the result cut
 * to `max` characters with the original length noted, so a 1 MB value does not flood the terminal.
 * Backslashes are left alone: ordinary values (Windows paths, regexes) print as they are.
 */
export function printable(text: string, max = 200): string {
  const escaped = text.replace(UNSAFE, escapeChar);
  return escaped.length > max ? `${escaped.slice(0, max)}…(${text.length} chars)` : escaped;
}

/**
 * A whole text the CLI is about to print (human output, an error message): the unsafe characters of
 * `printable` escaped except the newlines the CLI put there itself. No shortening. A safety net under
 * the per-value `printable`, for values a formatter passes through unescaped.
 */
export function terminalSafe(text: string): string {
  return text.replace(UNSAFE_BUT_NEWLINE, escapeChar);
}

/**
 * JSON text with the characters JSON.stringify leaves raw (C1 controls, DEL, bidi controls, line
 * separators) written as `\uXXXX` escapes: the same JSON value, but inert on a terminal. Outside
 * strings JSON text has no such characters, so the layout of pretty-printed JSON is kept.
 */
export function jsonTerminalSafe(json: string): string {
  return json.replace(UNSAFE_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Longest error message printed: a message that quotes a huge input is cut, not echoed whole. */
const ERROR_MAX = 4000;

/** An error message as the CLI prints it: terminal-safe and at most ERROR_MAX characters. */
export function errorText(message: string): string {
  const safe = terminalSafe(message);
  return safe.length > ERROR_MAX ? `${safe.slice(0, ERROR_MAX)}…(${message.length} chars)` : safe;
}
