import { Cluster, Redis } from "ioredis";
import { createKeySchema, type KeyKind, type KeySchema } from "../common/key-schema.js";

const SCAN_COUNT = 1_000;
const COMMAND_TIMEOUT_MS = 2_000;
/** Commands per pipeline of an audit read (standalone): bounds the reply buffer of one round trip. */
const AUDIT_PIPELINE_CHUNK = 2_000;

/** Resolves once `client` is ready, or rejects after {@link COMMAND_TIMEOUT_MS}, naming its status. */
function onceReady(client: Cluster): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      client.off("ready", onReady);
      reject(new Error(`Redis Cluster of the registry reader not ready within ${COMMAND_TIMEOUT_MS}ms (status ${client.status})`));
    }, COMMAND_TIMEOUT_MS);
    client.once("ready", onReady);
  });
}

/** The index families a connection is a member of (docs/registry.md#key-schema). */
export const INDEX_FAMILIES = ["session_index", "agent_type_index", "pillar_index", "instance_index", "tenant_index"] as const;
/** One of {@link INDEX_FAMILIES}. */
export type IndexFamily = (typeof INDEX_FAMILIES)[number];
/** Where a connection can leave a trace in Redis: its record, its reverse key, its index members. */
export type ConnectionFamily = "record" | "reverse" | IndexFamily;

/**
 * The registry as one audit pass reads it: every key under the prefix with its kind and TTL, which websocket ids
 * have a record and a reverse key, and every live index member. Built from SCAN (COUNT 1,000) plus one pipelined
 * PTTL per key and one `ZRANGEBYSCORE key (t +inf` per index key (members only: formatting every score as text
 * made the replies of large global indexes cost Redis ten times more): a few round trips, no per-record HGETALL.
 */
export interface RegistrySnapshot {
  /** Epoch ms when the read started. */
  t: number;
  /** How long the read took, ms (the snapshot is not atomic: a key may change during this time). */
  read_ms: number;
  keys: { key: string; kind: KeyKind; ttl_ms: number }[];
  /** websocket id → session id, from the record keys' names. */
  records: Map<string, string>;
  /** websocket ids that have a reverse key. */
  reverse: Set<string>;
  /** Per index family: websocket ids that are a live member (scored after `t`) of some key of that family. */
  members: Record<IndexFamily, Set<string>>;
  /**
   * What this pass found but could not read (a command that failed: timed out, refused): not evidence either way,
   * so the audit leaves it unjudged in this pass. `keys`: how many keys; `records`, `reverse`: websocket ids whose
   * record or reverse key (found by the SCAN) went unread; `families`: index families with a key that went unread
   * (a member of it may be missing from `members`).
   */
  unread: { keys: number; records: Set<string>; reverse: Set<string>; families: Set<IndexFamily> };
}

/** A connection to look for, by its ids (`presence`). */
export interface ConnectionIds {
  websocket_id: string;
  session_id: string;
  agent_type: string;
  pillar: string;
  instance_id: string;
  tenant_id: string;
}

/** One connection record as found in Redis. */
export interface RegistryRecord {
  key: string;
  session_id: string;
  websocket_id: string;
  /** The hash's fields as stored (strings). */
  fields: Record<string, string>;
  /** Remaining TTL in ms (-1 none, -2 gone). */
  ttl_ms: number;
}

/** One member of an index sorted set; `expires_at` is its score (epoch ms). */
export interface IndexMember {
  member: string;
  expires_at: number;
}

/** The whole registry as stored in Redis at one moment (read key family by key family, not atomically). */
export interface RegistryState {
  /** Epoch ms when the read started. */
  t: number;
  records: RegistryRecord[];
  sessionIndexes: Record<string, IndexMember[]>;
  agentTypeIndexes: Record<string, IndexMember[]>;
  pillarIndexes: Record<string, IndexMember[]>;
  /** websocket id → session id (reverse index). */
  reverse: Record<string, string>;
  /** Keys under the prefix that match no family of the schema (session state, liveness keys, ...). */
  otherKeys: number;
}

/** Sizes of the registry, cheap enough to sample every second. */
export interface RegistryCounts {
  records: number;
  session_index_members: number;
  agent_type_index_members: number;
  pillar_index_members: number;
  reverse_keys: number;
  /** Records per `instance_id`. */
  by_instance: Record<string, number>;
}

