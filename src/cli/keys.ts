/** `gridlens keys ...`: account administration on the configured store. */
import { parseArgs } from 'node:util';
import { CliError } from './errors.js';
import { MAX_POINTS, parsePoints } from '../protocol/numbers.js';
import { resolveAccount } from './account-ref.js';
import { openConfiguredStore } from './store.js';

export const KEYS_HELP = `gridlens keys: manage client keys and their points

  gridlens keys create --points N [--name TEXT] [--json]   new key with N points; the key is shown once
  gridlens keys credit KEY --points N [--json]              add N points to a key
  gridlens keys list [--json]                               every account: id, key prefix, name, balance, ledger sum
  gridlens keys revoke KEY                                  the key stops working (ERROR_KEY_DOES_NOT_EXIST)

KEY is the whole key, its first characters as keys list shows them (up to 6; refused when
several live keys share them), or the account's --name.

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
  const store = await openConfiguredStore(values.db);
  try {
    if (action === 'create') {
      const made = await store.createAccount(points(values.points), values.name ?? '');
      if (values.json) console.log(JSON.stringify({ clientKey: made.clientKey, balance: made.balance }));
      else console.log(`clientKey ${made.clientKey}\nbalance   ${made.balance}\n(the key is stored only as a hash: copy it now)`);
    } else if (action === 'credit') {
      if (!key) throw new CliError('keys credit needs the KEY (the key, its prefix or the name): gridlens keys credit KEY --points N');
      const n = points(values.points);
      if (n === 0) throw new CliError('--points must be at least 1 for a credit');
      const { id } = await resolveAccount(store, key);
      const balance = await store.creditAccount(id, n).catch((err: Error) => { throw err instanceof RangeError ? new CliError(err.message) : err; });
      console.log(values.json ? JSON.stringify({ balance }) : `balance ${balance}`);
    } else if (action === 'list') {
      const rows = await store.list();
      if (values.json) console.log(JSON.stringify(rows));
      else {
        const width = Math.max(4, ...rows.map((r) => r.name.length));
        console.log(`id  key     ${'name'.padEnd(width)}  balance     ledger      created                    revoked`);
        for (const r of rows) console.log(`${String(r.id).padEnd(3)} ${r.keyHint}… ${r.name.padEnd(width)} ${String(r.balance).padStart(8)}  ${String(r.ledgerSum).padStart(10)}  ${r.createdAt}  ${r.revokedAt ?? ''}`);
      }
    } else if (action === 'revoke') {
      if (!key) throw new CliError('keys revoke needs the KEY (the key, its prefix or the name): gridlens keys revoke KEY');
      const { id, label } = await resolveAccount(store, key);
      if (!(await store.revokeAccount(id))) throw new CliError('no live account has this key');
      console.log(`revoked ${label}`);
    } else {
      throw new CliError(`unknown keys action ${JSON.stringify(action)}; allowed: create, credit, list, revoke`);
    }
  } finally {
    await store.close();
  }
}
