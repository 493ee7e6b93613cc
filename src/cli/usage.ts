/** `gridlens usage [KEY] [--since DAY]`: tasks, points and refunds per day, from the ledger. */
import { parseArgs } from 'node:util';
import { CliError } from './errors.js';
import { resolveAccount } from './account-ref.js';
import { openConfiguredStore } from './store.js';

export const USAGE_HELP = `gridlens usage: tasks, points and refunds per UTC day, from the ledger

  gridlens usage [KEY] [--since YYYY-MM-DD] [--json]

  KEY           the whole key, its prefix (gridlens keys list) or the account's name; none: every account
  --since DAY   from this day on (UTC)
  --db PATH     SQLite file (default: DB_PATH or data/gridlens.sqlite); with DATABASE_URL set, PostgreSQL

Errors are not in the ledger (a failed task is never charged, so it leaves no row);
GET /metrics counts them: gridlens_requests_total{endpoint, error_code}.`;

export async function usageCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: { since: { type: 'string' }, json: { type: 'boolean' }, db: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) return void console.log(USAGE_HELP);
  if (positionals.length > 1) throw new CliError(`usage takes at most one KEY, got ${positionals.length}: gridlens usage [KEY] [--since YYYY-MM-DD]`);
  const since = values.since;
  if (since !== undefined && (!/^\d{4}-\d\d-\d\d$/.test(since) || Number.isNaN(Date.parse(`${since}T00:00:00Z`)))) {
    throw new CliError(`--since must be a day as YYYY-MM-DD, got ${JSON.stringify(since)}`);
  }
  const store = await openConfiguredStore(values.db);
  try {
    const account = positionals[0] === undefined ? undefined : await resolveAccount(store, positionals[0]);
    const days = await store.usage({ accountId: account?.id, since: since && `${since}T00:00:00.000Z` });
    if (values.json) return void console.log(JSON.stringify(days));
    console.log(`${account ? `account ${account.id} ${account.label}` : 'every account'}${since ? ` since ${since}` : ''}`);
    console.log('day         tasks      points  refunds  refunded');
    const total = { tasks: 0, points: 0, refunds: 0, refundedPoints: 0 };
    for (const d of days) {
      console.log(`${d.day}  ${String(d.tasks).padStart(5)}  ${String(d.points).padStart(10)}  ${String(d.refunds).padStart(7)}  ${String(d.refundedPoints).padStart(8)}`);
      for (const k of ['tasks', 'points', 'refunds', 'refundedPoints'] as const) total[k] += d[k];
    }
    console.log(`total       ${String(total.tasks).padStart(5)}  ${String(total.points).padStart(10)}  ${String(total.refunds).padStart(7)}  ${String(total.refundedPoints).padStart(8)}`);
    console.log('errors: not in the ledger (failed tasks are never charged); GET /metrics counts them (gridlens_requests_total by error_code)');
  } finally {
    await store.close();
  }
}
