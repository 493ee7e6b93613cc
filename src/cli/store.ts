/** The account store the CLI works on: PostgreSQL with DATABASE_URL, else SQLite at --db or DB_PATH. */
import { loadConfig, resolveFromRoot } from '../config.js';
import { openPostgresStore } from '../accounts/postgres-store.js';
import { openSqliteStore } from '../accounts/sqlite-store.js';
import type { AccountStore } from '../accounts/store.js';

export async function openConfiguredStore(db: string | undefined): Promise<AccountStore> {
  const config = loadConfig(db ? { dbPath: db } : {});
  return config.databaseUrl ? openPostgresStore(config.databaseUrl) : openSqliteStore(resolveFromRoot(config.dbPath));
}
