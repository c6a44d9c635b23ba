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

const HELPERS = `${LUA_KEY_FUNCTIONS}
local pruned = {}
-- Adds a member scored by its expiry and prunes expired members (once per script and key). With a TTL, keeps the
-- key's own TTL at least as long as its longest-lived member (session indexes, which no sweep reaches).
local function index_add(key, member, exp, now, ttl)
  if not pruned[key] then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
    pruned[key] = true
  end
  redis.call('ZADD', key, exp, member)
  if ttl and redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
end
local named = {}
-- Name registries keep each name scored by the latest expiry of its members; sweep() prunes them.
local function global_add(p, fields, w, exp, now)
  for i, kind in ipairs(KINDS) do
    index_add(k_gindex(p, kind, fields[i]), w, exp, now, nil)
    local nk = kind .. ':' .. fields[i]
    if named[nk] ~= exp then
      redis.call('ZADD', k_names(p, kind), 'GT', exp, fields[i])
      named[nk] = exp
    end
  end
end
local function global_rem(p, fields, w)
  for i, kind in ipairs(KINDS) do
    if fields[i] then redis.call('ZREM', k_gindex(p, kind, fields[i]), w) end
  end
end
`;

/**
 * Register or repoint connections (standalone: a batch of them, atomically; Cluster: one, in its session's slot).
 * KEYS[1] session index of the first record (routing only).
 * ARGV: prefix, hashTags, full, now, sessionTtl, then per record 10 values: mode ("register" | "repoint"), ttl,
 * websocket_id, session_id, tenant_id, agent_type, pillar, instance_id, connected_at, last_activity_at.
 * Returns one reply per record: `{-1}` when the session belongs to another tenant (nothing written for it), else
 * `{1, existed, agent_type, pillar, connected_at, expires_at, stale_agent_type, stale_pillar, stale_instance, stale_tenant}`
 * where the stale fields name global indexes that still list the websocket id under an old value (false if none).
 */
export const WRITE_SCRIPT = `${HELPERS}
local p, h, full = ARGV[1], ARGV[2], ARGV[3] == '1'
local now, sttl = tonumber(ARGV[4]), tonumber(ARGV[5])
local owners, touched, expiring = {}, {}, {}
local out = {}
for j = 6, #ARGV, 10 do
  local mode, ttl = ARGV[j], tonumber(ARGV[j + 1])
  local w, s, t, a, pl, inst, ca, la = ARGV[j + 2], ARGV[j + 3], ARGV[j + 4], ARGV[j + 5], ARGV[j + 6], ARGV[j + 7], ARGV[j + 8], ARGV[j + 9]
  local exp = now + ttl
  local okey = k_owner(p, h, s)
  -- Owners are read once per session and batch; a claim made earlier in the batch counts.
  local owner = owners[s]
  if owner == nil then owner = redis.call('GET', okey); owners[s] = owner end
  local rk = k_conn(p, h, s, w)
  local old = (owner and owner ~= t) and {} or redis.call('HMGET', rk, 'tenant_id', 'agent_type', 'pillar', 'instance_id', 'connected_at', 'expires_at')
  local existed = old[1] and old[6] and tonumber(old[6]) > now
  -- The owner key may have expired while a record of another tenant still stands: the record wins.
  if (owner and owner ~= t) or (existed and old[1] ~= t) then
    out[#out + 1] = {-1}
  else
    if mode == 'repoint' and existed then a, pl, ca = old[2], old[3], old[5] end
    redis.call('HSET', rk, 'websocket_id', w, 'session_id', s, 'tenant_id', t, 'agent_type', a, 'pillar', pl,
      'instance_id', inst, 'connected_at', ca, 'last_activity_at', la, 'expires_at', exp)
    redis.call('PEXPIRE', rk, ttl)
    local ottl = math.max(sttl, ttl)
    if touched[s] ~= ottl then
      if owner then redis.call('PEXPIRE', okey, ottl) else redis.call('SET', okey, t, 'PX', ottl); owners[s] = t end
      redis.call('PEXPIRE', k_state(p, h, s), sttl)
      touched[s] = ottl
    end
    local si = k_sindex(p, h, s)
    if expiring[si] == ttl then
      redis.call('ZADD', si, exp, w)
    else
      index_add(si, w, exp, now, ttl)
      expiring[si] = ttl
    end
    local stale = { false, false, false, false }
    if old[1] then
      local new = { a, pl, inst, t }
      local prev = { old[2], old[3], old[4], old[1] }
      for i = 1, 4 do if prev[i] and prev[i] ~= new[i] then stale[i] = prev[i] end end
    end
    if full then
      global_rem(p, stale, w)
      global_add(p, { a, pl, inst, t }, w, exp, now)
      redis.call('SET', k_reverse(p, w), s, 'PX', ttl)
      out[#out + 1] = { 1, existed and 1 or 0, a, pl, ca, exp }
    else
      out[#out + 1] = { 1, existed and 1 or 0, a, pl, ca, exp, stale[1], stale[2], stale[3], stale[4] }
    end
  end
end
return out
`;

