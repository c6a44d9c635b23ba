/**
 * The registry's Lua scripts. Every script builds its keys with {@link LUA_KEY_FUNCTIONS} from the prefix and the
 * hash-tag flag it receives, and touches only one session's keys unless `full` is `"1"` (standalone Redis), in which
 * case it also writes the global indexes, so one script is one atomic write of everything. On Redis Cluster the
 * scripts run with `full = "0"` and the first declared key routes them to the session's slot; the global indexes
 * are then written with {@link INDEX_ADD_SCRIPT} and plain single-key commands.
 *
 * Records carry `expires_at` (epoch ms, equal to their index scores): a record is live while it exists and
 * `expires_at > now`, where `now` is the caller's clock passed to the script.
 * @internal
 */
import { LUA_KEY_FUNCTIONS } from "./keys.js";

/** Field order of records as scripts return them (`HMGET`). */
export const RECORD_FIELDS = [
  "websocket_id",
  "session_id",
  "tenant_id",
  "agent_type",
  "pillar",
  "instance_id",
  "connected_at",
  "last_activity_at",
  "expires_at",
] as const;

/**
 * \`raise_ttl(key, ttls)\`: raises a key's TTL to \`ttls\` ms (a string) when that is longer, never lowers it, and
 * gives one to a key that has none (made by the calling script's ZADD). In the common case, a TTL raised, that is
 * one \`PEXPIRE ... GT\` where \`PTTL\` then \`PEXPIRE\` were two commands; each command a script calls costs Redis
 * more in the call than in the command. GT leaves a key without TTL alone (Redis counts it as infinite), hence the
 * \`PTTL\` when GT changed nothing.
 */
const RAISE_TTL = `
local function raise_ttl(key, ttls)
  if redis.call('PEXPIRE', key, ttls, 'GT') == 0 and redis.call('PTTL', key) == -1 then redis.call('PEXPIRE', key, ttls) end
end
`;

const HELPERS = `${LUA_KEY_FUNCTIONS}${RAISE_TTL}
-- key -> { score, member, ... } and its length: the members a script adds to a key go out in one ZADD per key (in
-- chunks: unpack() has a stack limit) when it calls flush_indexes().
local adds, addn = {}, {}
-- Name registries written by this script.
local named, nkeys = {}, {}
-- Gathers a member scored by its expiry, after pruning the key's expired members (once per script and key).
-- \`exp\` and \`nows\` are strings.
local function index_add(key, member, exp, nows)
  local n = addn[key]
  if not n then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', nows)
    n = 0
    adds[key] = {}
  end
  local m = adds[key]
  m[n + 1] = exp; m[n + 2] = member
  n = n + 2
  if n >= 1000 then redis.call('ZADD', key, unpack(m, 1, n)); n = 0 end
  addn[key] = n
end
-- Name registries keep each name scored by the latest expiry of its members (one \`exp\` per script, so one
-- ZADD GT per name); sweep() prunes them.
local function global_add(p, fields, w, exp, nows)
  for i, kind in ipairs(KINDS) do
    index_add(k_gindex(p, kind, fields[i]), w, exp, nows)
    local nk = kind .. ':' .. fields[i]
    if not named[nk] then
      local key = k_names(p, kind)
      redis.call('ZADD', key, 'GT', exp, fields[i])
      named[nk] = true
      nkeys[key] = true
    end
  end
end
-- Writes the gathered members and keeps every index's and name registry's own TTL at least \`ttls\` (every write of
-- one script uses one TTL), so that no key outlives its longest-lived member: a key whose writers all died expires
-- with its last member. \`ttls\` is a string: Redis 7.0 formats a number argument of redis.call with
-- snprintf("%.17g").
local function flush_indexes(ttls)
  for key, n in pairs(addn) do
    if n > 0 then redis.call('ZADD', key, unpack(adds[key], 1, n)) end
    raise_ttl(key, ttls)
  end
  for key in pairs(nkeys) do raise_ttl(key, ttls) end
end
`;

/** Reply codes of {@link WRITE_SCRIPT}, one per record. */
export const WRITE_REPLY = Object.freeze({
  /** Written; no live record of this websocket id existed in the session. */
  CREATED: 0,
  /** Written over a live record of the session (a repoint kept its agent type, pillar and connected_at). */
  EXISTED: 1,
  /** Refused, nothing written: the session (or the live record) belongs to another tenant. */
  FORBIDDEN: -1,
  /** Refused, nothing written: the websocket id has a live record in another session. */
  CONFLICT: -2,
});

