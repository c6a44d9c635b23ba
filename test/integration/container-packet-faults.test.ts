/**
 * Packet faults on the containers runtime (harness/runtime/containers/container-links.ts) against a real Docker
 * engine: where the rules go, one segment per packet on every link a gateway's packets cross, heal and teardown,
 * and the sweep of a dead run's host table. What the faults do to TCP, and that a gateway must survive them, is
 * judged end to end by `packet-loss` on containers (test/scenarios/containers.test.ts). Needs root and the tools
 * (CI runs as root); a missing engine fails this file.
 */
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ContainerRuntime } from "../../harness/runtime/container-runtime.js";
import { containerLinks, containerLinksUnavailable, findLinkTables, listLinkTables, sweepDeadLinkTables } from "../../harness/runtime/containers/container-links.js";
import { listLabelledObjects } from "../../harness/runtime/containers/container-sweep.js";
import { hostTableName } from "../../harness/runtime/network-namespaces.js";
import type { StartedContainerRuntime } from "../../harness/runtime/started-container-runtime.js";

const run = promisify(execFile);

async function gsoMaxSegs(device: string, pid?: number): Promise<number> {
  const args = ["-d", "-j", "link", "show", device];
  const { stdout } = pid === undefined ? await run("ip", args) : await run("nsenter", ["-t", String(pid), "-n", "ip", ...args]);
  return (JSON.parse(stdout) as { gso_max_segs: number }[])[0]!.gso_max_segs;
}

async function hostTable(runId: string, instance: string): Promise<string> {
  return (await run("nft", ["list", "table", "netdev", hostTableName(runId, instance)])).stdout;
}

async function innerTables(pid: number): Promise<string> {
  return (await run("nsenter", ["-t", String(pid), "-n", "nft", "list", "tables"])).stdout;
}

