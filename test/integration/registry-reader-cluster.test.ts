import { Cluster } from "ioredis";
import { describe, expect, it, onTestFinished } from "vitest";
import { createKeySchema } from "../../harness/common/key-schema.js";
import { RegistryReader } from "../../harness/recorder/registry-reader.js";
import { failoverClusterMaster } from "../../harness/runtime/cluster-failover.js";
import { RedisCluster } from "../../harness/runtime/redis-server.js";

/** Records written: enough sessions that every master holds some (hash tags spread them over the slots). */
const RECORDS = 60;
/**
 * How long the reader may take to see every record again after the promotion, ms: one SCAN pass on 3 nodes takes
 * milliseconds; 10 s leaves room for 2 loaded cores, and a reader that never looks at the promoted master (the
 * defect this guards) stays at about two thirds forever.
 */
const REREAD_BOUND_MS = 10_000;

describe("RegistryReader on a Redis Cluster", () => {
  it("should read the promoted replica's keys after a master failover", { timeout: 90_000 }, async () => {
    const cluster = await new RedisCluster({ runId: "test", replicas: 1 }).start();
    onTestFinished(() => cluster.stop());
    const keys = createKeySchema();
    const writer = new Cluster(cluster.nodes.map((n) => ({ host: n.host, port: n.port })));
    onTestFinished(() => void writer.disconnect());
    for (let i = 0; i < RECORDS; i++) await writer.hset(keys.connection(`{s${i}}`, `w${i}`), "instance_id", "gw-1");
    // Every write replicated before the kill (WAIT on each master), so none is lost by the failover itself.
    await Promise.all(writer.nodes("master").map((node) => node.call("WAIT", "1", "5000")));
    const reader = new RegistryReader({ nodes: [...cluster.nodes], cluster: true });
    onTestFinished(() => reader.close());
    expect((await reader.read()).records).toHaveLength(RECORDS);
    // Slow commands are read from every master: one on each, by the SUT's client, counted once each.
    await reader.slowCommands();
    const spin = "local s = redis.call('TIME') repeat local t = redis.call('TIME') until (t[1] - s[1]) * 1000000 + t[2] - s[2] >= 30000 return 1";
    await Promise.all(writer.nodes("master").map((node) => node.eval(spin, 0)));
    // Only the scripts are asserted exactly: on a loaded machine any other command (the cluster client's own, say)
    // can be descheduled past the bound and be counted too.
    const slow = await reader.slowCommands();
    expect(slow.by_command.eval).toBe(writer.nodes("master").length);
    expect(slow.count).toBeGreaterThanOrEqual(writer.nodes("master").length);

    const report = await failoverClusterMaster(cluster);
    expect(report.promotion_ms).toBeGreaterThan(0);
    // Reads failing while the reader's map still names the dead master count as not yet seen.
    await expect.poll(async () => (await reader.read().catch(() => ({ records: [] }))).records.length, { timeout: REREAD_BOUND_MS, interval: 200 }).toBe(RECORDS);
  });
});