/**
 * Redis commands that ran at least this long, in µs, go to its SLOWLOG, which the recorder reads every sample. Redis
 * runs one command at a time, so a command this long holds every other client of the SUT as long: 20 ms is far
 * above the sub-millisecond commands of a healthy registry and near a confirmed-ack p99 (the gateway's refresh
 * scripts of 1,000 records, 25-147 ms each, showed up here and nowhere else).
 */
export const SLOW_COMMAND_US = 20_000;
/** Entries Redis's SLOWLOG keeps between two reads (a second apart): more in one interval are counted as this many. */
const SLOWLOG_MAX_LEN = 1_024;
/** The reader's connection name (`CLIENT SETNAME`): its own slow reads (an audit's SCAN) are not the SUT's. */
export const HARNESS_CLIENT_NAME = "traffic-cop-harness";

/** Commands of the SUT's clients that Redis logged as slow ({@link SLOW_COMMAND_US}) since the previous read. */
export interface SlowCommands {
  count: number;
  /** The longest of them, ms (0 when none). */
  max_ms: number;
  /** Count per command name (lower case; a script by SHA1 is `evalsha` and the first 8 digits of its SHA1). */
  by_command: Record<string, number>;
}

/** How a SLOWLOG entry's command is counted: its name, and for `EVALSHA` which script (scripts differ in cost). */
function commandLabel(args: unknown): string {
  if (!Array.isArray(args) || typeof args[0] !== "string") return "?";
  const name = args[0].toLowerCase();
  if ((name === "evalsha" || name === "evalsha_ro") && typeof args[1] === "string") return `${name} ${args[1].slice(0, 8).toLowerCase()}`;
  return name;
}

/** Options of {@link RegistryReader}. */
export interface RegistryReaderOptions {
  /** Redis nodes, read directly (never through a fault proxy). */
  nodes: { host: string; port: number }[];
  /** Whether the nodes form a Redis Cluster. */
  cluster: boolean;
  /** Sentinel mode: read whichever node these sentinels name as the primary of `sentinelName`, across failovers. */
  sentinels?: { host: string; port: number }[];
  /** Sentinel mode: the monitored primary's name. @default "traffic-cop" */
  sentinelName?: string;
  /** Key prefix of the SUT. @default "traffic_cop" */
  keyPrefix?: string;
}

/**
 * Reads a SUT's registry straight from Redis through the key schema of docs/design.md (re-derived on the harness side).
 * The recorder samples its counts; checks read the full state. `close()` is idempotent.
 */
export class RegistryReader implements AsyncDisposable {
  readonly keys: KeySchema;
  readonly #client: Redis | Cluster;
  #closed = false;
  /** Nodes (`host:port`) whose SLOWLOG was read before: their log holds only what came since. */
  readonly #slowlogRead = new Set<string>();

  constructor(options: RegistryReaderOptions) {
    this.keys = createKeySchema(options.keyPrefix);
    const common = { lazyConnect: false, maxRetriesPerRequest: 1, commandTimeout: COMMAND_TIMEOUT_MS, enableOfflineQueue: true, connectionName: HARNESS_CLIENT_NAME } as const;
    this.#client = options.cluster
      ? new Cluster(options.nodes, { redisOptions: common })
      : options.sentinels
        ? new Redis({ ...common, sentinels: options.sentinels, name: options.sentinelName ?? "traffic-cop", role: "master", retryStrategy: () => 100, sentinelRetryStrategy: () => 100 })
        : new Redis({ ...common, host: options.nodes[0]!.host, port: options.nodes[0]!.port, retryStrategy: () => 100 });
    // Errors surface on the commands; an unhandled 'error' event would crash the harness during a Redis restart.
    this.#client.on("error", () => undefined);
  }

  /** Round-trip time of a PING in ms. */
  async ping(): Promise<number> {
    const t0 = performance.now();
    await this.#client.ping();
    return performance.now() - t0;
  }

