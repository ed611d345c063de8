import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { timeUntil } from './faults';

const RABBITMQ_BIN = '/usr/lib/rabbitmq/bin';
/** A node's distribution (Erlang) port is its AMQP port plus this. */
export const DIST_OFFSET = 20_000;

/**
 * A RabbitMQ cluster of three nodes on this machine, beside the machine's own broker: node names,
 * AMQP and distribution ports, data directories and an Erlang cookie of its own (in a temporary
 * directory that is also the nodes' HOME), no plugins. Started and stopped by the test.
 */
export class RabbitCluster {
  private constructor(
    private readonly dir: string,
    readonly nodes: { name: string; port: number }[],
  ) {}

  /** The AMQP URLs of the nodes, in node order: what AMQP_URL lists. */
  get urls(): string[] {
    return this.nodes.map(({ port }) => `amqp://guest:guest@127.0.0.1:${port}`);
  }

  static async start(ports: number[]): Promise<RabbitCluster> {
    const id = randomBytes(3).toString('hex');
    const dir = join(tmpdir(), `herald-cluster-${id}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, '.erlang.cookie'),
      `herald-cluster-${id}-${randomBytes(8).toString('hex')}`,
    );
    chmodSync(join(dir, '.erlang.cookie'), 0o400);
    writeFileSync(join(dir, 'enabled_plugins'), '[].');
    const nodes = ports.map((port, i) => ({ name: `herald-${id}-${i}@localhost`, port }));
    const cluster = new RabbitCluster(dir, nodes);
    try {
      for (const node of nodes) cluster.startNode(node);
      for (const node of nodes) await cluster.awaitNode(node.name);
      const [first, ...others] = nodes;
      for (const node of others) {
        await cluster.ctl(node.name, 'stop_app');
        await cluster.ctl(node.name, 'join_cluster', first.name);
        await cluster.ctl(node.name, 'start_app');
      }
      return cluster;
    } catch (error) {
      await cluster.stop(); // no node left running when it could not be formed
      throw error;
    }
  }

  /** Stops a node's Erlang VM: its connections drop, its queue replicas go away. */
  async stopNode(index: number): Promise<void> {
    await this.ctl(this.nodes[index].name, 'stop');
  }

  /** Starts a stopped node again, on its own data: it rejoins the cluster. */
  async restartNode(index: number): Promise<void> {
    this.startNode(this.nodes[index]);
    await this.awaitNode(this.nodes[index].name);
  }

  /** The index of the node leading a quorum queue, asked of `index`. */
  async leaderOf(queue: string, index: number): Promise<number> {
    const listed = await this.ctl(
      this.nodes[index].name,
      ...['list_queues', 'name', 'leader', '--formatter', 'json'],
    );
    const leader = (JSON.parse(listed) as { name: string; leader: string }[]).find(
      (entry) => entry.name === queue,
    )?.leader;
    const leading = this.nodes.findIndex(({ name }) => name === leader);
    if (leading < 0) throw new Error(`${queue}: no leader among the cluster's nodes (${leader})`);
    return leading;
  }

  /** How many nodes the cluster sees running, asked of `index`. */
  async runningNodes(index: number): Promise<number> {
    const status = await this.ctl(this.nodes[index].name, 'cluster_status', '--formatter', 'json');
    return (JSON.parse(status) as { running_nodes: string[] }).running_nodes.length;
  }

  /** Stops every node still running and removes the data. */
  async stop(): Promise<void> {
    for (const node of this.nodes) await this.ctl(node.name, 'stop').catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private startNode({ name, port }: { name: string; port: number }): void {
    const base = join(this.dir, name);
    mkdirSync(base, { recursive: true });
    const config = join(base, 'rabbitmq.conf');
    writeFileSync(config, `listeners.tcp.local = 127.0.0.1:${port}\n`);
    execFile(join(RABBITMQ_BIN, 'rabbitmq-server'), ['-detached'], {
      env: {
        ...this.env(),
        RABBITMQ_NODENAME: name,
        RABBITMQ_NODE_PORT: String(port),
        RABBITMQ_DIST_PORT: String(port + DIST_OFFSET),
        RABBITMQ_CONFIG_FILE: config,
        RABBITMQ_MNESIA_BASE: join(base, 'mnesia'),
        RABBITMQ_LOG_BASE: join(base, 'log'),
        RABBITMQ_PID_FILE: join(base, 'pid'),
        RABBITMQ_ENABLED_PLUGINS_FILE: join(this.dir, 'enabled_plugins'),
      },
    });
  }

  private awaitNode(name: string): Promise<number> {
    return timeUntil(
      () =>
        this.ctl(name, 'await_startup', '--timeout', '5').then(
          () => true,
          () => false,
        ),
      120_000,
    );
  }

  private env(): NodeJS.ProcessEnv {
    return { ...process.env, HOME: this.dir };
  }

  private ctl(node: string, ...args: string[]): Promise<string> {
    return new Promise((resolve, reject) =>
      execFile(
        join(RABBITMQ_BIN, 'rabbitmqctl'),
        ['-n', node, ...args],
        { env: this.env(), timeout: 60_000 },
        (error, stdout, stderr) =>
          error
            ? reject(
                new Error(`rabbitmqctl -n ${node} ${args.join(' ')}: ${stderr || error.message}`),
              )
            : resolve(stdout),
      ),
    );
  }
}