/**
 * A write script prunes the indexes it touches (its session indexes and global indexes, once per key) about once in
 * this many scripts (when `now` is a multiple of it), single writes and batches alike: a prune is one more command
 * per key, and every other prune of a script finds nothing to remove when the gateways unregister their closed
 * connections. Readers never depend on pruning (they filter by score); unregisters and heartbeats prune the session
 * indexes they touch every time, and `sweep()` prunes every global index.
 */
export const WRITE_PRUNE_EVERY = 8;

/** Separator of the values of {@link WRITE_SCRIPT}'s packed records (ids never contain control characters). */
export const WRITE_FIELD_SEPARATOR = "\n";

/**
 * Register or repoint connections (standalone: a batch of them, atomically; Cluster: one, in its session's slot).
 * KEYS[1] session index of the first record (routing only).
 * ARGV: prefix, hashTags, full, now, sessionTtl, then the records packed into one string: per
 * record 10 values, each followed by `\n`: mode ("register" | "repoint" | "create": a registration of a websocket
 * id the caller minted just now, whose old record is not read), ttl, websocket_id, session_id,
 * tenant_id, agent_type, pillar, instance_id, connected_at, last_activity_at. One packed argument instead of ten
 * per record costs the client one string join rather than ten RESP values per record, and the script one pattern
 * match per record.
 *
 * Costs per record: owner read (once per session), HMGET of the old record (not for "create"), SET ... GET of the
 * reverse index, HSET of all fields, PEXPIRE. Index members are gathered per key and written with one ZADD per key
 * and batch (after one prune per key in about one batch of {@link WRITE_PRUNE_EVERY}). Every number handed to Redis
 * is a string: Redis 7.0 formats a Lua number argument with `%.17g`, which cost about a sixth of the script's
 * instructions (callgrind) when scores, TTLs and `expires_at` went as numbers.
 *
 * Returns one flat array; per record a {@link WRITE_REPLY} code, followed (repoint of a live record only) by the
 * kept agent_type, pillar and connected_at and the instance_id the record named before (so that a resume learns
 * which instance to tell in the same round trip), followed (Cluster, `full = "0"`, written records only) by the four stale
 * global index names (agent type, pillar, instance, tenant) that still list the websocket id under an old value,
 * or `""` where none. On standalone Redis a websocket id whose reverse index names another session with a live
 * record is refused (`CONFLICT`); on Cluster the caller checks that before the script (other slots).
 */
