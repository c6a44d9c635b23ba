/**
 * Data path of every toxic, per direction, through a real TCP echo upstream (proxy_test.go, toxics/*_test.go).
 * Timing bounds are generous for a loaded 2-core machine: at least the configured delay minus 5 ms, and less than
 * the delay plus 150 ms (more where the Go tests allow more). Everything is polled, never slept.
 */
import { randomBytes } from "node:crypto";
import { createServer, type AddressInfo, type Socket } from "node:net";
import { Toxiproxy, type Proxy } from "toxiproxy-node-client";
import { describe, expect, it, onTestFinished } from "vitest";
import { findFreePort } from "../../harness/common/free-port.js";
import { ToxiproxyServer } from "../../harness/toxiproxy/index.js";
import { RecordingClient, startEchoServer, type StartedEchoServer } from "../../harness/toxiproxy/tcp-peers.js";

const EARLY_MS = 5;
const LATE_MS = 150;
const POLL = { timeout: 5_000, interval: 2 } as const;
/**
 * Megabytes streamed through the proxy and back: the way from the client through the proxy to an echo server and
 * back held 27-28 MB of socket buffers on this machine before a client that did not read stopped its writer.
 */
const BULK_MB = 48;
/** Size of the small messages, bytes: a quarter of the proxy's smallest read memory (4 KB). */
const SMALL_MESSAGE_BYTES = 1_000;
/** Bound of the small-message test's writer: far above what the way to a peer that does not read holds. */
const MAX_SMALL_MESSAGES = 200_000;
/** A write of the client waiting this long while it does not read means every buffer on the way is full. */
const STUCK_MS = 100;

/** Whether `client`'s writer is stuck: a write still queued, and none finished for {@link STUCK_MS}. */
function writerStuck(client: RecordingClient, lastWriteAt: number): boolean {
  return client.socket.writableLength > 0 && performance.now() - lastWriteAt > STUCK_MS;
}

interface Setup {
  toxiproxy: Toxiproxy;
  echo: StartedEchoServer;
  proxy: Proxy;
  port: number;
  client(): Promise<RecordingClient>;
  addToxic(body: Record<string, unknown>): Promise<unknown>;
}

async function setup(options: { echo?: boolean } = {}): Promise<Setup> {
  const server = await new ToxiproxyServer({ port: 0, seed: 42 }).start();
  onTestFinished(() => server.stop());
  const echo = await startEchoServer(options);
  onTestFinished(() => echo.stop());
  const toxiproxy = new Toxiproxy(server.url);
  const proxy = await toxiproxy.createProxy({ name: "echo", listen: "127.0.0.1:0", upstream: echo.address });
  const port = Number(proxy.listen.split(":")[1]);
  return {
    toxiproxy,
    echo,
    proxy,
    port,
    async client() {
      const client = await RecordingClient.connect(port);
      onTestFinished(() => client.close());
      return client;
    },
    addToxic: (body) => proxy.addToxic(body as never),
  };
}

/** Polls until the client has read `bytes` bytes and returns when (performance.now()) it did. */
async function readAt(client: RecordingClient, bytes: number): Promise<number> {
  await expect.poll(() => client.bytes, POLL).toBeGreaterThanOrEqual(bytes);
  return client.reachedAt(bytes)!;
}

function pattern(length: number, seed = 0): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

