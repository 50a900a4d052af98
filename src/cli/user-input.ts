import { ModelIdSchema } from '../schemas/records';
import { CliError } from './context';

/**
 * A user's input as an error message may show it: JSON-quoted (so control characters, newlines and
 * direction overrides print as escapes instead of acting on the terminal, and the message stays one
 * line) and cut to `max` characters (a 1 MB argument is not echoed back whole).
 */
export function quoteInput(text: string, max = 80): string {
  const cut = text.length > max ? `${text.slice(0, max)}…(${text.length} chars)` : text;
  // JSON.stringify leaves U+202E and friends as they are: escape the bidirectional controls too.
  return JSON.stringify(cut).replace(
    /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * A model id given on the command line (`--model`) or to a client function, or a CliError (exit 64)
 * naming the input safely quoted: `--model "../x": model id must be …`.
 */
export function parseModelId(text: string, what = '--model'): string {
  const parsed = ModelIdSchema.safeParse(text);
  if (!parsed.success)
    throw new CliError(`${what} ${quoteInput(text)}: ${parsed.error.issues[0].message}`, 64);
  return parsed.data;
}