  /**
   * The remaining TTL (ms, `PTTL`) of each instance's liveness key `P:instance:I:alive`: `-2` when the key is gone,
   * `-1` when it has no TTL.
   */
  async livenessTtls(instanceIds: readonly string[]): Promise<Record<string, number>> {
    const ttls = await Promise.all(instanceIds.map((id) => this.#client.pttl(this.keys.instanceAlive(id))));
    return Object.fromEntries(instanceIds.map((id, i) => [id, ttls[i]!]));
  }

  /**
   * The SUT's slow commands since the previous call, over every node read ({@link SLOW_COMMAND_US}). Each call (re)sets
   * the SLOWLOG's bound, so that a Redis restarted during the run logs again, then takes the log and empties it in one
   * transaction (nothing is logged in between, and no entry is read twice); a node's first call only turns it on.
   */
  async slowCommands(): Promise<SlowCommands> {
    const result: SlowCommands = { count: 0, max_ms: 0, by_command: {} };
    for (const node of await this.#scanTargets()) {
      const replies = await node
        .multi()
        .config("SET", "slowlog-log-slower-than", String(SLOW_COMMAND_US))
        .config("SET", "slowlog-max-len", String(SLOWLOG_MAX_LEN))
        .call("SLOWLOG", "GET", String(SLOWLOG_MAX_LEN))
        .call("SLOWLOG", "RESET")
        .exec();
      const [error, entries] = replies?.[2] ?? [];
      if (error || !Array.isArray(entries)) continue;
      const name = `${node.options.host ?? ""}:${String(node.options.port ?? "")}`;
      // What the log held before the first call predates the sampling (and Redis's own default bound).
      if (!this.#slowlogRead.has(name)) {
        this.#slowlogRead.add(name);
        continue;
      }
      for (const entry of entries as unknown[][]) {
        const [, , micros, args, , client] = entry;
        // Under the bound: logged at Redis's own default (10 ms) by a node restarted since the previous read.
        if (client === HARNESS_CLIENT_NAME || Number(micros) < SLOW_COMMAND_US) continue;
        const command = commandLabel(args);
        result.count++;
        result.max_ms = Math.max(result.max_ms, Math.round(Number(micros) / 100) / 10);
        result.by_command[command] = (result.by_command[command] ?? 0) + 1;
      }
    }
    return result;
  }

  /**
   * The nodes to SCAN: the standalone (or sentinel-named) server, or every master of the cluster's current slot map.
   * ioredis updates its map only on a MOVED reply or a failed command to a slot, and a SCAN (keyless, sent to a
   * node by hand) causes neither: once a killed master's connection has ended, the promoted replica would never be
   * scanned and a third of the registry would look lost for good. So every pass asks the cluster for the map first.
   */
  async #scanTargets(): Promise<Redis[]> {
    const client = this.#client;
    if (!(client instanceof Cluster)) return [client];
    // Before the first map (still connecting) the pool is empty: wait for the one that connecting fetches.
    if (client.status !== "ready") await onceReady(client);
    else await new Promise<void>((resolve, reject) => client.refreshSlotsCache((error) => (error ? reject(error) : resolve())));
    return client.nodes("master");
  }

  async #scanAll(pattern: string): Promise<string[]> {
    const masters = await this.#scanTargets();
    const keys: string[] = [];
    for (const node of masters) {
      let cursor = "0";
      do {
        const [next, batch] = await node.scan(cursor, "MATCH", pattern, "COUNT", SCAN_COUNT);
        cursor = next;
        keys.push(...batch);
      } while (cursor !== "0");
    }
    return keys;
  }

