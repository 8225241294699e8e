import { createHash } from "node:crypto";

/**
 * The Lua side of the backend. Every script gets `KEYS[1]` = the namespace's session index (so a
 * cluster would route it to the namespace's slot; every other key shares its hash tag) and
 * `ARGV[1]` = the key prefix, `ARGV[2]` = the change-log cap. Times come from the server's `TIME`,
 * never from a client. Revisions and seqs are handled as strings in Lua (its numbers are doubles
 * printed with 14 digits) and compared as bigints on the client.
 */
const PRELUDE = `
local P = ARGV[1]
local CAP = tonumber(ARGV[2])
local SESSIONS = KEYS[1]

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function int(n) return string.format('%d', n) end

local function fail(code) return redis.error_reply('ROLLCALL ' .. code) end

-- One counter per namespace gives both seq and revisions. It starts at the server time in µs, so after a
-- restart that lost the data it still continues above every value handed out before.
local function next_rev()
  local k = P .. 'rev'
  if redis.call('EXISTS', k) == 0 then
    local t = redis.call('TIME')
    redis.call('SET', k, t[1] .. string.format('%06d', tonumber(t[2])))
  end
  redis.call('INCR', k)
  return redis.call('GET', k)
end

local function gkey(g) return P .. 'g/' .. g end

local function fields(rec)
  local a = string.find(rec, '|', 1, true)
  local b = string.find(rec, '|', a + 1, true)
  local c = string.find(rec, '|', b + 1, true)
  local d = string.find(rec, '|', c + 1, true)
  return string.sub(rec, 1, a - 1), string.sub(rec, a + 1, b - 1), string.sub(rec, b + 1, c - 1),
    string.sub(rec, c + 1, d - 1), string.sub(rec, d + 1)
end

local function owner(rec) return string.sub(rec, 1, string.find(rec, '|', 1, true) - 1) end

-- Appends a change to the group's log (capped, remembering the last trimmed revision as the floor)
-- and publishes it. The message names the group's previous revision so a watcher can tell a gap.
local function emit(g, kind, rev, rest)
  local gk = gkey(g)
  local prev = redis.call('HGET', gk, 'rev') or '0'
  local msg = kind .. '|' .. prev .. '|' .. rev .. '|' .. rest
  redis.call('HSET', gk, 'rev', rev)
  local lk = gk .. '/log'
  redis.call('XADD', lk, '0-' .. rev, 'e', msg)
  local len = redis.call('XLEN', lk)
  if len > CAP then
    local old = redis.call('XRANGE', lk, '-', '+', 'COUNT', len - CAP)
    redis.call('HSET', gk, 'floor', string.sub(old[#old][1], 3))
    redis.call('XTRIM', lk, 'MAXLEN', CAP)
  end
  redis.call('PUBLISH', P .. 'c/' .. g, msg)
end

local function remove_member(g, id, sid, reason)
  redis.call('HDEL', gkey(g) .. '/m', id)
  redis.call('SREM', P .. 's/' .. sid .. '/g', g .. '\\n' .. id)
  emit(g, 'l', next_rev(), id .. '|' .. reason)
end

local function end_session(sid, reason)
  local mk = P .. 's/' .. sid .. '/g'
  for _, gm in ipairs(redis.call('SMEMBERS', mk)) do
    local nl = string.find(gm, '\\n', 1, true)
    local g, id = string.sub(gm, 1, nl - 1), string.sub(gm, nl + 1)
    local rec = redis.call('HGET', gkey(g) .. '/m', id)
    if rec and owner(rec) == sid then remove_member(g, id, sid, reason) end
  end
  redis.call('DEL', mk, P .. 's/' .. sid)
  redis.call('ZREM', SESSIONS, sid)
end

-- Idempotent: a reaped session is no longer in the index, so its leaves are published exactly once.
local function reap(now)
  local dead = redis.call('ZRANGEBYSCORE', SESSIONS, '-inf', '(' .. int(now), 'LIMIT', 0, 100)
  for _, sid in ipairs(dead) do end_session(sid, 'expired') end
end

local function alive(sid, now)
  local d = redis.call('ZSCORE', SESSIONS, sid)
  if not d then return false end
  if tonumber(d) < now or redis.call('EXISTS', P .. 's/' .. sid) == 0 then
    end_session(sid, 'expired')
    return false
  end
  return true
end

local function renew(sid, now, ttl)
  redis.call('PEXPIRE', P .. 's/' .. sid, ttl)
  redis.call('ZADD', SESSIONS, 'XX', now + ttl, sid)
end

local function new_group(g)
  local gk = gkey(g)
  local rev = next_rev()
  redis.call('DEL', gk, gk .. '/m', gk .. '/log')
  redis.call('HSET', gk, 'rev', rev, 'created', rev, 'floor', '0')
  return rev
end
`;

