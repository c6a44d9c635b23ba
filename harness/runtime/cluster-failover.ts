/**
 * The `redis_failover` fault on a Redis Cluster with replicas: SIGKILL a master that has a replica, wait until the
 * replica holds its slots and every node says `cluster_state:ok`, then restart the killed node on its port (with
 * its `nodes-PORT.conf`, no data) so it rejoins as the new master's replica.
 */
import { Redis } from "ioredis";
import { retryUntil } from "../common/retry.js";
import { HarnessError } from "../errors.js";
import { clusterNodeArgs, RedisServer, type StartedRedisCluster, type StartedRedisServer } from "./redis-server.js";
import type { FailoverReport } from "./redis-sentinel.js";

/**
 * Longest wait for the promotion, and for the rejoin, ms: a replica starts its election once the master has been
 * unreachable for cluster-node-timeout (2 s) plus a random delay under 1 s; 20 s leaves ample room.
 */
const FAILOVER_TIMEOUT_MS = 20_000;
const POLL_MS = 50;
const COMMAND_TIMEOUT_MS = 1_000;

async function call(node: { host: string; port: number }, ...args: string[]): Promise<unknown> {
  const client = new Redis({ host: node.host, port: node.port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, commandTimeout: COMMAND_TIMEOUT_MS, connectTimeout: COMMAND_TIMEOUT_MS });
  client.on("error", () => undefined);
  try {
    await client.connect();
    return await client.call(args[0]!, ...args.slice(1));
  } finally {
    client.disconnect();
  }
}

interface ClusterNodeLine {
  id: string;
  port: number;
  flags: string[];
  masterId: string;
  linked: boolean;
}

function parseClusterNodes(text: string): ClusterNodeLine[] {
  return text
    .trim()
    .split("\n")
    .map((line) => line.split(" "))
    .map(([id, address, flags, masterId, , , , link]) => ({
      id: id!,
      port: Number(/:(\d+)@/.exec(address ?? "")?.[1]),
      flags: (flags ?? "").split(","),
      masterId: masterId ?? "-",
      linked: link === "connected",
    }));
}

function offset(info: string, field: string): number {
  return Number(new RegExp(`${field}:(\\d+)`).exec(info)?.[1] ?? NaN);
}

/** Kills the first master (by port) that has a connected replica, and waits for the replica to take over. */
export async function failoverClusterMaster(cluster: StartedRedisCluster): Promise<FailoverReport> {
  const nodes = [...cluster.nodes];
  const lines = parseClusterNodes(String(await call(nodes[0]!, "CLUSTER", "NODES")));
  const masters = lines.filter((l) => l.flags.includes("master") && !l.flags.some((f) => f.startsWith("fail"))).sort((a, b) => a.port - b.port);
  const pick = masters.map((m) => ({ master: m, replica: lines.find((l) => l.masterId === m.id && l.flags.includes("slave") && l.linked) })).find((p) => p.replica);
  if (!pick) throw new HarnessError("HARNESS_ERR_UNSUPPORTED", "no cluster master has a connected replica: start the cluster with replicas (the local runtime does) to fail one over");
  const master = nodes.find((n) => n.port === pick.master.port)!;
  const replica = nodes.find((n) => n.port === pick.replica!.port)!;
  const [mInfo, rInfo] = (await Promise.all([call(master, "INFO", "replication"), call(replica, "INFO", "replication")]).catch(() => ["", ""])) as [string, string];
  const lag = offset(mInfo, "master_repl_offset") - offset(rInfo, "slave_repl_offset");
  const t0 = Date.now();
  await master.kill();
  const survivors = nodes.filter((n) => n !== master);
  await retryUntil(
    async () => {
      const role = (await call(replica, "ROLE")) as [string];
      const infos = (await Promise.all(survivors.map((n) => call(n, "CLUSTER", "INFO")))) as string[];
      return role[0] === "master" && infos.every((info) => info.includes("cluster_state:ok"));
    },
    Boolean,
    (last) => new HarnessError("HARNESS_ERR_REDIS_CLUSTER_CREATE", `replica ${replica.port} did not take over the slots of master ${master.port} within ${FAILOVER_TIMEOUT_MS}ms`, { cause: last.error }),
    { timeoutMs: FAILOVER_TIMEOUT_MS, intervalMs: POLL_MS },
  );
  const promotedAt = Date.now();
  const back: StartedRedisServer = await new RedisServer({ host: master.host, port: master.port, runId: cluster.runId, dir: cluster.dir, extraArgs: clusterNodeArgs(master.port) }).start();
  cluster.replaceNode(master, back);
  await retryUntil(
    async () => String(await call(back, "INFO", "replication")),
    (info) => /role:slave/.test(info) && /master_link_status:up/.test(info),
    () => new HarnessError("HARNESS_ERR_REDIS_CLUSTER_CREATE", `node ${back.port} did not rejoin as a replica within ${FAILOVER_TIMEOUT_MS}ms`),
    { timeoutMs: FAILOVER_TIMEOUT_MS, intervalMs: POLL_MS },
  );
  return {
    killed: `${master.host}:${master.port}`,
    promoted: `${replica.host}:${replica.port}`,
    replication_lag_bytes: Number.isFinite(lag) ? Math.max(0, lag) : null,
    promotion_ms: promotedAt - t0,
    rejoin_ms: Date.now() - promotedAt,
  };
}