describe("proxy data path without toxics", () => {
  it("should carry bytes unchanged: 11 bytes, 64 KB, and two writes joined", async () => {
    const { echo, client } = await setup();
    const c = await client();
    const big = pattern(64 * 1024);
    await c.write("hello world");
    await c.write(big);
    await c.write("ab");
    await c.write("cd");
    const expected = Buffer.concat([Buffer.from("hello world"), big, Buffer.from("abcd")]);
    await expect.poll(() => c.bytes, POLL).toBe(expected.length);
    expect(c.received.equals(expected)).toBe(true);
    expect(Buffer.concat(echo.connections[0]!.data).equals(expected)).toBe(true);
  });

  // The proxy reads into memory it reuses from read to read (socket-reader.ts): a chunk whose write the kernel did
  // not take at once must keep its bytes while later reads arrive. Random bytes make any overwritten or repeated
  // chunk show.
  it(`should carry ${BULK_MB} MB of random bytes unchanged both ways, through a stall of the client's reads`, async () => {
    const { echo, client } = await setup();
    const c = await client();
    const sent = randomBytes(BULK_MB * 1024 * 1024);
    const chunk = 64 * 1024;
    let written = 0;
    let lastWriteAt = performance.now();
    const writer = (async () => {
      for (; written < sent.length; written += chunk) {
        await c.write(sent.subarray(written, written + chunk));
        lastWriteAt = performance.now();
      }
    })();
    // Reads at the proxy's largest size, then a client that stops reading: its writer stops once every buffer on
    // the way is full (proxy -> client, echo -> proxy, proxy -> echo, client -> proxy), so that the proxy's writes
    // queue in both directions; where the kernel's buffers have grown to hold the rest, the writer ends instead.
    await expect.poll(() => c.bytes, POLL).toBeGreaterThan(BULK_MB * 1024 * 64);
    c.socket.pause();
    await expect.poll(() => written >= sent.length || writerStuck(c, lastWriteAt), POLL).toBe(true);
    c.socket.resume();
    await writer;
    await expect.poll(() => c.bytes, { timeout: 20_000, interval: 10 }).toBe(sent.length);
    expect(Buffer.concat(echo.connections[0]!.data).equals(sent)).toBe(true);
    expect(c.received.equals(sent)).toBe(true);
  });

  // Small messages to a peer that does not read (a slow consumer behind a client proxy): once the kernel holds no
  // more, the proxy queues each message, and keeps reading until the queue reaches the socket's high-water mark.
  it("should carry small messages unchanged to an upstream that does not read, once it reads again", async () => {
    const { toxiproxy } = await setup();
    const received: Buffer[] = [];
    let upstreamSocket: Socket | undefined;
    const upstream = createServer({ pauseOnConnect: true }, (socket) => {
      upstreamSocket = socket;
      socket.on("data", (data: Buffer) => received.push(data));
    });
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    onTestFinished(() => {
      upstreamSocket?.destroy();
      upstream.close();
    });
    const proxy = await toxiproxy.createProxy({ name: "sink", listen: "127.0.0.1:0", upstream: `127.0.0.1:${(upstream.address() as AddressInfo).port}` });
    const c = await RecordingClient.connect(Number(proxy.listen.split(":")[1]));
    onTestFinished(() => c.close());
    const messages: Buffer[] = [];
    let lastWriteAt = performance.now();
    let stuck = false;
    const writer = (async () => {
      while (!stuck && messages.length < MAX_SMALL_MESSAGES) {
        const message = randomBytes(SMALL_MESSAGE_BYTES);
        messages.push(message);
        await c.write(message);
        lastWriteAt = performance.now();
        // One read of the proxy per message, as a WebSocket client's frames arrive.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    })();
    await expect.poll(() => writerStuck(c, lastWriteAt), { timeout: 20_000, interval: 5 }).toBe(true);
    stuck = true;
    upstreamSocket!.resume();
    await writer;
    const sent = Buffer.concat(messages);
    await expect.poll(() => received.reduce((sum, data) => sum + data.length, 0), { timeout: 10_000, interval: 5 }).toBe(sent.length);
    expect(Buffer.concat(received).equals(sent)).toBe(true);
  });

  it("should accept then close at once (EOF) when the upstream cannot be dialled", async () => {
    const server = await new ToxiproxyServer({ port: 0 }).start();
    onTestFinished(() => server.stop());
    const deadPort = await findFreePort();
    const proxy = await new Toxiproxy(server.url).createProxy({ name: "dead", listen: "127.0.0.1:0", upstream: `localhost:${deadPort}` });
    const c = await RecordingClient.connect(Number(proxy.listen.split(":")[1]));
    onTestFinished(() => c.close());
    const connectedAt = performance.now();
    await expect.poll(() => c.ended, POLL).toBe(true);
    expect(performance.now() - connectedAt).toBeLessThan(500 + LATE_MS);
    expect(c.errorCode).toBeUndefined();
  });

  it("should close the whole connection after flushing when the client sends FIN", async () => {
    const { echo, client } = await setup({ echo: false });
    const c = await client();
    c.socket.end("last words");
    await expect.poll(() => echo.connections[0]?.ended, POLL).toBe(true);
    expect(Buffer.concat(echo.connections[0]!.data).toString()).toBe("last words");
    await expect.poll(() => c.closed, POLL).toBe(true);
    expect(c.ended).toBe(true);
  });
});

describe("latency toxic", () => {
  it("should delay the downstream by latency", async () => {
    const { addToxic, client } = await setup();
    await addToxic({ type: "latency", stream: "downstream", attributes: { latency: 100 } });
    const c = await client();
    const sentAt = performance.now();
    await c.write("ping");
    const elapsed = (await readAt(c, 4)) - sentAt;
    expect(elapsed).toBeGreaterThanOrEqual(100 - EARLY_MS);
    expect(elapsed).toBeLessThan(100 + LATE_MS);
  });

  it("should delay the upstream by latency, one way only", async () => {
    const { addToxic, client, echo } = await setup();
    await addToxic({ type: "latency", stream: "upstream", attributes: { latency: 100 } });
    const c = await client();
    const sentAt = performance.now();
    await c.write("ping");
    await expect.poll(() => echo.connections[0]?.firstDataAt, POLL).toBeDefined();
    const atServer = echo.connections[0]!.firstDataAt! - sentAt;
    expect(atServer).toBeGreaterThanOrEqual(100 - EARLY_MS);
    expect(atServer).toBeLessThan(100 + LATE_MS);
    const roundTrip = (await readAt(c, 4)) - sentAt;
    expect(roundTrip - atServer).toBeLessThan(LATE_MS);
  });

  it("should add both directions and chained toxics on the round trip", async () => {
    const { addToxic, client } = await setup();
    await addToxic({ name: "up1", type: "latency", stream: "upstream", attributes: { latency: 100 } });
    await addToxic({ name: "up2", type: "latency", stream: "upstream", attributes: { latency: 100 } });
    await addToxic({ name: "down", type: "latency", stream: "downstream", attributes: { latency: 100 } });
    const c = await client();
    const sentAt = performance.now();
    await c.write("ping");
    const elapsed = (await readAt(c, 4)) - sentAt;
    expect(elapsed).toBeGreaterThanOrEqual(300 - EARLY_MS);
    expect(elapsed).toBeLessThan(300 + LATE_MS);
  });

  it("should keep order under jitter and not reduce throughput", async () => {
    const { addToxic, client } = await setup();
    await addToxic({ type: "latency", stream: "downstream", attributes: { latency: 50, jitter: 40 } });
    const c = await client();
    const messages = Array.from({ length: 200 }, (_, i) => `<${i}>`);
    for (const message of messages) await c.write(message);
    const payload = pattern(4 * 1024 * 1024, 3);
    const startedAt = performance.now();
    await c.write(payload);
    const expected = Buffer.concat([Buffer.from(messages.join("")), payload]);
    const doneAt = await readAt(c, expected.length);
    expect(c.received.equals(expected)).toBe(true);
    // 4 MB arrive in dozens of chunks; were the delays added up per chunk this would take seconds.
    expect(doneAt - startedAt).toBeLessThan(1_500);
  });
});

describe("bandwidth toxic", () => {
  for (const stream of ["upstream", "downstream"] as const) {
    it(`should limit the ${stream} to rate KB/s, byte-exact`, async () => {
      const { addToxic, client } = await setup();
      await addToxic({ type: "bandwidth", stream, attributes: { rate: 1000 } });
      const c = await client();
      const payload = pattern(200_000, 9);
      const sentAt = performance.now();
      await c.write(payload);
      const elapsed = (await readAt(c, payload.length)) - sentAt;
      expect(c.received.equals(payload)).toBe(true);
      expect(elapsed).toBeGreaterThanOrEqual(200 - EARLY_MS);
      expect(elapsed).toBeLessThan(200 + LATE_MS);
    });
  }
});

describe("slow_close toxic", () => {
  it("should hold the close back by delay on the downstream", async () => {
    const { addToxic, client } = await setup();
    await addToxic({ type: "slow_close", stream: "downstream", attributes: { delay: 200 } });
    const c = await client();
    await c.write("data");
    await readAt(c, 4);
    const endedAt = performance.now();
    c.socket.end();
    await expect.poll(() => c.ended, POLL).toBe(true);
    const elapsed = performance.now() - endedAt;
    expect(elapsed).toBeGreaterThanOrEqual(200 - EARLY_MS);
    expect(elapsed).toBeLessThan(200 + LATE_MS + 20);
    expect(c.received.toString()).toBe("data");
  });

  it("should hold the close back by delay on the upstream", async () => {
    const { addToxic, client, echo } = await setup();
    await addToxic({ type: "slow_close", stream: "upstream", attributes: { delay: 200 } });
    const c = await client();
    const endedAt = performance.now();
    c.socket.end();
    await expect.poll(() => echo.connections[0]?.ended, POLL).toBe(true);
    expect(performance.now() - endedAt).toBeGreaterThanOrEqual(200 - EARLY_MS);
  });
});

describe("timeout toxic", () => {
  it("should drop downstream data and close after timeout ms of silence", async () => {
    const { addToxic, client, echo } = await setup();
    await addToxic({ type: "timeout", stream: "downstream", attributes: { timeout: 200 } });
    const c = await client();
    const sentAt = performance.now();
    await c.write("lost");
    await expect.poll(() => c.ended, POLL).toBe(true);
    const elapsed = performance.now() - sentAt;
    expect(elapsed).toBeGreaterThanOrEqual(200 - EARLY_MS);
    expect(elapsed).toBeLessThan(200 + LATE_MS + 50);
    expect(c.bytes).toBe(0);
    expect(echo.connections[0]!.bytes).toBe(4);
  });

  it("should black-hole the upstream with timeout 0, keep the socket open, and close when removed", async () => {
    const { addToxic, client, echo, proxy } = await setup();
    await addToxic({ type: "timeout", stream: "upstream", attributes: { timeout: 0 } });
    const c = await client();
    await expect.poll(() => echo.connections.length, POLL).toBe(1);
    await c.write("dropped one");
    await c.write("dropped two");
    // Proof that time passed with the socket open: a second connection's round trip through another proxy path.
    const witness = await RecordingClient.connect(Number(proxy.listen.split(":")[1]));
    onTestFinished(() => witness.close());
    await expect.poll(() => echo.connections.length, POLL).toBe(2);
    expect(echo.connections[0]!.bytes).toBe(0);
    expect(c.ended).toBe(false);
    expect(c.closed).toBe(false);
    await (await proxy.getToxic("timeout_upstream")).remove();
    await expect.poll(() => c.ended, { timeout: 1_000, interval: 5 }).toBe(true);
    await expect.poll(() => echo.connections[0]!.ended || echo.connections[0]!.closed, { timeout: 1_000, interval: 5 }).toBe(true);
    expect(echo.connections[0]!.bytes).toBe(0);
  });

  it("should pass data with toxicity 0, then close after an update to toxicity 1 timeout 100", async () => {
    const { addToxic, client, proxy } = await setup();
    await addToxic({ type: "timeout", stream: "downstream", toxicity: 0, attributes: { timeout: 0 } });
    const c = await client();
    await c.write("through");
    await readAt(c, 7);
    await (await proxy.getToxic("timeout_downstream")).update({ toxicity: 1, attributes: { timeout: 100 } } as never);
    const sentAt = performance.now();
    await c.write("again");
    await expect.poll(() => c.ended, POLL).toBe(true);
    expect(performance.now() - sentAt).toBeLessThan(150 + LATE_MS);
    expect(c.received.toString()).toBe("through");
  });
});

describe("reset_peer toxic", () => {
  const CASES = [
    { stream: "upstream", timeout: 0 },
    { stream: "upstream", timeout: 100 },
    { stream: "downstream", timeout: 100 },
  ] as const;
  for (const { stream, timeout } of CASES) {
    it(`should reset the connection (ECONNRESET) ${timeout} ms after the first ${stream} data`, async () => {
      const { addToxic, client } = await setup();
      await addToxic({ type: "reset_peer", stream, attributes: { timeout } });
      const c = await client();
      const sentAt = performance.now();
      await c.write("a line\n");
      await expect.poll(() => c.errorCode, POLL).toBe("ECONNRESET");
      const elapsed = performance.now() - sentAt;
      expect(elapsed).toBeGreaterThanOrEqual(timeout - EARLY_MS);
      expect(elapsed).toBeLessThan(timeout + LATE_MS);
      expect(c.bytes).toBe(0);
      await expect.poll(() => c.closed, POLL).toBe(true);
    });
  }
});

describe("slicer toxic", () => {
  for (const stream of ["upstream", "downstream"] as const) {
    it(`should slice the ${stream} into delayed pieces, byte-exact`, async () => {
      const { addToxic, client, echo } = await setup();
      // delay is in µs: pieces 10 ms apart, so that only a reader (or proxy) stalled for more than 100 ms at a time
      // joins enough pieces into one read to pass 3 reads or fewer (2 ms apart, a CI run saw 2 reads).
      await addToxic({ type: "slicer", stream, attributes: { average_size: 100, size_variation: 50, delay: 10_000 } });
      const c = await client();
      const payload = pattern(2_000, 5);
      const sentAt = performance.now();
      await c.write(payload);
      await readAt(c, payload.length);
      const elapsed = performance.now() - sentAt;
      expect(c.received.equals(payload)).toBe(true);
      const sliced = stream === "downstream" ? c.arrivals.length : echo.connections[0]!.data.length;
      expect(sliced).toBeGreaterThan(3);
      // Pieces of at most 150 bytes: at least 14 of them, 13 gaps of 10 ms however the reads were joined.
      expect(elapsed).toBeGreaterThanOrEqual(130 - EARLY_MS);
    });
  }
});

describe("limit_data toxic", () => {
  it("should pass at most bytes downstream, cut the crossing chunk, then close", async () => {
    const { addToxic, client } = await setup();
    await addToxic({ type: "limit_data", stream: "downstream", attributes: { bytes: 100 } });
    const c = await client();
    await c.write(pattern(90, 1));
    await readAt(c, 90);
    await c.write(pattern(20, 2));
    await expect.poll(() => c.ended, POLL).toBe(true);
    expect(c.received.equals(Buffer.concat([pattern(90, 1), pattern(10, 2)]))).toBe(true);
  });

  it("should pass exactly bytes upstream and then close", async () => {
    const { addToxic, client, echo } = await setup();
    await addToxic({ type: "limit_data", stream: "upstream", attributes: { bytes: 100 } });
    const c = await client();
    for (let i = 0; i < 4; i++) await c.write(pattern(25, i));
    await expect.poll(() => c.ended, POLL).toBe(true);
    expect(echo.connections[0]!.bytes).toBe(100);
  });

  it("should close on the first data with bytes 0", async () => {
    const { addToxic, client, echo } = await setup();
    await addToxic({ type: "limit_data", stream: "upstream", attributes: { bytes: 0 } });
    const c = await client();
    await expect.poll(() => echo.connections.length, POLL).toBe(1);
    expect(c.ended).toBe(false);
    await c.write("x");
    await expect.poll(() => c.ended, POLL).toBe(true);
    expect(echo.connections[0]!.bytes).toBe(0);
  });
});

describe("noop toxic", () => {
  it("should pass data through both ways", async () => {
    const { addToxic, client } = await setup();
    await addToxic({ type: "noop", stream: "upstream" });
    await addToxic({ type: "noop", stream: "downstream" });
    const c = await client();
    const payload = pattern(100_000, 4);
    await c.write(payload);
    await readAt(c, payload.length);
    expect(c.received.equals(payload)).toBe(true);
  });
});
