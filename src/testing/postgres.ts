/** The local PostgreSQL the multi-node tests use (127.0.0.1:5432, trust auth), and throwaway databases on it. */
import pg from 'pg';

export const PG_ADMIN = 'postgres://postgres@127.0.0.1:5432/postgres';

/** false when PostgreSQL answers; otherwise why not (a test's skip reason). */
export async function postgresUnreachable(): Promise<string | false> {
  const c = new pg.Client({ connectionString: PG_ADMIN, connectionTimeoutMillis: 1500 });
  try {
    await c.connect();
    await c.end();
    return false;
  } catch (err) {
    return `PostgreSQL at 127.0.0.1:5432 unreachable (${(err as Error).message})`;
  }
}

async function admin(sql: string): Promise<void> {
  const c = new pg.Client(PG_ADMIN);
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** A new empty database named prefix_pid_time; returns its name. */
export async function createTestDatabase(prefix: string): Promise<string> {
  const name = `${prefix}_${process.pid}_${Date.now()}`;
  await admin(`CREATE DATABASE ${name}`);
  return name;
}

export const dropTestDatabase = (name: string) => admin(`DROP DATABASE IF EXISTS ${name}`);
