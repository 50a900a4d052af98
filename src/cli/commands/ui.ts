import type { Command } from 'commander';
import { UiRoleSchema, UiUserNameSchema } from '../../config/ui-config';
import { createUiApp } from '../../ui/app';
import { startUiServer } from '../../ui/server';
import { addUser, readStoredUsers, revokeUser } from '../../ui/users';
import { layout } from '../../storage/layout';
import type { CliContext } from '../context';
import { CliError } from '../context';
import { isLoopback, shutdownSignal } from '../process-signals';
import { EXIT } from '../exit-codes';
import { printable as p } from '../printable';
import { quoteInput } from '../user-input';

function port(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new CliError(`--port ${quoteInput(text)}: expected 0-65535`, EXIT.usage);
  return n;
}

/** `loopkeeper ui`: the web app, and `ui token add|list|revoke` for its users. */
export function registerUi(program: Command, ctx: () => CliContext): void {
  const ui = program
    .command('ui')
    .description(
      'the web app: annotators label with the keyboard, leads and engineers watch (ui token add first)',
    )
    .option('--port <n>', 'port (0 picks a free one)', '8090')
    .option('--host <addr>', 'address to bind (default: this machine only)', '127.0.0.1')
    .option(
      '--lease <seconds>',
      'lease of a task claimed in the page (renewed while the page is open)',
      '300',
    )
    .action(async (opts: { port: string; host: string; lease: string }) => {
      const lease = Number(opts.lease);
      if (!Number.isInteger(lease) || lease < 30 || lease > 86_400)
        throw new CliError(`--lease ${quoteInput(opts.lease)}: expected 30-86400 seconds`, EXIT.usage);
      const c = ctx();
      const client = await c.client();
      const users = await readStoredUsers(c.store);
      const known = Object.keys(users).length + Object.keys(c.config.ui.users).length;
      const { app } = createUiApp({
        store: c.store,
        client,
        namespace: c.config.temporal.namespace,
        config: c.config,
        leaseSeconds: lease,
      });
      let server;
      try {
        server = await startUiServer({ app, port: port(opts.port), host: opts.host });
      } catch (err) {
        throw new CliError(`cannot listen on ${opts.host}:${opts.port} (${(err as Error).message})`);
      }
      const signal = shutdownSignal();
      console.log(
        `loopkeeper ui at ${server.url} (store ${c.store.uri}, namespace ${c.config.temporal.namespace})`,
      );
      if (known === 0)
        console.log(
          '  no users yet: loopkeeper ui token add --name <you> --role admin (prints a token to sign in with)',
        );
      if (!isLoopback(opts.host))
        console.error(
          `warning: listening on ${opts.host}: put it behind https (a TLS proxy setting X-Forwarded-Proto) so session cookies are Secure`,
        );
      const received = await signal;
      console.log(`${received}: stopping`);
      await server.close();
    });

  const token = ui.command('token').description('who may sign in: tokens are stored as sha256 hashes only');
  token
    .command('add')
    .description('create a token for a person and print it once (only its hash is stored)')
    .requiredOption('--name <name>', 'the person (also their annotator id)')
    .requiredOption('--role <role>', 'annotator (label), viewer (also model pages) or admin (everything)')
    .action(async (opts: { name: string; role: string }) => {
      const name = UiUserNameSchema.safeParse(opts.name);
      if (!name.success)
        throw new CliError(`--name ${quoteInput(opts.name)}: ${name.error.issues[0].message}`, EXIT.usage);
      const role = UiRoleSchema.safeParse(opts.role);
      if (!role.success)
        throw new CliError(
          `--role ${quoteInput(opts.role)}: expected annotator, viewer or admin`,
          EXIT.usage,
        );
      const c = ctx();
      const { token: t } = await addUser(c.store, { name: name.data, role: role.data });
      console.log(t);
      console.error(
        `token for ${name.data} (${role.data}) stored as a hash in ${layout.uiUsers} of ${c.store.uri}; it is shown only now`,
      );
    });
  token
    .command('list')
    .description('the users who may sign in (names and roles; tokens are never shown)')
    .action(async () => {
      const c = ctx();
      const stored = await readStoredUsers(c.store);
      const rows = [
        ...Object.entries(c.config.ui.users).map(([h, u]) => ({ ...u, hash: h, from: 'config' })),
        ...Object.entries(stored).map(([h, u]) => ({ ...u, hash: h, from: 'store' })),
      ];
      if (rows.length === 0) console.log('no users: loopkeeper ui token add --name <name> --role <role>');
      for (const r of rows)
        console.log(
          `${p(r.name).padEnd(20)} ${r.role.padEnd(9)} ${r.hash.slice(0, 12)}…  ${r.from}${r.createdAt ? `  ${p(r.createdAt)}` : ''}`,
        );
    });
  token
    .command('revoke')
    .description('remove every stored token of a person (sessions end within seconds)')
    .requiredOption('--name <name>', 'the person')
    .action(async (opts: { name: string }) => {
      const c = ctx();
      const removed = await revokeUser(c.store, opts.name);
      if (removed === 0) throw new CliError(`no stored token for ${quoteInput(opts.name)}`, EXIT.noInput);
      console.log(`revoked ${removed} token(s) of ${p(opts.name)}`);
    });
}
