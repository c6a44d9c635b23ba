import { createServer, type Server } from "node:net";
import { describe, expect, it, onTestFinished } from "vitest";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { ephemeralRangeStart, FETCH_BAD_PORTS, findFreePort, isPortFree, PORT_LANES, portLane } from "./free-port.js";

const execFileAsync = promisify(execFile);

function listenOn(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => resolve(server));
  });
}

describe("findFreePort", () => {
  it("should pick bindable ports below the kernel's ephemeral range, which outgoing connections never take", async () => {
    const start = ephemeralRangeStart();
    expect(start).toBeGreaterThan(11_000);
    const ports = await Promise.all(Array.from({ length: 20 }, () => findFreePort()));
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(10_000);
      expect(port).toBeLessThan(start);
    }
    // Spread over the range, so that parallel runs rarely probe the same one.
    expect(new Set(ports).size).toBeGreaterThan(15);
    const server = await listenOn(ports[0]!);
    onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  });

  it("should never pick a port fetch refuses (10080), which no readiness probe could reach", async () => {
    expect(await fetch("http://127.0.0.1:10080/").catch((e: Error & { cause?: Error }) => e.cause?.message)).toBe("bad port");
    expect(FETCH_BAD_PORTS.has(10_080)).toBe(true);
    // A range of that port alone (free or not): the kernel's pick instead, from its ephemeral range.
    for (let i = 0; i < 3; i++) expect(await findFreePort("127.0.0.1", { lowest: 10_080, highest: 10_080 })).toBeGreaterThanOrEqual(ephemeralRangeStart());
  });

  it("should skip ports something listens on, and fall back to one the kernel assigns when the range is full", async () => {
    const server = await listenOn(await findFreePort());
    onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const taken = (server.address() as { port: number }).port;
    // A range of one taken port: 20 random picks all fail, and the kernel assigns one from its ephemeral range.
    expect(await findFreePort("127.0.0.1", { lowest: taken, highest: taken })).toBeGreaterThanOrEqual(ephemeralRangeStart());
    // A range of two, one taken: the other one every time (when nothing else holds it).
    if ((await findFreePort("127.0.0.1", { lowest: taken + 1, highest: taken + 1 })) === taken + 1) {
      for (let i = 0; i < 10; i++) expect(await findFreePort("127.0.0.1", { lowest: taken, highest: taken + 1 })).toBe(taken + 1);
    }
  });

  it("should tell a port something listens on from a free one", async () => {
    const port = await findFreePort();
    expect(await isPortFree("127.0.0.1", port)).toBe(true);
    const server = await listenOn(port);
    expect(await isPortFree("127.0.0.1", port)).toBe(false);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    expect(await isPortFree("127.0.0.1", port)).toBe(true);
  });

  it("should draw a process's ports from a lane no other process running at once has, and not hand out its recent picks again", async () => {
    const lane = await portLane();
    expect(lane).toBeDefined();
    // One after the other (picks at once that hit the same port fail each other's probe and pick again): 200
    // random picks among a lane's ~1,400 ports repeat one but for 1 run in a million (e^-(200^2/2/1,423)), unless
    // recent picks are skipped.
    const ports: number[] = [];
    for (let i = 0; i < 200; i++) ports.push(await findFreePort());
    expect(ports.filter((port) => port % PORT_LANES !== lane)).toEqual([]);
    expect(new Set(ports).size).toBe(200);
    const script = 'import("./harness/common/free-port.ts").then(async (m) => console.log(JSON.stringify({ lane: await m.portLane(), port: await m.findFreePort() })))';
    const { stdout } = await execFileAsync(process.execPath, ["--import", "tsx", "-e", script], { cwd: new URL("../..", import.meta.url) });
    const other = JSON.parse(stdout) as { lane: number; port: number };
    expect(other.lane).not.toBe(lane);
    // Every lane held (more harness processes at once than lanes, the test suite's workers among them): the whole range.
    if (other.lane !== undefined) expect(other.port % PORT_LANES).toBe(other.lane);
  });
});
