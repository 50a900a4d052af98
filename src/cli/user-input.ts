import { ModelIdSchema } from '../schemas/records';
import { CliError } from './context';
import { jsonTerminalSafe } from './printable';

/**
 * A user's input as an error message may show it: JSON-quoted (so control characters, newlines and
 * direction overrides print as escapes instead of acting on the terminal, and the message stays one
 * line) and cut to `max` characters (a 1 MB argument is not echoed back whole).
 */
export function quoteInput(text: string, max = 80): string {
  const cut = text.length > max ? `${text.slice(0, max)}…(${text.length} chars)` : text;
  // JSON.stringify leaves U+202E, C1 controls and friends as they are: escape those too.
  return jsonTerminalSafe(JSON.stringify(cut));
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