  #classify(keys: string[]) {
    const out = { records: [] as { key: string; sessionId: string; websocketId: string }[], session: [] as [string, string][], agent: [] as [string, string][], pillar: [] as [string, string][], reverse: [] as [string, string][], other: 0 };
    for (const key of keys) {
      const connection = this.keys.parseConnection(key);
      if (connection) {
        out.records.push({ key, ...connection });
        continue;
      }
      let id: string | null;
      if ((id = this.keys.parseMiddle(key, "session")) !== null) out.session.push([id, key]);
      else if ((id = this.keys.parseMiddle(key, "agent_type")) !== null) out.agent.push([id, key]);
      else if ((id = this.keys.parseMiddle(key, "pillar")) !== null) out.pillar.push([id, key]);
      else if ((id = this.keys.parseMiddle(key, "websocket")) !== null) out.reverse.push([id, key]);
      else out.other++;
    }
    return out;
  }

  /**
   * Sizes of every key family, and records per instance: one SCAN walk, then the ZCARDs and one HGET per record
   * pipelined in chunks (standalone) rather than one promise per command, which at 20,000 records cost the harness
   * more CPU than the replies.
   */
  async counts(): Promise<RegistryCounts> {
    const c = this.#classify(await this.#scanAll(`${this.keys.prefix}:*`));
    const indexes = [...c.session, ...c.agent, ...c.pillar].map(([, key]): [string, string] => ["zcard", key]);
    const replies = await this.#pipelined([...indexes, ...c.records.map((r): [string, string, string] => ["hget", r.key, "instance_id"])], true);
    const cards = replies.slice(0, indexes.length).map((reply) => (typeof reply === "number" ? reply : 0));
    const sum = (from: number, to: number) => cards.slice(from, to).reduce((a, b) => a + b, 0);
    const byInstance: Record<string, number> = {};
    for (const instance of replies.slice(indexes.length)) if (typeof instance === "string") byInstance[instance] = (byInstance[instance] ?? 0) + 1;
    const sessionEnd = c.session.length;
    const agentEnd = sessionEnd + c.agent.length;
    return {
      records: c.records.length,
      session_index_members: sum(0, sessionEnd),
      agent_type_index_members: sum(sessionEnd, agentEnd),
      pillar_index_members: sum(agentEnd, cards.length),
      reverse_keys: c.reverse.length,
      by_instance: byInstance,
    };
  }

  /**
   * The whole registry: one SCAN walk, then per record HGETALL and PTTL, per index key its members with scores
   * (ZRANGE WITHSCORES) and per reverse key GET, pipelined in chunks (standalone) like {@link counts}. One promise
   * per command (80,000 at 20,000 records, all in flight at once) took a release run's checks 16 s and 250 MB of
   * the harness's memory. Any failed command rejects the read.
   */
  async read(): Promise<RegistryState> {
    const t = Date.now();
    const c = this.#classify(await this.#scanAll(`${this.keys.prefix}:*`));
    const indexes = [...c.session, ...c.agent, ...c.pillar];
    const replies = await this.#pipelined(
      [
        ...c.records.flatMap((r): [string, string][] => [
          ["hgetall", r.key],
          ["pttl", r.key],
        ]),
        ...indexes.map(([, key]): [string, ...string[]] => ["zrange", key, "0", "-1", "WITHSCORES"]),
        ...c.reverse.map(([, key]): [string, string] => ["get", key]),
      ],
      true,
    );
    const records: RegistryRecord[] = [];
    c.records.forEach((r, i) => {
      const fields = replies[2 * i] as Record<string, string>;
      // A record gone since the SCAN reads as an empty hash.
      if (Object.keys(fields).length === 0) return;
      records.push({ key: r.key, session_id: r.sessionId, websocket_id: r.websocketId, fields, ttl_ms: replies[2 * i + 1] as number });
    });
    let at = 2 * c.records.length;
    const members = (list: [string, string][]) => {
      const out: Record<string, IndexMember[]> = {};
      for (const [id] of list) {
        const flat = replies[at++] as string[];
        const entries: IndexMember[] = [];
        for (let i = 0; i < flat.length; i += 2) entries.push({ member: flat[i]!, expires_at: Number(flat[i + 1]) });
        out[id] = entries;
      }
      return out;
    };
    const sessionIndexes = members(c.session);
    const agentTypeIndexes = members(c.agent);
    const pillarIndexes = members(c.pillar);
    const reverse: Record<string, string> = {};
    for (const [id] of c.reverse) {
      const value = replies[at++];
      if (typeof value === "string") reverse[id] = value;
    }
    return { t, records, sessionIndexes, agentTypeIndexes, pillarIndexes, reverse, otherKeys: c.other };
  }

  /**
   * Runs `commands` pipelined (standalone, in chunks) or concurrently (Cluster: keys span slots); `null` for a failed
   * one, or with `strict` the first failure rejects the whole call (a count that silently skipped a record could
   * hide one left behind).
   */
  async #pipelined(commands: [string, ...(string | number)[]][], strict = false): Promise<unknown[]> {
    const failed = (error: unknown) => {
      if (strict) throw error;
      return null;
    };
    if (this.#client instanceof Cluster) {
      const client = this.#client as unknown as Record<string, (...args: (string | number)[]) => Promise<unknown>>;
      return Promise.all(commands.map(([name, ...args]) => client[name]!.apply(this.#client, args).catch(failed)));
    }
    const out: unknown[] = [];
    for (let i = 0; i < commands.length; i += AUDIT_PIPELINE_CHUNK) {
      const replies = (await this.#client.pipeline(commands.slice(i, i + AUDIT_PIPELINE_CHUNK)).exec()) ?? [];
      for (const [error, value] of replies) out.push(error ? failed(error) : value);
    }
    return out;
  }

  /** One audit pass: every key with its kind and TTL, records, reverse keys and index members (see {@link RegistrySnapshot}). */
  async snapshot(): Promise<RegistrySnapshot> {
    const t = Date.now();
    const t0 = performance.now();
    const names = await this.#scanAll(`${this.keys.prefix}:*`);
    const kinds = names.map((key) => this.keys.classify(key));
    const indexAt: number[] = [];
    kinds.forEach((kind, i) => {
      if ((INDEX_FAMILIES as readonly string[]).includes(kind)) indexAt.push(i);
    });
    const replies = await this.#pipelined([
      ...names.map((key): [string, string] => ["pttl", key]),
      // Members past their score are dead by definition (readers filter them): only live ones are read.
      ...indexAt.map((i): [string, ...string[]] => ["zrangebyscore", names[i]!, `(${t}`, "+inf"]),
    ]);
    const members = Object.fromEntries(INDEX_FAMILIES.map((family) => [family, new Set<string>()])) as Record<IndexFamily, Set<string>>;
    const unread: RegistrySnapshot["unread"] = { keys: 0, records: new Set(), reverse: new Set(), families: new Set() };
    indexAt.forEach((i, k) => {
      const list = replies[names.length + k];
      if (!Array.isArray(list)) {
        unread.keys++;
        unread.families.add(kinds[i] as IndexFamily);
        return;
      }
      const family = members[kinds[i] as IndexFamily];
      for (const member of list) family.add(String(member));
    });
    const records = new Map<string, string>();
    const reverse = new Set<string>();
    const keys: RegistrySnapshot["keys"] = [];
    names.forEach((key, i) => {
      const ttl = replies[i];
      const kind = kinds[i]!;
      const record = kind === "connection" ? this.keys.parseConnection(key) : null;
      const reverseOf = kind === "reverse" ? this.keys.parseMiddle(key, "websocket") : null;
      // A failed PTTL (a command timed out while Redis or this process was busy) proves nothing: the key is unread,
      // neither present nor gone.
      if (typeof ttl !== "number") {
        unread.keys++;
        if (record) unread.records.add(record.websocketId);
        if (reverseOf !== null) unread.reverse.add(reverseOf);
        return;
      }
      // -2: gone since the SCAN.
      if (ttl === -2) return;
      keys.push({ key, kind, ttl_ms: ttl });
      if (record) records.set(record.websocketId, record.sessionId);
      if (reverseOf !== null) reverse.add(reverseOf);
    });
    return { t, read_ms: Math.round(performance.now() - t0), keys, records, reverse, members, unread };
  }

  /**
   * Which traces of each connection are still in Redis: its record, reverse key, and index members scored in the
   * future (a member past its score is dead by definition). Empty list: nothing left. One pipelined round trip.
   */
  async presence(connections: readonly ConnectionIds[]): Promise<ConnectionFamily[][]> {
    const now = Date.now();
    const tag = (s: string) => (this.#client instanceof Cluster ? `{${s}}` : s);
    const commands: [string, ...string[]][] = [];
    for (const c of connections) {
      commands.push(
        ["exists", this.keys.connection(tag(c.session_id), c.websocket_id)],
        ["exists", this.keys.reverse(c.websocket_id)],
        ["zscore", this.keys.sessionIndex(tag(c.session_id)), c.websocket_id],
        ["zscore", this.keys.agentTypeIndex(c.agent_type), c.websocket_id],
        ["zscore", this.keys.pillarIndex(c.pillar), c.websocket_id],
        ["zscore", this.keys.instanceIndex(c.instance_id), c.websocket_id],
        ["zscore", this.keys.tenantIndex(c.tenant_id), c.websocket_id],
      );
    }
    const replies = await this.#pipelined(commands);
    const families: ConnectionFamily[] = ["record", "reverse", ...INDEX_FAMILIES];
    return connections.map((_, n) =>
      families.filter((_family, f) => {
        const reply = replies[n * families.length + f];
        if (f < 2) return reply === 1 || reply === null;
        // A failed command counts as present: the connection is not proven gone.
        return reply === null ? false : Number(reply) > now;
      }),
    );
  }

  /**
   * The state hash of one session (`P:session:S:state`; on a cluster the hash-tagged form `P:session:{S}:state`),
   * `{}` when there is none.
   */
  async sessionState(sessionId: string): Promise<Record<string, string>> {
    const plain = await this.#client.hgetall(this.keys.sessionState(sessionId));
    if (Object.keys(plain).length > 0 || !(this.#client instanceof Cluster)) return plain;
    return this.#client.hgetall(this.keys.sessionState(`{${sessionId}}`));
  }

  /** Closes the connection(s). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#client.disconnect();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
