import { appendFile, readFile, stat, writeFile } from 'node:fs/promises';
import { FileStore } from '@canary-rollout/storage-file';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from './helpers';

describe('JSONL logs', () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  const warnings: string[] = [];
  const make = (options: { maxLogEntries?: number; maxLogBytes?: number } = {}) =>
    new FileStore({ dir: temp.dir, onWarning: (m) => warnings.push(m), ...options });

  beforeEach(async () => {
    temp = await tempDir('storage-file-jsonl-');
    warnings.length = 0;
  });
  afterEach(async () => {
    await temp.remove();
  });

  it('writes the guide files logs/alerts.jsonl and logs/health-reports.jsonl, one JSON object a line', async () => {
    const store = make();
    await store.open();
    await store.appendLog('alerts', { at: 1, type: 'critical', feature: 'aiExtraction' });
    await store.appendLog('alerts', { at: 2, type: 'warning' });
    await store.appendLog('health-reports', { at: 3, healthy: true });
    await store.close();
    expect(await readFile(`${temp.dir}/logs/alerts.jsonl`, 'utf8')).toBe(
      '{"at":1,"type":"critical","feature":"aiExtraction"}\n{"at":2,"type":"warning"}\n',
    );
    expect(await readFile(`${temp.dir}/logs/health-reports.jsonl`, 'utf8')).toBe('{"at":3,"healthy":true}\n');
  });

  it('skips a torn last line with one warning, reads the rest, and cuts it off at the next append', async () => {
    const store = make();
    await store.open();
    await store.appendLog('alerts', { at: 1 });
    await store.appendLog('alerts', { at: 2 });
    const path = store.layout.logs.alerts;
    // A crash in the middle of an append leaves part of a line without its newline.
    await appendFile(path, '{"at":3,"type":"cri');
    expect(await store.listLogs('alerts')).toEqual([{ at: 1 }, { at: 2 }]);
    expect(await store.listLogs('alerts')).toEqual([{ at: 1 }, { at: 2 }]);
    expect(warnings.filter((w) => w.includes('skipped a torn last line'))).toHaveLength(1);
    expect(warnings[0]).toContain(path);

    await store.appendLog('alerts', { at: 4 });
    expect(await readFile(path, 'utf8')).toBe('{"at":1}\n{"at":2}\n{"at":4}\n');
    expect(warnings.some((w) => w.includes('dropped a torn last line (19 bytes)'))).toBe(true);
    expect(await store.listLogs('alerts')).toEqual([{ at: 1 }, { at: 2 }, { at: 4 }]);
    await store.close();
  });

  it('keeps a whole last line that only lacks its newline (edited by hand)', async () => {
    const store = make();
    await store.open();
    const path = store.layout.logs.alerts;
    await writeFile(path, '{"at":1}\n{"at":2}');
    expect(await store.listLogs('alerts')).toEqual([{ at: 1 }, { at: 2 }]);
    await store.appendLog('alerts', { at: 3 });
    expect(await readFile(path, 'utf8')).toBe('{"at":1}\n{"at":2}\n{"at":3}\n');
    expect(warnings).toEqual([]);
    await store.close();
  });

  it('skips a torn last line of feedback too', async () => {
    const store = make();
    await store.open();
    await store.appendFeedback({ id: 'f1', userId: 'u1', feature: 'f', rating: 5, at: 1 });
    await appendFile(store.layout.feedback, '{"id":"f2","userId":"u1","fea');
    expect((await store.listFeedback()).map((f) => f.id)).toEqual(['f1']);
    expect(warnings.some((w) => w.includes('feedback.jsonl: skipped a torn last line'))).toBe(true);
    await store.close();
  });

  it.each(['null', '42', '"text"', '[]'])(
    'refuses a feedback line %s as corrupted data, naming the line',
    async (line) => {
      const store = make();
      await store.open();
      await store.appendFeedback({ id: 'f1', userId: 'u1', feature: 'f', rating: 5, at: 1 });
      await appendFile(store.layout.feedback, `${line}\n`);
      const before = await readFile(store.layout.feedback, 'utf8');
      const refused = store.listFeedback();
      await expect(refused).rejects.toMatchObject({ code: 'STORE_DATA_CORRUPTED' });
      await expect(refused).rejects.toThrow('feedback.jsonl line 2 is not a feedback entry');
      expect(await readFile(store.layout.feedback, 'utf8')).toBe(before);
      await store.close();
    },
  );

  it('keeps a log to maxLogEntries: reads return the newest, compaction bounds the file', async () => {
    const store = make({ maxLogEntries: 50 });
    await store.open();
    for (let at = 1; at <= 500; at += 1) await store.appendLog('alerts', { at });
    const entries = await store.listLogs('alerts');
    expect(entries).toHaveLength(50);
    expect(entries.at(-1)).toEqual({ at: 500 });
    expect(entries[0]).toEqual({ at: 451 });
    // Compaction runs every maxLogEntries / 10 appends: the file never holds many more.
    const lines = (await readFile(store.layout.logs.alerts, 'utf8')).split('\n').length - 1;
    expect(lines).toBeLessThanOrEqual(55);
    expect(await store.listLogs('alerts', { since: 490, limit: 5 })).toEqual(
      [496, 497, 498, 499, 500].map((at) => ({ at })),
    );
    await store.close();
    // 500 durable appends: it ran out of the default 20 s on two cores under a load of 30.
  }, 60_000);

  it('keeps a log to maxLogBytes: past the limit it is compacted to the newest within 80 % of it', async () => {
    const store = make({ maxLogBytes: 4096 });
    await store.open();
    const pad = 'x'.repeat(80);
    for (let at = 1; at <= 300; at += 1) {
      await store.appendLog('health-reports', { at, pad });
      expect((await stat(store.layout.logs['health-reports'])).size).toBeLessThanOrEqual(4096);
    }
    const entries = await store.listLogs('health-reports');
    expect(entries.at(-1)?.at).toBe(300);
    // Whole entries, newest kept, in order.
    expect(entries.map((e) => e.at)).toEqual(entries.map((_, i) => 300 - entries.length + 1 + i));
    await store.close();
  }, 60_000);

  it('rejects an unknown log kind with InvalidArgumentError', async () => {
    const store = make();
    await store.open();
    // @ts-expect-error: not a log kind
    await expect(store.appendLog('debug', { at: 1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    // @ts-expect-error: not a log kind
    await expect(store.listLogs('__proto__')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await store.close();
  });
});
