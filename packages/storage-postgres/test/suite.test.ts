import { describeDriverConformance, describeStoreConformance } from '@canary-rollout/storage-test-suite';
import pg from 'pg';
import { PostgresDriver, PostgresStore } from '../src/index';
import { describeWithPostgres, freshNamespace } from './helpers/pg-env';
import { corruptRecords, dropNamespace, everythingInSchema, wipeState } from './helpers/tables';

/**
 * A pool that counts the log rows PostgreSQL sends back, so the suite can check that `readLog`
 * fetches only what it returns.
 */
function countingPool(url: string): { pool: pg.Pool; logRows: () => Promise<number> } {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  pool.on('error', () => {});
  let rows = 0;
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => Promise<pg.QueryResult> | undefined;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      const first = args[0] as string | { text?: string };
      const text = typeof first === 'string' ? first : (first.text ?? '');
      const result = query(...args);
      if (result instanceof Promise && /^SELECT seq, entry FROM/.test(text)) {
        return result.then((r) => {
          rows += r.rows.length;
          return r;
        });
      }
      return result;
    };
  });
  return { pool, logRows: async () => rows };
}

describeWithPostgres('PostgresDriver on a real PostgreSQL', (db) => {
  describeDriverConformance(
    'PostgresDriver',
    async () => {
      const namespace = freshNamespace('driver');
      const counted = countingPool(db().url);
      const make = (pool?: pg.Pool) =>
        new PostgresDriver({
          ...(pool ? { pool } : { connectionString: db().url }),
          namespace,
          pollIntervalMs: 0,
        });
      return {
        driver: make(counted.pool),
        peer: async () => make(),
        logEntriesRead: counted.logRows,
        cleanup: async () => {
          await counted.pool.end();
          await dropNamespace(db().admin, namespace);
        },
      };
    },
    { changeTimeoutMs: 5000 },
  );
});

describeWithPostgres('PostgresStore on a real PostgreSQL', (db) => {
  // A fresh namespace per test: the data of one test is invisible to the next.
  describeStoreConformance(
    'PostgresStore',
    async () => {
      const namespace = freshNamespace('suite');
      const make = () => new PostgresStore({ connectionString: db().url, namespace, pollIntervalMs: 1000 });
      return {
        store: make(),
        peer: async () => make(),
        corrupt: (target) => corruptRecords(db().admin, namespace, target),
        // Every row of every table: the other tests' namespaces were dropped after them.
        atRest: () => everythingInSchema(db().admin),
        wipe: () => wipeState(db().admin, namespace),
        cleanup: () => dropNamespace(db().admin, namespace),
      };
    },
    { changeTimeoutMs: 5000 },
  );
});
