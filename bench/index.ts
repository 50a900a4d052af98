import { benchColumnarFormat } from './columnar-format';
import { benchDrift } from './drift';
import { benchIngest } from './ingest';
import { benchMl } from './ml';
import { benchMonitoring } from './monitoring';
import { benchReview } from './review';
import { benchServing } from './serving';
import { benchRollback } from './rollback';

/**
 * `npm run bench`: prints figures against each issue's budget. Budgets live here, never in tests.
 * Pick benches with LOOPKEEPER_BENCH=ingest,ml,… (default: all). The headline loop bench is
 * `npm run bench:loop`.
 */
const benches: Record<string, () => Promise<void>> = {
  ingest: () => benchIngest(),
  ml: benchMl,
  monitoring: benchMonitoring,
  drift: () => benchDrift(),
  columnar: async () => benchColumnarFormat(),
  serving: benchServing,
  review: benchReview,
  rollback: benchRollback,
};

async function main(): Promise<void> {
  const chosen = (process.env.LOOPKEEPER_BENCH ?? Object.keys(benches).join(',')).split(',').filter(Boolean);
  for (const name of chosen) {
    const run = benches[name];
    if (!run) throw new Error(`unknown bench "${name}"; choose from ${Object.keys(benches).join(', ')}`);
    console.log(`\n== ${name} ==`);
    await run();
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
