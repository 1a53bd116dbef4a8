import { createHash } from 'node:crypto';

/** A Lua script run with EVALSHA, falling back to EVAL when the server does not have it cached. */
export interface LuaScript {
  readonly name: string;
  readonly source: string;
  readonly sha: string;
}

function script(name: string, body: string): LuaScript {
  // Every script shares the helpers; Redis caches each whole source once per server.
  const source = `${HELPERS}\n${body}`;
  return { name, source, sha: createHash('sha1').update(source).digest('hex') };
}

/*
 * Scripts that reach beta sets build those keys from a prefix passed in ARGV. The keys share
 * the namespace hash tag with the declared KEYS, so they are in the same Cluster slot.
 * `enc` matches JavaScript's encodeURIComponent for ASCII, the only alphabet of feature names.
 */
const HELPERS = `
local function enc(s)
  return (string.gsub(s, "[^%w%-_%.!~%*'%(%)]", function(c) return string.format('%%%02X', string.byte(c)) end))
end
local function changed(versionKey, channel, origin)
  local v = redis.call('INCR', versionKey)
  redis.call('PUBLISH', channel, v .. ' ' .. origin)
  return v
end
`;

/** KEYS: version, features, blacklist. ARGV: beta prefix. */
export const READ_STATE = script(
  'readState',
  `
local version = redis.call('GET', KEYS[1]) or '0'
local features = redis.call('HGETALL', KEYS[2])
local blacklist = redis.call('SMEMBERS', KEYS[3])
local beta = {}
for i = 1, #features, 2 do
  local members = redis.call('SMEMBERS', ARGV[1] .. enc(features[i]))
  if #members > 0 then
    beta[#beta + 1] = features[i]
    beta[#beta + 1] = members
  end
end
return {version, features, blacklist, beta}
`,
);

/**
 * Compare-and-set of one feature on its exact stored text (validated by the caller first).
 * KEYS: features, version. ARGV: name, expected text, '1' if it must exist / '0' if it must not,
 * new text, channel, origin. Returns the new state version, or -1 when the stored text differs.
 */
export const PUT_FEATURE = script(
  'putFeature',
  `
local current = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[3] == '1' then
  if current ~= ARGV[2] then return -1 end
elseif current then
  return -1
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
return changed(KEYS[2], ARGV[5], ARGV[6])
`,
);

/** KEYS: features, version, beta set. ARGV: name, channel, origin. Returns the version or 0. */
export const DELETE_FEATURE = script(
  'deleteFeature',
  `
local removed = redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[3])
if removed == 0 then return 0 end
return changed(KEYS[2], ARGV[2], ARGV[3])
`,
);

/**
 * Adds to or removes from a set of user ids. KEYS: set, version, features. ARGV: 'add' | 'remove',
 * member, feature that must exist ('' for none), channel, origin.
 * Returns -1 for an unknown feature, 0 when nothing changed, else the new version.
 */
export const SET_MEMBER = script(
  'setMember',
  `
if ARGV[3] ~= '' and redis.call('HEXISTS', KEYS[3], ARGV[3]) == 0 then return -1 end
local n
if ARGV[1] == 'add' then n = redis.call('SADD', KEYS[1], ARGV[2]) else n = redis.call('SREM', KEYS[1], ARGV[2]) end
if n == 0 then return 0 end
return changed(KEYS[2], ARGV[4], ARGV[5])
`,
);

/**
 * KEYS: users, emails, order, sequence, version. ARGV: email digest, id, user text, channel, origin.
 * Returns {'exists', stored text} | {'taken'} | {'created', version}.
 */
export const REGISTER_USER = script(
  'registerUser',
  `
local existing = redis.call('HGET', KEYS[2], ARGV[1])
if existing then
  local stored = redis.call('HGET', KEYS[1], existing)
  if stored then return {'exists', stored} end
  -- An index entry left without its user: the user is gone, so the email is free again.
  redis.call('HDEL', KEYS[2], ARGV[1])
end
if redis.call('HEXISTS', KEYS[1], ARGV[2]) == 1 then return {'taken'} end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[3], redis.call('INCR', KEYS[4]), ARGV[2])
return {'created', tostring(changed(KEYS[5], ARGV[4], ARGV[5]))}
`,
);

