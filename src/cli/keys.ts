/** `gridlens keys ...`: account administration on the configured store. */
import { parseArgs } from 'node:util';
import { loadConfig, resolveFromRoot } from '../config.js';
import { openSqliteStore } from '../accounts/sqlite-store.js';
import { openPostgresStore } from '../accounts/postgres-store.js';
import { CliError } from './errors.js';
import { MAX_POINTS, parsePoints } from '../protocol/numbers.js';

export const KEYS_HELP = `gridlens keys: manage client keys and their points

  gridlens keys create --points N [--name TEXT] [--json]   new key with N points; the key is shown once
  gridlens keys credit KEY --points N [--json]              add N points to a key
  gridlens keys list [--json]                               every account: id, key prefix, balance, ledger sum
  gridlens keys revoke KEY                                  the key stops working (ERROR_KEY_DOES_NOT_EXIST)

Options:
  --db PATH     SQLite file (default: DB_PATH or data/gridlens.sqlite)
  With DATABASE_URL=postgres://... set, keys live in PostgreSQL instead.`;

function points(v: string | undefined): number {
  const n = v === undefined ? undefined : parsePoints(v);
  if (n === undefined) throw new CliError(`--points must be a whole number from 0 to ${MAX_POINTS} in decimal digits (not 1e3 or 0x10), got ${v === undefined ? 'nothing' : JSON.stringify(v)}`);
  return n;
}

export async function keysCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: { points: { type: 'string' }, name: { type: 'string' }, json: { type: 'boolean' }, db: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  const [action, key] = positionals;
  if (values.help || !action) {
    console.log(KEYS_HELP);
    return;
  }
  const config = loadConfig(values.db ? { dbPath: values.db } : {});
  const store = config.databaseUrl ? await openPostgresStore(config.databaseUrl) : openSqliteStore(resolveFromRoot(config.dbPath));
  try {
    if (action === 'create') {
      const made = await store.createAccount(points(values.points), values.name ?? '');
      if (values.json) console.log(JSON.stringify({ clientKey: made.clientKey, balance: made.balance }));
      else console.log(`clientKey ${made.clientKey}\nbalance   ${made.balance}\n(the key is stored only as a hash: copy it now)`);
    } else if (action === 'credit') {
      if (!key) throw new CliError('keys credit needs the KEY: gridlens keys credit KEY --points N');
      const n = points(values.points);
      if (n === 0) throw new CliError('--points must be at least 1 for a credit');
      const balance = await store.credit(key, n).catch((err: Error) => { throw new CliError(err instanceof RangeError ? err.message : 'no live account has this key'); });
      console.log(values.json ? JSON.stringify({ balance }) : `balance ${balance}`);
    } else if (action === 'list') {
      const rows = await store.list();
      if (values.json) console.log(JSON.stringify(rows));
      else {
        console.log('id  key     balance     ledger      created                    revoked');
        for (const r of rows) console.log(`${String(r.id).padEnd(3)} ${r.keyHint}… ${String(r.balance).padStart(10)}  ${String(r.ledgerSum).padStart(10)}  ${r.createdAt}  ${r.revokedAt ?? ''}`);
      }
    } else if (action === 'revoke') {
      if (!key) throw new CliError('keys revoke needs the KEY: gridlens keys revoke KEY');
      if (!(await store.revoke(key))) throw new CliError('no live account has this key');
      console.log('revoked');
    } else {
      throw new CliError(`unknown keys action ${JSON.stringify(action)}; allowed: create, credit, list, revoke`);
    }
  } finally {
    await store.close();
  }
}
