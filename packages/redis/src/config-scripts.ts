import { type LuaScript, luaScript } from "./lua-scripts.js";

/**
 * The configuration store's Lua, after the shared prelude (so `P`, `CAP`, `now_ms`, `int` and
 * `next_rev` — the namespace's revision counter — are those of the membership scripts). Keys of a
 * store `S` (see {@link KeySpace}): `P cfg/S` (hash of entries), `P cfg/S/state` (hash: `rev`, `floor`),
 * `P cfg/S/log` (capped stream), `P cfgs` (set of stores with entries); channel `P cfgc/S`.
 * None of them has a TTL and no session script touches them.
 */
const CONFIG_PRELUDE = `
local function ckey(s) return P .. 'cfg/' .. s end

local function version_of(rec) return string.sub(rec, 1, string.find(rec, '|', 1, true) - 1) end

-- Appends a change to the store's log (capped, remembering the last trimmed revision as the floor) and
-- publishes it. The message names the store's previous revision so a watcher can tell a gap.
local function cfg_emit(s, kind, rev, rest)
  local st = ckey(s) .. '/state'
  local lk = ckey(s) .. '/log'
  local prev = redis.call('HGET', st, 'rev') or '0'
  local msg = kind .. '|' .. prev .. '|' .. rev .. '|' .. rest
  redis.call('XADD', lk, '0-' .. rev, 'e', msg)
  redis.call('HSET', st, 'rev', rev)
  local len = redis.call('XLEN', lk)
  if len > CAP then
    local old = redis.call('XRANGE', lk, '-', '+', 'COUNT', len - CAP)
    redis.call('HSET', st, 'floor', string.sub(old[#old][1], 3))
    redis.call('XTRIM', lk, 'MAXLEN', CAP)
  end
  redis.call('PUBLISH', P .. 'cfgc/' .. s, msg)
end
`;

const BODIES = {
  /**
   * ARGV: store, key, value JSON, ifVersion ('' = unconditional, '0' = only if absent). Returns
   * {1, version, updatedMs} when written, {0, found version ('' = absent)} on a mismatch. The version
   * is compared as text: both sides are canonical decimal integers.
   */
  configPut: `
local s, k, v, want = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local hk = ckey(s)
local cur = redis.call('HGET', hk, k)
local found = ''
if cur then found = version_of(cur) end
if want ~= '' then
  if want == '0' then
    if cur then return {0, found} end
  elseif found ~= want then
    return {0, found}
  end
end
local rev = next_rev()
local t = int(now_ms())
cfg_emit(s, 'p', rev, k .. '|' .. t .. '|' .. v)
redis.call('HSET', hk, k, rev .. '|' .. t .. '|' .. v)
redis.call('SADD', P .. 'cfgs', s)
return {1, rev, t}
`,
  /**
   * ARGV: store, key, ifVersion ('' = unconditional). Returns {1, 1} when deleted, {1, 0} when there was
   * nothing to delete, {0, found version ('' = absent)} on a mismatch.
   */
  configRemove: `
local s, k, want = ARGV[3], ARGV[4], ARGV[5]
local hk = ckey(s)
local cur = redis.call('HGET', hk, k)
local found = ''
if cur then found = version_of(cur) end
if want ~= '' and found ~= want then return {0, found} end
if not cur then return {1, 0} end
cfg_emit(s, 'x', next_rev(), k)
redis.call('HDEL', hk, k)
if redis.call('HLEN', hk) == 0 then redis.call('SREM', P .. 'cfgs', s) end
return {1, 1}
`,
  /** ARGV: store, prefix ('' = all). Returns {revision, {key, record, …}}: one consistent read. */
  configList: `
local s, prefix = ARGV[3], ARGV[4]
local hk = ckey(s)
local rev = redis.call('HGET', hk .. '/state', 'rev') or '0'
local all = redis.call('HGETALL', hk)
if prefix == '' then return {rev, all} end
local n = #prefix
local out = {}
for i = 1, #all, 2 do
  if string.sub(all[i], 1, n) == prefix then
    out[#out + 1] = all[i]
    out[#out + 1] = all[i + 1]
  end
end
return {rev, out}
`,
  /**
   * ARGV: store, revision, epoch candidate. Returns {epoch, floor, entries after revision}. A missing
   * epoch (the data was lost and no session has been opened since) is written from the candidate, so
   * the loss shows as a changed epoch to every watch that read the old one.
   */
  configChanges: `
local s = ARGV[3]
local epoch = redis.call('GET', P .. 'epoch')
if not epoch then
  epoch = ARGV[5]
  redis.call('SET', P .. 'epoch', epoch)
end
local floor = redis.call('HGET', ckey(s) .. '/state', 'floor') or '0'
return {epoch, floor, redis.call('XRANGE', ckey(s) .. '/log', '(0-' .. ARGV[4], '+')}
`,
} as const;

/** The name of one of the configuration scripts. */
export type ConfigScriptName = keyof typeof BODIES;

/** Every configuration script, by name. */
export const CONFIG_SCRIPTS: { readonly [K in ConfigScriptName]: LuaScript } = Object.fromEntries(
  (Object.keys(BODIES) as ConfigScriptName[]).map((name) => [
    name,
    luaScript(name, CONFIG_PRELUDE + BODIES[name]),
  ]),
) as { readonly [K in ConfigScriptName]: LuaScript };