export const WRITE_SCRIPT = `${LUA_KEY_FUNCTIONS}${RAISE_TTL}
local call = redis.call
local p, h, full = ARGV[1], ARGV[2], ARGV[3] == '1'
local now, sttls = tonumber(ARGV[4]), ARGV[5]
local sttl = tonumber(sttls)
local owners, touched = {}, {}
-- Per distinct TTL (a string, as received): the TTL as a number and the expiry as a string.
local ttln, expstr = {}, {}
-- key -> { score, member, ... } and its length, written with one ZADD per key. kttl/kttls: the longest TTL written
-- to a key (number and string); fresh: session keys of sessions that had no owner (so no index, state or prune).
local adds, addn, kttl, kttls, fresh = {}, {}, {}, {}, {}
local gkeys = { {}, {}, {}, {} }
local names = { {}, {}, {}, {} }
local out, no = {}, 0
local NONE = {}
-- The indexes this script touches are pruned about once in ${WRITE_PRUNE_EVERY} scripts.
local prune = now % ${WRITE_PRUNE_EVERY} == 0
local function flush(key)
  local n = addn[key]
  if n > 0 then call('ZADD', key, unpack(adds[key], 1, n)) end
  addn[key] = 0
end
local function add(key, w, exps, ttl, ttls, prune)
  local n = addn[key]
  if not n then
    n = 0
    adds[key] = {}
    if prune then call('ZREMRANGEBYSCORE', key, '-inf', now) end
  end
  local m = adds[key]
  m[n + 1] = exps; m[n + 2] = w
  addn[key] = n + 2
  if (kttl[key] or 0) < ttl then kttl[key] = ttl; kttls[key] = ttls end
  -- unpack() has a stack limit: huge batches go out in chunks.
  if n + 2 >= 1000 then flush(key) end
end
local function gkey(i, name)
  local k = gkeys[i][name]
  if not k then k = k_gindex(p, KINDS[i], name); gkeys[i][name] = k end
  return k
end
local function gadd(i, name, w, exps, expn, ttl, ttls)
  local k = gkeys[i][name]
  if not k then k = k_gindex(p, KINDS[i], name); gkeys[i][name] = k end
  add(k, w, exps, ttl, ttls, prune)
  local nk = names[i]
  if (nk[name] or 0) < expn then nk[name] = expn end
end
-- Session index key per session id (built once per batch).
local sindex = {}
-- Pending members go first, so that this removal is not undone by them.
local function unindex(i, name, w)
  local gk = gkey(i, name)
  if addn[gk] then flush(gk) end
  call('ZREM', gk, w)
end

for mode, ttls, w, s, t, a, pl, inst, ca, la in string.gmatch(ARGV[6], '(%a+)\\n(%d+)\\n([^\\n]+)\\n([^\\n]+)\\n([^\\n]+)\\n([^\\n]+)\\n([^\\n]+)\\n([^\\n]+)\\n(%d+)\\n(%d+)\\n') do
  local ttl = ttln[ttls]
  if not ttl then
    ttl = tonumber(ttls)
    ttln[ttls] = ttl
    expstr[ttls] = string.format('%d', now + ttl)
  end
  local exps, expn = expstr[ttls], now + ttl
  -- Owners are read once per session and batch; a claim made earlier in the batch counts.
  local owner = owners[s]
  if owner == nil then owner = call('GET', k_owner(p, h, s)); owners[s] = owner end
  local code = 0
  local rk, old
  if owner and owner ~= t then
    code = -1
  else
    rk = k_conn(p, h, s, w)
    -- 'create': the caller minted the websocket id just now, so there is no old record to read.
    old = mode == 'create' and NONE or call('HMGET', rk, 'tenant_id', 'agent_type', 'pillar', 'instance_id', 'connected_at', 'expires_at')
    -- The owner key may have expired while a record of another tenant still stands: the record wins.
    if old[1] and old[6] and tonumber(old[6]) > now then
      if old[1] ~= t then code = -1 else code = 1 end
    end
  end
  if code >= 0 and full then
    -- The reverse index is written first (SET ... GET returns the old value in the same command); a live record of
    -- the websocket id in another session refuses the write and the reverse index is put back with that record's TTL.
    local rev = k_reverse(p, w)
    local rs = call('SET', rev, s, 'PX', ttls, 'GET')
    if rs and rs ~= s then
      local ork = k_conn(p, h, rs, w)
      local oexp = call('HGET', ork, 'expires_at')
      if oexp and tonumber(oexp) > now then
        local left = call('PTTL', ork)
        if left > 0 then call('SET', rev, rs, 'PX', tostring(left)) else call('DEL', rev) end
        code = -2
      end
    end
  end
  no = no + 1
  out[no] = code
  if code >= 0 then
    if mode == 'repoint' and code == 1 then
      a, pl, ca = old[2], old[3], old[5]
      out[no + 1] = a; out[no + 2] = pl; out[no + 3] = ca; out[no + 4] = old[4] or ''
      no = no + 4
    end
    call('HSET', rk, 'websocket_id', w, 'session_id', s, 'tenant_id', t, 'agent_type', a, 'pillar', pl,
      'instance_id', inst, 'connected_at', ca, 'last_activity_at', la, 'expires_at', exps)
    call('PEXPIRE', rk, ttls)
    local si = sindex[s]
    if not si then si = k_sindex(p, h, s); sindex[s] = si end
    local ottls = sttl >= ttl and sttls or ttls
    if touched[s] ~= ottls then
      local okey = k_owner(p, h, s)
      if owner then
        call('PEXPIRE', okey, ottls)
        call('PEXPIRE', k_state(p, h, s), sttls)
      else
        -- No owner: the session is new, since the owner outlives its state and index (every write gives it the
        -- longest TTL), so there is no state to refresh and no index to prune.
        call('SET', okey, t, 'PX', ottls)
        owners[s] = t
        fresh[si] = true
      end
      touched[s] = ottls
    end
    add(si, w, exps, ttl, ttls, prune and not fresh[si])
    local oa, opl, oi, ot
    if old then oa, opl, oi, ot = old[2], old[3], old[4], old[1] end
    if full then
      if oa and oa ~= a then unindex(1, oa, w) end
      if opl and opl ~= pl then unindex(2, opl, w) end
      if oi and oi ~= inst then unindex(3, oi, w) end
      if ot and ot ~= t then unindex(4, ot, w) end
      gadd(1, a, w, exps, expn, ttl, ttls)
      gadd(2, pl, w, exps, expn, ttl, ttls)
      gadd(3, inst, w, exps, expn, ttl, ttls)
      gadd(4, t, w, exps, expn, ttl, ttls)
    else
      out[no + 1] = (oa and oa ~= a) and oa or ''
      out[no + 2] = (opl and opl ~= pl) and opl or ''
      out[no + 3] = (oi and oi ~= inst) and oi or ''
      out[no + 4] = (ot and ot ~= t) and ot or ''
      no = no + 4
    end
  end
end
-- Every index keeps a TTL at least its longest-lived member's: raised, never lowered.
for key in pairs(adds) do
  flush(key)
  if fresh[key] then
    -- NX sets the TTL of the key just made; GT raises one that a lost owner left behind.
    if call('PEXPIRE', key, kttls[key], 'NX') == 0 then call('PEXPIRE', key, kttls[key], 'GT') end
  else
    raise_ttl(key, kttls[key])
  end
end
for i, nk in pairs(names) do
  local nkey = k_names(p, KINDS[i])
  local latest
  for name, expn in pairs(nk) do
    call('ZADD', nkey, 'GT', string.format('%d', expn), name)
    if not latest or expn > latest then latest = expn end
  end
  if latest then raise_ttl(nkey, string.format('%d', latest - now)) end
end
return out
`;