const BODIES = {
  /** ARGV: sid, ttl, memberId, candidate epoch, known epoch ('' if none), groups to restore… */
  open: `
local now = now_ms()
reap(now)
local sid, ttl = ARGV[3], tonumber(ARGV[4])
local epoch = redis.call('GET', P .. 'epoch')
if not epoch then
  epoch = ARGV[6]
  redis.call('SET', P .. 'epoch', epoch)
end
local restored = 0
if ARGV[7] ~= '' and ARGV[7] ~= epoch then
  for i = 8, #ARGV do
    if redis.call('SADD', P .. 'groups', ARGV[i]) == 1 then
      new_group(ARGV[i])
      restored = restored + 1
    end
  end
end
redis.call('SET', P .. 's/' .. sid, ARGV[5], 'PX', ttl)
redis.call('ZADD', SESSIONS, now + ttl, sid)
return {int(now), epoch, restored}
`,
  /** ARGV: sid, ttl. Returns {alive, now, earliest deadline of any session}. */
  refresh: `
local now = now_ms()
reap(now)
local sid, ttl = ARGV[3], tonumber(ARGV[4])
if not alive(sid, now) then return {0, int(now), ''} end
renew(sid, now, ttl)
local first = redis.call('ZRANGE', SESSIONS, 0, 0, 'WITHSCORES')
return {1, int(now), first[2] or ''}
`,
  /** ARGV: group. */
  createGroup: `
local g = ARGV[3]
if redis.call('SADD', P .. 'groups', g) == 0 then return fail('GROUP_EXISTS') end
return new_group(g)
`,
  /** ARGV: group. */
  deleteGroup: `
local now = now_ms()
reap(now)
local g = ARGV[3]
if redis.call('SISMEMBER', P .. 'groups', g) == 0 then return fail('GROUP_NOT_FOUND') end
local gk = gkey(g)
if redis.call('HLEN', gk .. '/m') > 0 then return fail('GROUP_NOT_EMPTY') end
local prev = redis.call('HGET', gk, 'rev') or '0'
local rev = next_rev()
redis.call('SREM', P .. 'groups', g)
redis.call('DEL', gk, gk .. '/m', gk .. '/log')
redis.call('PUBLISH', P .. 'c/' .. g, 'd|' .. prev .. '|' .. rev .. '|')
return rev
`,
  /**
   * ARGV: sid, ttl, group, memberId, metadata JSON. Returns {seq, joinedMs, updatedMs}. A member this
   * session already holds (a retry of a join whose reply was lost) is returned with its seq, its
   * metadata set as an update would; one held by another session is `MEMBER_EXISTS`.
   */
  join: `
local now = now_ms()
reap(now)
local sid, ttl, g, id, meta = ARGV[3], tonumber(ARGV[4]), ARGV[5], ARGV[6], ARGV[7]
if not alive(sid, now) then return fail('SESSION_EXPIRED') end
if redis.call('SISMEMBER', P .. 'groups', g) == 0 then return fail('GROUP_NOT_FOUND') end
local mk = gkey(g) .. '/m'
local rec = redis.call('HGET', mk, id)
if rec then
  local holder, seq, joined, updated, old = fields(rec)
  if holder ~= sid then return fail('MEMBER_EXISTS') end
  if old ~= meta then
    updated = int(now)
    redis.call('HSET', mk, id, sid .. '|' .. seq .. '|' .. joined .. '|' .. updated .. '|' .. meta)
    emit(g, 'u', next_rev(), id .. '|' .. seq .. '|' .. joined .. '|' .. updated .. '|' .. meta)
  end
  renew(sid, now, ttl)
  return {seq, joined, updated}
end
local rev = next_rev()
local t = int(now)
redis.call('HSET', mk, id, sid .. '|' .. rev .. '|' .. t .. '|' .. t .. '|' .. meta)
redis.call('SADD', P .. 's/' .. sid .. '/g', g .. '\\n' .. id)
emit(g, 'j', rev, id .. '|' .. rev .. '|' .. t .. '|' .. t .. '|' .. meta)
renew(sid, now, ttl)
return {rev, t, t}
`,
  /** ARGV: sid, ttl, group, memberId. */
  leave: `
local now = now_ms()
reap(now)
local sid, ttl, g, id = ARGV[3], tonumber(ARGV[4]), ARGV[5], ARGV[6]
if not alive(sid, now) then return fail('SESSION_EXPIRED') end
local rec = redis.call('HGET', gkey(g) .. '/m', id)
if not rec or owner(rec) ~= sid then return fail('MEMBER_NOT_JOINED') end
remove_member(g, id, sid, 'left')
renew(sid, now, ttl)
return int(now)
`,
  /** ARGV: sid, ttl, group, memberId, metadata JSON. Returns {seq, joinedMs, updatedMs}. */
  update: `
local now = now_ms()
reap(now)
local sid, ttl, g, id, meta = ARGV[3], tonumber(ARGV[4]), ARGV[5], ARGV[6], ARGV[7]
if not alive(sid, now) then return fail('SESSION_EXPIRED') end
local mk = gkey(g) .. '/m'
local rec = redis.call('HGET', mk, id)
if not rec or owner(rec) ~= sid then return fail('MEMBER_NOT_JOINED') end
local _, seq, joined = fields(rec)
local rev = next_rev()
local t = int(now)
redis.call('HSET', mk, id, sid .. '|' .. seq .. '|' .. joined .. '|' .. t .. '|' .. meta)
emit(g, 'u', rev, id .. '|' .. seq .. '|' .. joined .. '|' .. t .. '|' .. meta)
renew(sid, now, ttl)
return {seq, joined, t}
`,
  /** ARGV: group. Returns {revision, [memberId, record, …]}. */
  members: `
reap(now_ms())
local g = ARGV[3]
if redis.call('SISMEMBER', P .. 'groups', g) == 0 then return fail('GROUP_NOT_FOUND') end
local gk = gkey(g)
return {redis.call('HGET', gk, 'rev') or '0', redis.call('HGETALL', gk .. '/m')}
`,
  /** ARGV: group, memberId. Returns the member's seq, or '' when it is not there. */
  present: `
reap(now_ms())
local rec = redis.call('HGET', gkey(ARGV[3]) .. '/m', ARGV[4])
if not rec then return '' end
local _, seq = fields(rec)
return seq
`,
  /** ARGV: group, revision. Returns {epoch, created, floor, rev, entries after revision}; created '' if no group. */
  changes: `
local g = ARGV[3]
local epoch = redis.call('GET', P .. 'epoch') or ''
if redis.call('SISMEMBER', P .. 'groups', g) == 0 then return {epoch, '', '', '', {}} end
local gk = gkey(g)
local h = redis.call('HMGET', gk, 'created', 'floor', 'rev')
return {epoch, h[1] or '0', h[2] or '0', h[3] or '0', redis.call('XRANGE', gk .. '/log', '(0-' .. ARGV[4], '+')}
`,
  /** ARGV: sid. Every member of the session leaves with reason `left` (unless it already expired). */
  close: `
reap(now_ms())
if redis.call('ZSCORE', SESSIONS, ARGV[3]) then end_session(ARGV[3], 'left') end
return 1
`,
} as const;

/** The name of one of the backend's scripts. */
export type ScriptName = keyof typeof BODIES;

/** A script's full source and its SHA-1, for `EVALSHA` with an `EVAL` fallback. */
export interface LuaScript {
  readonly name: string;
  readonly source: string;
  readonly sha: string;
}

/**
 * A script of the backend: the shared prelude (the `KEYS`/`ARGV` conventions above, `now_ms`, `int`,
 * `next_rev`, …) followed by `body`.
 */
export function luaScript(name: string, body: string): LuaScript {
  const source = PRELUDE + body;
  return { name, source, sha: createHash("sha1").update(source).digest("hex") };
}

/** Every membership script of the backend, by name. */
export const SCRIPTS: { readonly [K in ScriptName]: LuaScript } = Object.fromEntries(
  (Object.keys(BODIES) as ScriptName[]).map((name) => [name, luaScript(name, BODIES[name])]),
) as { readonly [K in ScriptName]: LuaScript };
