import { ApplicationFailure } from '@temporalio/common';
import { Command } from 'commander';
import { ZodError } from 'zod';
import { ConfigError } from '../config';
import { ForeignStoreError, MissingStoreError } from '../config/installation';
import { MissingSearchAttributesError } from '../config/search-attributes';
import { CliContext, CliError, unreachable } from './context';
import { EXIT } from './exit-codes';
import { errorText } from './printable';
import { registerPolicy } from './commands/policy';
import { registerCycle } from './commands/cycle';
import { registerReview } from './commands/review';
import { registerWorker } from './commands/worker';
import { registerDev } from './commands/dev';
import { registerSimulate } from './commands/simulate';
import { registerSchedule } from './commands/schedule';
import { registerModels } from './commands/models';
import { registerServe } from './commands/serve';
import { registerTrain } from './commands/train';
import { registerDrift } from './commands/drift';
import { registerRollout } from './commands/rollout';
import { registerWorkflows } from './commands/workflows';
import { registerUi } from './commands/ui';

/** Builds the `loopkeeper` command line. */
export function buildProgram(ctx: () => CliContext): Command {
  const program = new Command('loopkeeper')
    .description('keeps production ML classifiers honest after launch (Temporal workflows)')
    .option('--init', 'create the store when it does not exist yet (otherwise a missing store is an error)')
    .showHelpAfterError()
    // Commander's own errors quote the argument they refuse: print that terminal-safe too.
    .configureOutput({ outputError: (text, write) => write(errorText(text)) })
    .exitOverride();
  // Creating a store is on purpose only: `--init`, or the commands whose job it is.
  program.hook('preAction', (_program, action) => {
    if (program.opts<{ init?: boolean }>().init || ['simulate', 'dev'].includes(action.name()))
      ctx().createStore = true;
  });
  registerCycle(program, ctx);
  registerReview(program, ctx);
  registerWorker(program, ctx);
  registerDev(program, ctx);
  registerSimulate(program, ctx);
  registerSchedule(program, ctx);
  registerModels(program, ctx);
  registerServe(program, ctx);
  registerTrain(program, ctx);
  registerDrift(program, ctx);
  registerRollout(program, ctx);
  registerPolicy(program, ctx);
  registerWorkflows(program, ctx);
  registerUi(program, ctx);
  return program;
}

/** Runs the CLI; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  let context: CliContext | undefined;
  const ctx = (): CliContext => (context ??= new CliContext());
  try {
    await buildProgram(ctx).parseAsync(argv);
    return 0;
  } catch (err) {
    const e = err as { code?: string; exitCode?: number };
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return 0;
    if (e.code?.startsWith('commander.')) return e.exitCode ?? 64;
    const { message, code } = describeError(err, () => context?.config.temporal.address);
    console.error(`loopkeeper: ${errorText(message)}`);
    if (process.env.LOOPKEEPER_DEBUG === '1' && err instanceof Error && err.stack) console.error(err.stack);
    return code;
  } finally {
    await context?.close();
  }
}

/** Activity failure types (activities run in-process by some commands) that name a missing thing. */
const NO_INPUT_TYPES = new Set(['UnknownModel', 'NoReferenceData', 'VersionNotFoundError']);

function isTemporalTransportError(err: unknown): boolean {
  const e = err as { name?: string; code?: number } | undefined;
  // gRPC UNAVAILABLE (14) and DEADLINE_EXCEEDED (4) from the client; TransportError from the worker.
  return e?.name === 'TransportError' || (e?.name === 'ServiceError' && (e.code === 14 || e.code === 4));
}

/**
 * The one line and exit code a user sees for an error: errors meant for users as they are, known
 * kinds with their own code, and anything else as one line (the stack with LOOPKEEPER_DEBUG=1).
 */
export function describeError(
  err: unknown,
  temporalAddress: () => string | undefined,
): { message: string; code: number } {
  if (err instanceof CliError) return { message: err.message, code: err.exitCode };
  if (err instanceof ConfigError) return { message: err.message, code: EXIT.config };
  if (err instanceof MissingStoreError) return { message: err.message, code: EXIT.noInput };
  if (err instanceof ForeignStoreError) return { message: err.message, code: EXIT.foreignStore };
  if (err instanceof MissingSearchAttributesError) return { message: err.message, code: EXIT.config };
  if (err instanceof ZodError)
    return {
      message: `invalid input: ${err.issues.map((i) => `${i.path.join('.') || '(value)'}: ${i.message}`).join('; ')}`,
      code: EXIT.usage,
    };
  if (err instanceof ApplicationFailure) {
    const code = NO_INPUT_TYPES.has(err.type ?? '')
      ? EXIT.noInput
      : err.type === 'InvalidPolicy'
        ? EXIT.dataError
        : EXIT.failed;
    return { message: firstLine(err.message), code };
  }
  if (isTemporalTransportError(err)) {
    const e = unreachable(temporalAddress() ?? 'the configured address', err);
    return { message: e.message, code: e.exitCode };
  }
  const name = err instanceof Error ? err.name : 'Error';
  const text = err instanceof Error ? err.message : String(err);
  return {
    message: `unexpected ${name}: ${firstLine(text)}${process.env.LOOPKEEPER_DEBUG === '1' ? '' : ' (LOOPKEEPER_DEBUG=1 shows the stack)'}`,
    code: EXIT.internal,
  };
}

function firstLine(text: string): string {
  const [first, ...rest] = text.split('\n');
  return rest.length > 0 ? `${first} …` : first;
}

if (require.main === module) {
  void main(process.argv).then((code) => process.exit(code));
}