/**
 * Unregister connections of the callers' tenants (standalone: a batch of them, atomically; Cluster: one, in its
 * session's slot).
 * KEYS[1] session index of the first item (routing only). ARGV: prefix, hashTags, full, now, keepAgentType ('1':
 * leave the agent type index member behind; negative control `stale-index` only), then the items packed into one
 * string: per item tenant, session, websocket and ifInstance ('' = any), each followed by `\n`.
 * Returns one flat array; per item `0` if absent, `-1` if another tenant's or `-2` if held by another instance than
 * ifInstance (both left alone), else `1, live, agent_type, pillar, instance, tenant`.
 *
 * Items are checked and removed one by one in order (a websocket id removed earlier in the batch is absent for a
 * later item); the index removals are gathered per key and sent as one `ZREM` per key at the end of the script,
 * which no other client can observe in between, and each session index is pruned once per batch.
 */
export const UNREGISTER_SCRIPT = `${LUA_KEY_FUNCTIONS}
local call = redis.call
local p, h, full, nows = ARGV[1], ARGV[2], ARGV[3] == '1', ARGV[4]
local now = tonumber(nows)
-- key -> { member, ... } and its length, removed with one ZREM per key (in chunks: unpack() has a stack limit).
local rems, remn, pruned = {}, {}, {}
local function rem(key, w)
  local n = remn[key]
  if not n then n = 0; rems[key] = {} end
  local m = rems[key]
  n = n + 1
  m[n] = w
  if n >= 1000 then call('ZREM', key, unpack(m, 1, n)); n = 0 end
  remn[key] = n
end
local gkeys = { {}, {}, {}, {} }
local function grem(i, name, w)
  local k = gkeys[i][name]
  if not k then k = k_gindex(p, KINDS[i], name); gkeys[i][name] = k end
  rem(k, w)
end
local keep_agent = ARGV[5] == '1'
local out, no = {}, 0
for t, s, w, ifi in string.gmatch(ARGV[6], '([^\\n]+)\\n([^\\n]+)\\n([^\\n]+)\\n([^\\n]*)\\n') do
  local rk = k_conn(p, h, s, w)
  local si = k_sindex(p, h, s)
  local f = call('HMGET', rk, 'tenant_id', 'agent_type', 'pillar', 'instance_id', 'expires_at')
  no = no + 1
  if not f[1] then
    rem(si, w)
    out[no] = 0
  elseif f[1] ~= t then
    out[no] = -1
  elseif ifi ~= '' and f[4] ~= ifi then
    out[no] = -2
  else
    call('DEL', rk)
    rem(si, w)
    if not pruned[si] then
      call('ZREMRANGEBYSCORE', si, '-inf', nows)
      pruned[si] = true
    end
    local live = (f[5] and tonumber(f[5]) > now) and 1 or 0
    if full then
      if f[2] and not keep_agent then grem(1, f[2], w) end
      if f[3] then grem(2, f[3], w) end
      if f[4] then grem(3, f[4], w) end
      grem(4, f[1], w)
      local rev = k_reverse(p, w)
      if call('GET', rev) == s then call('DEL', rev) end
    end
    out[no] = 1; out[no + 1] = live; out[no + 2] = f[2]; out[no + 3] = f[3]; out[no + 4] = f[4]; out[no + 5] = f[1]
    no = no + 5
  end
end
for key, n in pairs(remn) do
  if n > 0 then call('ZREM', key, unpack(rems[key], 1, n)) end
end
return out
`;