/**
 * Removes a user with their email index entry, beta memberships, blacklisting and feedback.
 * KEYS: users, emails, order, version, blacklist, feedback, features.
 * ARGV: id, beta prefix, channel, origin. Returns the new version or 0 for an unknown user.
 */
export const REMOVE_USER = script(
  'removeUser',
  `
local id = ARGV[1]
if redis.call('HDEL', KEYS[1], id) == 0 then return 0 end
local emails = redis.call('HGETALL', KEYS[2])
for i = 1, #emails, 2 do
  if emails[i + 1] == id then redis.call('HDEL', KEYS[2], emails[i]) end
end
redis.call('ZREM', KEYS[3], id)
redis.call('SREM', KEYS[5], id)
for _, name in ipairs(redis.call('HKEYS', KEYS[7])) do
  redis.call('SREM', ARGV[2] .. enc(name), id)
end
local all = redis.call('LRANGE', KEYS[6], 0, -1)
local keep, removed = {}, 0
for _, text in ipairs(all) do
  local ok, entry = pcall(cjson.decode, text)
  if ok and type(entry) == 'table' and entry.userId == id then
    removed = removed + 1
  else
    keep[#keep + 1] = text
  end
end
if removed > 0 then
  redis.call('DEL', KEYS[6])
  for i = 1, #keep, 1000 do
    redis.call('RPUSH', KEYS[6], unpack(keep, i, math.min(i + 999, #keep)))
  end
end
return changed(KEYS[4], ARGV[3], ARGV[4])
`,
);

/**
 * Applies a rollback planned by core's planRollback, if the feature text and beta list size are
 * still what the plan was made from. KEYS: features, version, beta set, rollbacks.
 * ARGV: name, planned-from text, beta count, new text, record text, channel, origin.
 * Returns the new version, or -1 when the feature moved on (the caller plans again).
 */
export const APPLY_ROLLBACK = script(
  'applyRollback',
  `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return -1 end
if redis.call('SCARD', KEYS[3]) ~= tonumber(ARGV[3]) then return -1 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
redis.call('DEL', KEYS[3])
redis.call('RPUSH', KEYS[4], ARGV[5])
return changed(KEYS[2], ARGV[6], ARGV[7])
`,
);

/**
 * Adds metric deltas in one atomic step. Deltas come in numbered segments (one per metric
 * batch), each with its writer's counter of the last batch applied; a segment whose number is
 * not above it was applied before and is skipped, so a batch sent again counts once.
 * KEYS: index, then per segment: its writer's counter, then one bucket hash per delta.
 * ARGV: bucket ttl seconds, bucket prefix, segment count, then per segment: number, bucket count,
 * then per bucket: index member, bucket start, n, n x (field, integer increment), latency sum
 * increment, m, m x (register field, rank). Counters saturate at 2^53 - 1 (the largest integer
 * JavaScript reads exactly), latency sums at the largest double; registers take the maximum.
 * Before writing, every key is checked, so a foreign key fails the whole call instead of
 * leaving half of it applied. Returns how many segments were applied.
 */