describe.skipIf(containerLinksUnavailable() !== undefined).sequential("ContainerRuntime packet faults", { timeout: 60_000 }, () => {
  const runId = `test-ctr-links-${randomBytes(3).toString("hex")}`;
  let rt: StartedContainerRuntime;

  beforeAll(async () => {
    rt = await new ContainerRuntime({ runId, instances: 2, networkNamespaces: true, heartbeatIntervalMs: 1_000, connectionTtlMs: 10_000, drainTimeoutMs: 1_000 }).start();
  }, 120_000);

  afterAll(async () => {
    await rt?.stop();
  });

  it("should declare packet faults, and send one segment per packet on every link a gateway's packets cross", async () => {
    expect(rt.capabilities.packetFaults).toBe(true);
    const pid = rt.instance("gw-1").pid!;
    const links = await containerLinks(pid);
    // Two networks: edge (clients) and store (Redis through the proxy container).
    expect(links).toHaveLength(2);
    for (const link of links) {
      expect(await gsoMaxSegs(link.device, pid)).toBe(1);
      const { stdout } = await run("ip", ["-d", "-j", "link", "show", link.hostDevice]);
      const bridge = (JSON.parse(stdout) as { master: string }[])[0]!.master;
      expect(await gsoMaxSegs(bridge)).toBe(1);
    }
  });

  it("should put loss on the host ends both ways, duplication and reordering on both ends, and heal them", async () => {
    const pid = rt.instance("gw-1").pid!;
    const links = await containerLinks(pid);
    await rt.impairLink("gw-1", { form: "loss", percent: 5 });
    const loss = await hostTable(runId, "gw-1");
    for (const link of links) {
      expect(loss).toMatch(new RegExp(`hook ingress device "${link.hostDevice}"[^}]*numgen random mod 10000 < 500 drop`));
      expect(loss).toMatch(new RegExp(`hook egress device "${link.hostDevice}"[^}]*numgen random mod 10000 < 500 drop`));
    }
    expect(await innerTables(pid)).not.toContain("trafficcop");
    // One fault per instance at a time.
    await expect(rt.impairLink("gw-1", { form: "duplicate", percent: 5 })).rejects.toMatchObject({ code: "HARNESS_ERR_INVALID_STATE" });
    await rt.healLink("gw-1");
    expect(findLinkTables(runId)).toEqual([]);

    await rt.impairLink("gw-1", { form: "duplicate", percent: 10 });
    expect(await hostTable(runId, "gw-1")).toContain(`dup to "${links[0]!.hostDevice}"`);
    expect(await innerTables(pid)).toContain("table netdev trafficcop");
    await rt.healLink("gw-1");
    expect(await innerTables(pid)).not.toContain("trafficcop");

    await rt.impairLink("gw-1", { form: "reorder", percent: 10 });
    for (const link of links) {
      expect((await run("tc", ["qdisc", "show", "dev", link.hostDevice])).stdout).toContain("htb 1:");
      expect((await run("nsenter", ["-t", String(pid), "-n", "tc", "qdisc", "show", "dev", link.device])).stdout).toContain("htb 1:");
    }
    expect(await hostTable(runId, "gw-1")).toContain("meta priority set 1:20");
    expect(await rt.linkCounters("gw-1")).toMatchObject({ retransmitted: expect.any(Number), heldBack: expect.any(Number) });
    await rt.healLink("gw-1");
    await rt.healLink("gw-1");
    expect(findLinkTables(runId)).toEqual([]);
  });

  it("should silence the Redis connections a gateway holds by their ports, and heal", async () => {
    const ports = await rt.silenceLinks("gw-2");
    expect(ports.length).toBeGreaterThan(0);
    const table = await hostTable(runId, "gw-2");
    expect(table).toContain(`tcp sport { ${ports.join(", ")} } drop`);
    expect(table).toContain(`tcp dport { ${ports.join(", ")} } drop`);
    await rt.healLink("gw-2");
    expect(findLinkTables(runId)).toEqual([]);
  });

  it("should end a fault whose instance was killed at heal, and segment its links again when it starts", async () => {
    await rt.impairLink("gw-2", { form: "loss", percent: 5 });
    await rt.killInstance("gw-2");
    await expect(rt.impairLink("gw-2", { form: "loss", percent: 5 })).rejects.toMatchObject({ code: "HARNESS_ERR_INVALID_STATE" });
    await rt.healLink("gw-2");
    expect(findLinkTables(runId)).toEqual([]);
    const { pid } = await rt.startInstance("gw-2");
    for (const link of await containerLinks(pid!)) expect(await gsoMaxSegs(link.device, pid)).toBe(1);
  });

  it("should make a fault again on its instance's new links after a restart and after it joins its network again", async () => {
    await rt.impairLink("gw-1", { form: "duplicate", percent: 10 });
    const before = await containerLinks(rt.instance("gw-1").pid!);
    const { pid } = await rt.restartInstance("gw-1", "kill");
    const after = await containerLinks(pid!);
    const restarted = await hostTable(runId, "gw-1");
    for (const link of after) expect(restarted).toContain(`dup to "${link.hostDevice}"`);
    for (const link of before) expect(restarted).not.toContain(`"${link.hostDevice}"`);
    expect(await innerTables(pid!)).toContain("table netdev trafficcop");
    // A network joined again is a new veth pair: the fault follows it there too.
    await rt.disconnectInstance("gw-1");
    await rt.reconnectInstance("gw-1");
    const rejoined = await containerLinks(pid!);
    expect(rejoined.map((l) => l.hostDevice)).not.toEqual(after.map((l) => l.hostDevice));
    const table = await hostTable(runId, "gw-1");
    for (const link of rejoined) expect(table).toContain(`dup to "${link.hostDevice}"`);
    await rt.healLink("gw-1");
    expect(findLinkTables(runId)).toEqual([]);
    expect(await innerTables(pid!)).not.toContain("trafficcop");
  });

  it("should leave no host table and no labelled object after teardown", async () => {
    await rt.impairLink("gw-1", { form: "loss", percent: 1 });
    expect(findLinkTables(runId)).toHaveLength(1);
    await rt.stop();
    expect(findLinkTables(runId)).toEqual([]);
    expect(await listLabelledObjects(runId)).toEqual([]);
  });

  it("should sweep the host table of a run whose owner died, and keep a live owner's", async () => {
    const dead = spawn(process.execPath, ["-e", ""]);
    await new Promise((resolve) => dead.once("exit", resolve));
    const orphan = hostTableName("sweep-test", "gw-1", dead.pid!);
    const mine = hostTableName("sweep-test", "gw-1");
    await run("nft", ["add", "table", "netdev", orphan]);
    await run("nft", ["add", "table", "netdev", mine]);
    try {
      sweepDeadLinkTables();
      // Another run's start-up sweep may have taken the orphan first: gone either way.
      expect(listLinkTables().filter((name) => name === orphan || name === mine)).toEqual([mine]);
    } finally {
      await run("nft", ["delete", "table", "netdev", mine]).catch(() => undefined);
      await run("nft", ["delete", "table", "netdev", orphan]).catch(() => undefined);
    }
  });
});