/**
 * Refresh the TTLs (and optionally `last_activity_at`) of many connections.
 * KEYS[1] a session index (routing only on Redis Cluster, where all entries share that session).
 * ARGV: prefix, hashTags, full, now, ttl, exp, sessionTtl, tenant ('' = any), then triples of
 * session, websocket, last_activity_at ('' = unchanged).
 * Returns one element per entry: 0 when the record is gone (or another tenant's); 1 when refreshed and `full`;
 * else `{agent_type, pillar, instance, tenant}` for the caller to refresh the global indexes.
 *
 * Costs per entry `HMGET`, `HSET`, `PEXPIRE` and (standalone) the reverse index's `SET`; per session the owner and
 * state TTLs; per index key one prune, one `ZADD` of every member the script refreshes in it and one TTL raise; per
 * name one `ZADD GT`. With a `ZADD` per entry and index (five per entry) and `PTTL` then `PEXPIRE` per key, a
 * heartbeat of 1,000 connections cost Redis 37-39 µs of CPU per connection against 28 µs
 * (`npm run bench -- registry`, 2026-12-05).
 */
export const HEARTBEAT_SCRIPT = `${HELPERS}
local p, h, full = ARGV[1], ARGV[2], ARGV[3] == '1'
local nows, ttls, exp, sttls = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local now, ttl, sttl = tonumber(nows), tonumber(ttls), tonumber(sttls)
local tenant = ARGV[8]
-- Numbers go to Redis as strings (see flush_indexes).
local ottls = sttl >= ttl and sttls or ttls
local sessions = {}
local out = {}
for j = 9, #ARGV, 3 do
  local s, w, la = ARGV[j], ARGV[j + 1], ARGV[j + 2]
  local rk = k_conn(p, h, s, w)
  local f = redis.call('HMGET', rk, 'agent_type', 'pillar', 'instance_id', 'tenant_id', 'expires_at')
  if not f[4] or not f[5] or tonumber(f[5]) <= now or (tenant ~= '' and f[4] ~= tenant) then
    out[#out + 1] = 0
  else
    if la ~= '' then
      redis.call('HSET', rk, 'last_activity_at', la, 'expires_at', exp)
    else
      redis.call('HSET', rk, 'expires_at', exp)
    end
    redis.call('PEXPIRE', rk, ttls)
    index_add(k_sindex(p, h, s), w, exp, nows)
    if not sessions[s] then
      sessions[s] = true
      redis.call('PEXPIRE', k_owner(p, h, s), ottls)
      redis.call('PEXPIRE', k_state(p, h, s), sttls)
    end
    if full then
      global_add(p, { f[1], f[2], f[3], f[4] }, w, exp, nows)
      redis.call('SET', k_reverse(p, w), s, 'PX', ttls)
      out[#out + 1] = 1
    else
      out[#out + 1] = { f[1], f[2], f[3], f[4] }
    end
  end
end
flush_indexes(ttls)
return out
`;