export const ADD_METRICS = script(
  'addMetrics',
  `
local MAX_COUNT = 9007199254740991
local MAX_SUM = 1.7976931348623157e308
local segments = tonumber(ARGV[3])
local last = {}
local a, k = 4, 2
for _ = 1, segments do
  local counter = KEYS[k]
  k = k + 1
  if last[counter] == nil then
    local t = redis.call('TYPE', counter).ok
    if t ~= 'string' and t ~= 'none' then
      return redis.error_reply('WRONGTYPE flush counter ' .. counter .. ' is a ' .. t)
    end
    local value = tonumber(redis.call('GET', counter) or '0')
    if value == nil then
      return redis.error_reply('WRONGTYPE flush counter ' .. counter .. ' is not a number')
    end
    last[counter] = value
  end
  local buckets = tonumber(ARGV[a + 1])
  a = a + 2
  for _ = 1, buckets do
    local key = KEYS[k]
    k = k + 1
    local t = redis.call('TYPE', key).ok
    if t ~= 'hash' and t ~= 'none' then
      return redis.error_reply('WRONGTYPE metric bucket ' .. key .. ' is a ' .. t)
    end
    local sum = t == 'hash' and redis.call('HGET', key, 'latencySumMs')
    if sum and tonumber(sum) == nil then
      return redis.error_reply('WRONGTYPE metric bucket ' .. key .. ' holds a latency sum that is not a number')
    end
    a = a + 3 + tonumber(ARGV[a + 2]) * 2
    a = a + 2 + tonumber(ARGV[a + 1]) * 2
  end
end
local ttl = ARGV[1]
a, k = 4, 2
local applied = 0
for _ = 1, segments do
  local counter = KEYS[k]
  k = k + 1
  local seq, buckets = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  a = a + 2
  local apply = seq > last[counter]
  if apply then
    last[counter] = seq
    applied = applied + 1
  end
  for _ = 1, buckets do
    local key = KEYS[k]
    k = k + 1
    local member, start, n = ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2])
    a = a + 3
    if apply then
      for i = 0, n - 1 do
        local field = ARGV[a + i * 2]
        if redis.call('HINCRBY', key, field, ARGV[a + i * 2 + 1]) > MAX_COUNT then
          redis.call('HSET', key, field, '9007199254740991')
        end
      end
    end
    a = a + n * 2
    if apply and ARGV[a] ~= '0' then
      -- Added as doubles, like JavaScript adds them (HINCRBYFLOAT uses long doubles), and
      -- written with 17 digits so the exact double comes back.
      local sum = tonumber(redis.call('HGET', key, 'latencySumMs') or '0') + tonumber(ARGV[a])
      if sum > MAX_SUM then sum = MAX_SUM end
      redis.call('HSET', key, 'latencySumMs', string.format('%.17g', sum))
    end
    local m = tonumber(ARGV[a + 1])
    a = a + 2
    -- Registers in chunks: one HMGET and at most one HSET per chunk (unpack has a stack limit).
    for first = 0, (apply and m or 0) - 1, 500 do
      local count = math.min(500, m - first)
      local fields, ranks = {}, {}
      for i = 1, count do
        fields[i] = ARGV[a + (first + i - 1) * 2]
        ranks[i] = ARGV[a + (first + i - 1) * 2 + 1]
      end
      local stored = redis.call('HMGET', key, unpack(fields))
      local updates = {}
      for i = 1, count do
        local current = 0
        if stored[i] then current = tonumber(stored[i]) end
        -- A register that does not parse is left for readMetrics to report, never overwritten.
        if current ~= nil and tonumber(ranks[i]) > current then
          updates[#updates + 1] = fields[i]
          updates[#updates + 1] = ranks[i]
        end
      end
      if #updates > 0 then redis.call('HSET', key, unpack(updates)) end
    end
    a = a + m * 2
    if apply then
      redis.call('EXPIRE', key, ttl)
      redis.call('ZADD', KEYS[1], start, member)
    end
  end
end
for counter, value in pairs(last) do redis.call('SET', counter, value, 'EX', ttl) end
-- Index entries of expired buckets are dropped a few at a time, oldest first.
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, 15)) do
  if redis.call('EXISTS', ARGV[2] .. member) == 0 then redis.call('ZREM', KEYS[1], member) end
end
return applied
`,
);

/**
 * KEYS: index. ARGV: since, bucket prefix, '1' with registers / '0' without, '1' to filter by
 * feature / '0', encoded features... Returns a flat list of (index member, HGETALL reply, less
 * the register fields `u:*` when not asked for) for live buckets with start >= since.
 */
export const READ_METRICS = script(
  'readMetrics',
  `
local users = ARGV[3] == '1'
local wanted = nil
if ARGV[4] == '1' then
  wanted = {}
  for i = 5, #ARGV do wanted[ARGV[i]] = true end
end
local out = {}
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf')) do
  local feature = string.match(member, '^([^:]*):')
  if wanted == nil or (feature and wanted[feature]) then
    local fields = redis.call('HGETALL', ARGV[2] .. member)
    if #fields > 0 then
      if not users then
        local counts = {}
        for i = 1, #fields, 2 do
          if string.sub(fields[i], 1, 2) ~= 'u:' then
            counts[#counts + 1] = fields[i]
            counts[#counts + 1] = fields[i + 1]
          end
        end
        fields = counts
      end
      out[#out + 1] = member
      out[#out + 1] = fields
    end
  end
end
return out
`,
);
