import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { freePort, hasRedisServer, type RedisServer, startRedisServer } from './redis-server';

/** True when both `redis-server` and `redis-cli` (which creates the cluster) run here. */
export function canStartCluster(): boolean {
  return hasRedisServer() && spawnSync('redis-cli', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** A local Redis Cluster of three masters, no replicas. */
export interface RedisCluster {
  readonly nodes: readonly { host: string; port: number }[];
  dispose(): Promise<void>;
}

/** A free port whose cluster bus port (+10000) is free too. */
async function clusterPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await freePort();
    if (port + 10_000 > 65_535) continue;
    const busFree = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port + 10_000, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (busFree) return port;
  }
  throw new Error('no free port pair for a cluster node');
}

/** Starts three cluster-enabled servers and joins them with `redis-cli --cluster create`. */
export async function startRedisCluster(): Promise<RedisCluster> {
  const servers: RedisServer[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      servers.push(
        await startRedisServer({
          port: await clusterPort(),
          args: [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            'nodes.conf',
            '--cluster-node-timeout',
            '2000',
          ],
        }),
      );
    }
    const addresses = servers.map((s) => `${s.host}:${s.port}`);
    await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes']);
    await waitForClusterOk(servers);
  } catch (error) {
    for (const server of servers) await server.dispose();
    throw error;
  }
  return {
    nodes: servers.map((s) => ({ host: s.host, port: s.port })),
    dispose: async () => {
      for (const server of servers) await server.dispose();
    },
  };
}

function run(command: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} exited with ${code}: ${output}`)),
    );
  });
}

/** Waits until every node reports the cluster ok (at most 15 s). */
async function waitForClusterOk(servers: readonly RedisServer[]): Promise<void> {
  const deadline = Date.now() + 15_000;
  const clients = servers.map((s) => new Redis({ host: s.host, port: s.port }));
  try {
    while (Date.now() < deadline) {
      const infos = await Promise.all(clients.map((c) => c.cluster('INFO') as Promise<string>));
      if (infos.every((info) => info.includes('cluster_state:ok'))) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error('the cluster did not report cluster_state:ok within 15 s');
  } finally {
    for (const client of clients) client.disconnect();
  }
}