/** Fields of a record in a {@link SESSION_CONNECTIONS_SCRIPT} reply, after its websocket id. */
export const LOOKUP_FIELDS = ["agent_type", "pillar", "instance_id", "connected_at", "last_activity_at"] as const;

/**
 * Live connections of sessions of the callers' tenants, optionally filtered (standalone: a batch of lookups;
 * Cluster: one, in its session's slot). Tenant, liveness and filters are applied here, so only matching records
 * travel.
 * KEYS[1] session index of the first lookup (routing only). ARGV: prefix, hashTags, now, then the lookups packed
 * into one string: per lookup tenant, session, agent_type filter ('' = any) and pillar filter ('' = any), each
 * followed by `\n`.
 * Returns one string of `\n`-separated values (ids never contain control characters): per lookup the number of
 * records, then per record its websocket_id and the {@link LOOKUP_FIELDS}. The session and tenant ids are the
 * caller's. One flat bulk string is far cheaper to build in Lua and to parse in Node than nested replies or JSON.
 *
 * Costs per lookup one ZRANGEBYSCORE and one HMGET per member; most of a lookup's instructions (callgrind) go to
 * turning these replies into Lua values, which no script can avoid. SORT ... GET of the same fields in one command
 * per session cost half as much again.
 */
export const SESSION_CONNECTIONS_SCRIPT = `${LUA_KEY_FUNCTIONS}
local call = redis.call
local p, h, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local min = '(' .. ARGV[3]
local out, no = {}, 0
for t, s, fa, fp in string.gmatch(ARGV[4], '([^\\n]+)\\n([^\\n]+)\\n([^\\n]*)\\n([^\\n]*)\\n') do
  local cp = k_conn(p, h, s, '')
  local mark = no + 1
  no = mark
  local n = 0
  -- Members scored in the future whose record exists are live: scores and expires_at are written together.
  local ws = call('ZRANGEBYSCORE', k_sindex(p, h, s), min, '+inf')
  for i = 1, #ws do
    local w = ws[i]
    local f = call('HMGET', cp .. w, 'tenant_id', ${LOOKUP_FIELDS.map((field) => `'${field}'`).join(", ")})
    if f[1] == t and f[6] and (fa == '' or f[2] == fa) and (fp == '' or f[3] == fp) then
      n = n + 1
      out[no + 1] = w; out[no + 2] = f[2]; out[no + 3] = f[3]; out[no + 4] = f[4]; out[no + 5] = f[5]; out[no + 6] = f[6]
      no = no + 6
    end
  end
  out[mark] = n
end
return table.concat(out, '\\n')
`;

/**
 * Merge a patch into a session's state, claiming the session for the tenant if unclaimed.
 * KEYS[1] owner, KEYS[2] state. ARGV: tenant, sessionTtl, then field/value pairs.
 * Returns -1 when the session belongs to another tenant, else 1.
 */
export const STATE_UPDATE_SCRIPT = `
local owner = redis.call('GET', KEYS[1])
if owner and owner ~= ARGV[1] then return -1 end
local ttl = tonumber(ARGV[2])
if owner then redis.call('PEXPIRE', KEYS[1], ttl, 'GT') else redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl) end
if #ARGV > 2 then redis.call('HSET', KEYS[2], unpack(ARGV, 3)) end
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('PEXPIRE', KEYS[2], ttl) end
return 1
`;

/**
 * Add one member to one global index, pruning its expired members (Redis Cluster: global indexes live in their own
 * slots), and keep the key's TTL at least the member's. KEYS[1] index. ARGV: member, exp, now[, ttl].
 */
export const INDEX_ADD_SCRIPT = `${RAISE_TTL}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
local added = redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
if ARGV[4] then raise_ttl(KEYS[1], ARGV[4]) end
return added
`;

/**
 * Raise one name registry's score of a name (ZADD GT) and keep the key's TTL at least \`ttl\` (Redis Cluster).
 * KEYS[1] name registry. ARGV: name, exp, ttl.
 */
export const NAME_ADD_SCRIPT = `${RAISE_TTL}
redis.call('ZADD', KEYS[1], 'GT', ARGV[2], ARGV[1])
raise_ttl(KEYS[1], ARGV[3])
return 1
`;

/** Delete KEYS[1] only if it holds ARGV[1] (the reverse index of a connection being removed). */
export const DELETE_IF_EQUAL_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;
