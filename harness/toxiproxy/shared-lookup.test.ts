import type { LookupAddress } from "node:dns";
import { lookup } from "node:dns/promises";
import { describe, expect, it } from "vitest";
import { ANSWER_TTL_MS, createSharedLookup, type ConnectLookup, type ResolveAll } from "./shared-lookup.js";

/** A resolver whose lookups wait until the test answers them, counting each. */
function heldResolver() {
  const calls: { hostname: string; answer: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void }[] = [];
  const resolve: ResolveAll = (hostname, _options, callback) => void calls.push({ hostname, answer: callback });
  return { calls, resolve };
}

function ask(lookup: ConnectLookup, hostname: string, all = true): Promise<{ error: NodeJS.ErrnoException | null; address: unknown; family?: number }> {
  return new Promise((resolve) => lookup(hostname, { all }, (error, address, family) => resolve({ error, address, family })));
}

describe("createSharedLookup", () => {
  it("should send one lookup per name for every dial waiting on it, and not hold up other names", async () => {
    const { calls, resolve } = heldResolver();
    const shared = createSharedLookup(resolve);
    const dead = Array.from({ length: 500 }, () => ask(shared, "gw-1"));
    const live = ask(shared, "gw-2", false);
    expect(calls.map((c) => c.hostname)).toEqual(["gw-1", "gw-2"]);
    calls[1]!.answer(null, [{ address: "172.18.0.3", family: 4 }]);
    expect(await live).toEqual({ error: null, address: "172.18.0.3", family: 4 });
    calls[0]!.answer(Object.assign(new Error("getaddrinfo ENOTFOUND gw-1"), { code: "ENOTFOUND" }), []);
    const answers = await Promise.all(dead);
    expect(answers.every((a) => a.error?.code === "ENOTFOUND")).toBe(true);
  });

  it("should keep an answer for ANSWER_TTL_MS and ask again after, and never keep a failure", async () => {
    let clock = 0;
    const { calls, resolve } = heldResolver();
    const shared = createSharedLookup(resolve, () => clock);
    const first = ask(shared, "redis");
    calls[0]!.answer(null, [{ address: "10.0.0.5", family: 4 }, { address: "fd00::5", family: 6 }]);
    expect((await first).address).toEqual([{ address: "10.0.0.5", family: 4 }, { address: "fd00::5", family: 6 }]);
    clock = ANSWER_TTL_MS - 1;
    // Kept, and filtered by the family asked for.
    expect(await new Promise((r) => shared("redis", { family: 6 }, (error, address, family) => r({ error, address, family })))).toEqual({ error: null, address: "fd00::5", family: 6 });
    expect(calls).toHaveLength(1);
    clock = ANSWER_TTL_MS;
    const again = ask(shared, "redis");
    expect(calls).toHaveLength(2);
    calls[1]!.answer(Object.assign(new Error("getaddrinfo EAI_AGAIN redis"), { code: "EAI_AGAIN" }), []);
    expect((await again).error?.code).toBe("EAI_AGAIN");
    void ask(shared, "redis");
    expect(calls).toHaveLength(3);
  });

  it("should answer as dns.lookup does through the real resolver", async () => {
    const shared = createSharedLookup();
    const expected = await lookup("localhost", { all: true });
    expect((await ask(shared, "localhost")).address).toEqual(expected);
    expect((await ask(shared, "no-such-host.invalid")).error?.code).toMatch(/ENOTFOUND|EAI_AGAIN/);
  });
});
