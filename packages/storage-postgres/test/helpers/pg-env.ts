import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, it } from 'vitest';

/** The server the tests use: `PGHOST`/`PGPORT`/`PGUSER`, else 127.0.0.1:5432 as postgres. */
export const SERVER = {
  host: process.env['PGHOST'] ?? '127.0.0.1',
  port: Number(process.env['PGPORT'] ?? 5432),
  user: process.env['PGUSER'] ?? 'postgres',
  ...(process.env['PGPASSWORD'] === undefined ? {} : { password: process.env['PGPASSWORD'] }),
};

/** A database of one test file: its connection string and an admin pool on it. */
export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  /** A pool on the database for the test's own queries (inspecting tables, breaking them). */
  readonly admin: pg.Pool;
}

/** `postgres://user[:password]@host:port/<database>`. */
export function urlOf(database: string, port = SERVER.port): string {
  const auth =
    encodeURIComponent(SERVER.user) +
    (SERVER.password === undefined ? '' : `:${encodeURIComponent(SERVER.password)}`);
  return `postgres://${auth}@${SERVER.host}:${port}/${database}`;
}

async function probe(): Promise<string | undefined> {
  const client = new pg.Client({ ...SERVER, database: 'postgres', connectionTimeoutMillis: 3000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return `no PostgreSQL on ${SERVER.host}:${SERVER.port} (${error instanceof Error ? error.message : String(error)})`;
  } finally {
    await client.end().catch(() => {});
  }
}

const missing = await probe();

async function onServer<T>(body: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ ...SERVER, database: 'postgres' });
  await client.connect();
  try {
    return await body(client);
  } finally {
    await client.end();
  }
}

/** Creates a database with a random name, so runs and files never share state. */
export async function createDatabase(): Promise<TestDatabase> {
  const name = `canary_test_${randomBytes(6).toString('hex')}`;
  await onServer((c) => c.query(`CREATE DATABASE ${name}`));
  const url = urlOf(name);
  const admin = new pg.Pool({ connectionString: url, max: 3 });
  admin.on('error', () => {});
  return { name, url, admin };
}

/** Drops the database, closing whatever connections are left on it. */
export async function dropDatabase(db: TestDatabase): Promise<void> {
  await db.admin.end().catch(() => {});
  await onServer((c) => c.query(`DROP DATABASE IF EXISTS ${db.name} WITH (FORCE)`));
}

/**
 * Declares a `describe` block with a database of its own, created before the block and dropped
 * after it. Without a server the block fails under CI and is skipped with a message elsewhere.
 */
export function describeWithPostgres(name: string, body: (db: () => TestDatabase) => void): void {
  if (missing !== undefined) {
    if (process.env['CI'] !== undefined && process.env['CI'] !== '' && process.env['CI'] !== 'false') {
      describe(name, () => {
        it('has a PostgreSQL to test against', () => {
          throw new Error(`@canary-rollout/storage-postgres tests: ${missing} (required under CI)`);
        });
      });
      return;
    }
    console.warn(`[storage-postgres] skipping "${name}": ${missing}`);
    describe.skip(name, () => body(() => ({}) as TestDatabase));
    return;
  }
  describe(name, () => {
    let db: TestDatabase | undefined;
    beforeAll(async () => {
      db = await createDatabase();
    });
    afterAll(async () => {
      if (db !== undefined) await dropDatabase(db);
    });
    body(() => {
      if (db === undefined) throw new Error('the test database is not ready yet');
      return db;
    });
  });
}

/** A namespace no other test uses, with characters that must not break anything. */
export function freshNamespace(label = 'test'): string {
  return `${label}:{${randomBytes(4).toString('hex')}} ü'"`;
}