/**
 * Unregister one connection of the caller's tenant.
 * KEYS[1] session index (routing only). ARGV: prefix, hashTags, full, now, tenant, session, websocket,
 * ifInstance ('' = any).
 * Returns `{0}` if absent, `{-1}` if another tenant's or `{-2}` if held by another instance than ifInstance (both
 * left alone), else `{1, live, agent_type, pillar, instance, tenant}`.
 */
export const UNREGISTER_SCRIPT = `${HELPERS}
local p, h, full, now = ARGV[1], ARGV[2], ARGV[3] == '1', tonumber(ARGV[4])
local t, s, w, ifi = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local rk = k_conn(p, h, s, w)
local si = k_sindex(p, h, s)
local f = redis.call('HMGET', rk, 'tenant_id', 'agent_type', 'pillar', 'instance_id', 'expires_at')
if not f[1] then
  redis.call('ZREM', si, w)
  return {0}
end
if f[1] ~= t then return {-1} end
if ifi ~= '' and f[4] ~= ifi then return {-2} end
redis.call('DEL', rk)
redis.call('ZREM', si, w)
redis.call('ZREMRANGEBYSCORE', si, '-inf', now)
local live = (f[5] and tonumber(f[5]) > now) and 1 or 0
if full then
  global_rem(p, { f[2], f[3], f[4], f[1] }, w)
  local rev = k_reverse(p, w)
  if redis.call('GET', rev) == s then redis.call('DEL', rev) end
end
return { 1, live, f[2], f[3], f[4], f[1] }
`;

/**
 * Refresh the TTLs (and optionally `last_activity_at`) of many connections.
 * KEYS[1] a session index (routing only on Redis Cluster, where all entries share that session).
 * ARGV: prefix, hashTags, full, now, ttl, exp, sessionTtl, tenant ('' = any), then triples of
 * session, websocket, last_activity_at ('' = unchanged).
 * Returns one element per entry: 0 when the record is gone (or another tenant's); 1 when refreshed and `full`;
 * else `{agent_type, pillar, instance, tenant}` for the caller to refresh the global indexes.
 */
export const HEARTBEAT_SCRIPT = `${HELPERS}
local p, h, full = ARGV[1], ARGV[2], ARGV[3] == '1'
local now, ttl, exp, sttl = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6], tonumber(ARGV[7])
local tenant = ARGV[8]
local ottl = math.max(sttl, ttl)
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
    redis.call('PEXPIRE', rk, ttl)
    index_add(k_sindex(p, h, s), w, exp, now, ttl)
    if not sessions[s] then
      sessions[s] = true
      redis.call('PEXPIRE', k_owner(p, h, s), ottl)
      redis.call('PEXPIRE', k_state(p, h, s), sttl)
    end
    if full then
      global_add(p, { f[1], f[2], f[3], f[4] }, w, exp, now)
      redis.call('SET', k_reverse(p, w), s, 'PX', ttl)
      out[#out + 1] = 1
    else
      out[#out + 1] = { f[1], f[2], f[3], f[4] }
    end
  end
end
return out
`;

/**
 * Live connections of sessions of the callers' tenants, optionally filtered (standalone: a batch of lookups;
 * Cluster: one, in its session's slot).
 * KEYS[1] session index of the first lookup (routing only). ARGV: prefix, hashTags, now, then per lookup: tenant,
 * session, agent_type filter ('' = any), pillar filter ('' = any).
 * Returns one JSON string: an array with, per lookup, an array of records as arrays in {@link RECORD_FIELDS} order
 * (cjson writes an empty array as `{}`). JSON keeps the reply one bulk string, which is much cheaper to parse.
 */
export const SESSION_CONNECTIONS_SCRIPT = `${LUA_KEY_FUNCTIONS}
local p, h, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local min = '(' .. ARGV[3]
local out = {}
for j = 4, #ARGV, 4 do
  local t, s, fa, fp = ARGV[j], ARGV[j + 1], ARGV[j + 2], ARGV[j + 3]
  local members = redis.call('ZRANGEBYSCORE', k_sindex(p, h, s), min, '+inf')
  local rows = {}
  for _, w in ipairs(members) do
    local f = redis.call('HMGET', k_conn(p, h, s, w), ${RECORD_FIELDS.map((field) => `'${field}'`).join(", ")})
    if f[3] == t and f[9] and tonumber(f[9]) > now and (fa == '' or f[4] == fa) and (fp == '' or f[5] == fp) then
      rows[#rows + 1] = f
    end
  end
  out[#out + 1] = rows
end
return cjson.encode(out)
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
 * slots). KEYS[1] index. ARGV: member, exp, now.
 */
export const INDEX_ADD_SCRIPT = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
return redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
`;

/** Delete KEYS[1] only if it holds ARGV[1] (the reverse index of a connection being removed). */
export const DELETE_IF_EQUAL_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;
