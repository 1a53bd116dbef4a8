import { createHash } from 'node:crypto';
import { FORMAT } from './keys';

/** A Lua script, run by SHA; its `body` runs once the layout format under `formatKey` is checked. */
export type LuaScript = ReturnType<typeof script>;

function script(formatKey: string, body: string) {
  const source = `${HELPERS}\nlocal bad = badFormat(${formatKey})\nif bad then return bad end\n${body}`;
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/*
 * A namespace another layout format wrote is refused (`CORRUPT`: StoreDataCorruptedError), never
 * read or written as this one. Keys built in a script from a prefix passed in ARGV share the
 * namespace hash tag with the declared KEYS, so they are in the same Cluster slot.
 */
const HELPERS = `
local FORMAT = '${FORMAT}'
local function badFormat(key)
  local found = redis.call('GET', key)
  if found and found ~= FORMAT then
    return redis.error_reply('CORRUPT ' .. key .. ' holds another layout format than ' .. FORMAT .. ' (written by another version of @canary-rollout/storage-redis)')
  end
end
local function entryVersion(key, field)
  local text = redis.call('HGET', key, field)
  if not text then return nil end
  local version = string.match(text, '^(%d+) ')
  if not version then error({err = 'CORRUPT an entry of ' .. key .. ' has no version'}) end
  return tonumber(version)
end
`;

/**
 * One consistent read. KEYS: format, version, set versions, the collection hashes (read whole,
 * then by field), the sets asked for by name. ARGV: whole collection count, named set count, set
 * key prefix, by-field collection count, per such collection n and n fields, the named sets'
 * encoded names, then encoded prefixes. Returns {version, {(field, value)... per collection},
 * {{version, members} per named set}, flat (encoded name, version, members) of prefixed sets}.
 */
export const READ = script(
  'KEYS[1]',
  `
local nc, nn, nf = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[4])
local collections, named, prefixed = {}, {}, {}
for i = 1, nc do collections[i] = redis.call('HGETALL', KEYS[3 + i]) end
local a = 5
for i = nc + 1, nc + nf do
  local found, last = {}, a + tonumber(ARGV[a])
  for j = a + 1, last do
    local value = redis.call('HGET', KEYS[3 + i], ARGV[j])
    if value then
      found[#found + 1] = ARGV[j]
      found[#found + 1] = value
    end
  end
  collections[i], a = found, last + 1
end
local sets = 3 + nc + nf
for i = 1, nn do
  named[i] = {redis.call('HGET', KEYS[3], ARGV[a]) or '0', redis.call('SMEMBERS', KEYS[sets + i])}
  a = a + 1
end
if a <= #ARGV then
  local versions = redis.call('HGETALL', KEYS[3])
  for i = 1, #versions, 2 do
    for p = a, #ARGV do
      if string.sub(versions[i], 1, #ARGV[p]) == ARGV[p] then
        prefixed[#prefixed + 1] = versions[i]
        prefixed[#prefixed + 1] = versions[i + 1]
        prefixed[#prefixed + 1] = redis.call('SMEMBERS', ARGV[3] .. versions[i])
        break
      end
    end
  end
end
return {redis.call('GET', KEYS[2]) or '0', collections, named, prefixed}
`,
);

/**
 * A conditional, all-or-nothing commit. KEYS: format, version, set versions, then the keys it
 * touches. ARGV: channel ('' for a quiet commit), handle id, expectation count, per expectation
 * ('e', key index, field, version or '' for absent) or ('s', 0, encoded set name, version), then
 * operations: ('p', key, field, JSON) put, ('d', key, field) delete, ('a' | 'r', key, set name, n,
 * n members) set add or remove, ('c', key, set name) set clear, ('l', key, '<at> <JSON>', retain)
 * append. Returns {1, store version, {SADD / SREM count per set add or remove}} or {0,
 * (expectation number, version found or '') ...}.
 */
export const COMMIT = script(
  'KEYS[1]',
  `
local conflicts, a = {0}, 4
for i = 1, tonumber(ARGV[3]) do
  local found
  if ARGV[a] == 'e' then
    found = entryVersion(KEYS[tonumber(ARGV[a + 1])], ARGV[a + 2])
  else
    found = tonumber(redis.call('HGET', KEYS[3], ARGV[a + 2]) or '0')
  end
  if tostring(found or '') ~= ARGV[a + 3] then
    conflicts[#conflicts + 1] = i
    conflicts[#conflicts + 1] = found and tostring(found) or ''
  end
  a = a + 4
end
if #conflicts > 1 then return conflicts end
if a > #ARGV then return {1, redis.call('GET', KEYS[2]) or '0'} end
redis.call('SET', KEYS[1], FORMAT, 'NX')
local touched, changed, counts = {}, false, {}
while a <= #ARGV do
  local op, key = ARGV[a], KEYS[tonumber(ARGV[a + 1])]
  if op == 'p' then
    redis.call('HSET', key, ARGV[a + 2], ((entryVersion(key, ARGV[a + 2]) or 0) + 1) .. ' ' .. ARGV[a + 3])
    a, changed = a + 4, true
  elseif op == 'd' then
    redis.call('HDEL', key, ARGV[a + 2])
    a, changed = a + 3, true
  elseif op == 'l' then
    redis.call('RPUSH', key, ARGV[a + 2])
    redis.call('LTRIM', key, -tonumber(ARGV[a + 3]), -1)
    a = a + 4
  else
    if not touched[ARGV[a + 2]] then
      touched[ARGV[a + 2]] = true
      redis.call('HINCRBY', KEYS[3], ARGV[a + 2], 1)
    end
    if op == 'c' then
      redis.call('DEL', key)
      a = a + 3
    else
      local last, count = a + 3 + tonumber(ARGV[a + 3]), 0
      for i = a + 4, last, 1000 do
        count = count + redis.call(op == 'a' and 'SADD' or 'SREM', key, unpack(ARGV, i, math.min(i + 999, last)))
      end
      counts[#counts + 1] = count
      a = last + 1
    end
    changed = true
  end
end
-- A quiet commit (no channel) leaves the store version and tells nobody.
if not changed or ARGV[1] == '' then return {1, redis.call('GET', KEYS[2]) or '0', counts} end
local version = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[1], version .. ' ' .. ARGV[2])
return {1, version, counts}
`,
);

/**
 * KEYS: format, log list. ARGV: since ('' for none), limit ('' for none). Returns the selected
 * lines oldest first. With a limit alone that is LRANGE -limit -1; with since, the list is read
 * back from the newest in pages and the walk stops at the first line older than since.
 */
export const READ_LOG = script(
  'KEYS[1]',
  `
local since, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
if since == nil then return redis.call('LRANGE', KEYS[2], limit and -limit or 0, -1) end
local newest, offset, page = {}, 0, 32
if limit and limit < page then page = limit end
repeat
  local lines = redis.call('LRANGE', KEYS[2], -(offset + page), -(offset + 1))
  for i = #lines, 1, -1 do
    local at = tonumber(string.match(lines[i], '^(%S+) '))
    if (at and at < since) or (limit and #newest >= limit) then lines = {} break end
    newest[#newest + 1] = lines[i]
  end
  offset = offset + page
until #lines < page or (limit and #newest >= limit)
local out = {}
for i = #newest, 1, -1 do out[#out + 1] = newest[i] end
return out
`,
);

/**
 * Adds metric deltas atomically, in numbered segments (one per batch); a segment whose number is
 * not above its writer's counter was applied before and is skipped. KEYS: index, then per
 * segment: its writer's counter, then one bucket hash per delta; last, format. ARGV: bucket ttl
 * seconds, bucket prefix, segment count, then per segment: number, bucket count, then per bucket:
 * index member, bucket start, n, n x (field, integer increment), latency sum increment, m, m x
 * (register field, rank). Counters saturate at 2^53 - 1 (JavaScript's largest exact integer),
 * latency sums at the largest double. Every key is checked first, so a foreign key fails the
 * whole call instead of leaving half of it applied. Returns how many segments were applied.
 */
export const ADD_METRICS = script(
  'KEYS[#KEYS]',
  `
local MAX_COUNT, MAX_SUM = 9007199254740991, 1.7976931348623157e308
for i = 2, #KEYS - 1 do
  local key = KEYS[i]
  local bucket = string.find(key, ARGV[2], 1, true) == 1
  local t = redis.call('TYPE', key).ok
  if t ~= 'none' and t ~= (bucket and 'hash' or 'string') then
    return redis.error_reply('WRONGTYPE ' .. key .. ' is a ' .. t)
  end
  local n = (bucket and redis.call('HGET', key, 'latencySumMs')) or (not bucket and redis.call('GET', key))
  if n and tonumber(n) == nil then
    return redis.error_reply('WRONGTYPE ' .. key .. ' holds a number that does not parse')
  end
end
redis.call('SET', KEYS[#KEYS], FORMAT, 'NX')
local ttl, last, applied, a, k = ARGV[1], {}, 0, 4, 2
for _ = 1, tonumber(ARGV[3]) do
  local counter, seq, buckets = KEYS[k], tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  last[counter] = last[counter] or tonumber(redis.call('GET', counter) or '0')
  local apply = seq > last[counter]
  if apply then last[counter], applied = seq, applied + 1 end
  k, a = k + 1, a + 2
  for _ = 1, buckets do
    local key, n = KEYS[k], tonumber(ARGV[a + 2])
    local sum, m = ARGV[a + 3 + n * 2], tonumber(ARGV[a + 4 + n * 2])
    if apply then
      for i = a + 3, a + 1 + n * 2, 2 do
        if redis.call('HINCRBY', key, ARGV[i], ARGV[i + 1]) > MAX_COUNT then
          redis.call('HSET', key, ARGV[i], '9007199254740991')
        end
      end
      if sum ~= '0' then
        -- Added as doubles, like JavaScript adds them (HINCRBYFLOAT uses long doubles), and
        -- written with 17 digits so the exact double comes back.
        local total = tonumber(redis.call('HGET', key, 'latencySumMs') or '0') + tonumber(sum)
        redis.call('HSET', key, 'latencySumMs', string.format('%.17g', math.min(total, MAX_SUM)))
      end
      for i = a + 5 + n * 2, a + 3 + (n + m) * 2, 2 do
        local current = tonumber(redis.call('HGET', key, ARGV[i]) or '0')
        -- A register that does not parse is left for readMetrics to report, never overwritten.
        if current ~= nil and tonumber(ARGV[i + 1]) > current then redis.call('HSET', key, ARGV[i], ARGV[i + 1]) end
      end
      redis.call('EXPIRE', key, ttl)
      redis.call('ZADD', KEYS[1], ARGV[a + 1], ARGV[a])
    end
    k, a = k + 1, a + 5 + (n + m) * 2
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
 * KEYS: index, format. ARGV: since, bucket prefix, '1' with registers / '0' without, '1' to filter by
 * feature / '0', encoded features... Returns a flat list of (index member, HGETALL reply, less
 * the register fields `u:*` when not asked for) for live buckets with start >= since.
 */
export const READ_METRICS = script(
  'KEYS[2]',
  `
local wanted = ARGV[4] == '1' and {} or nil
if wanted then for i = 5, #ARGV do wanted[ARGV[i]] = true end end
local out = {}
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf')) do
  if wanted == nil or wanted[string.match(member, '^([^:]*):') or ''] then
    local fields, kept = redis.call('HGETALL', ARGV[2] .. member), {}
    for i = 1, #fields, 2 do
      if ARGV[3] == '1' or string.sub(fields[i], 1, 2) ~= 'u:' then
        kept[#kept + 1] = fields[i]
        kept[#kept + 1] = fields[i + 1]
      end
    end
    if #fields > 0 then
      out[#out + 1] = member
      out[#out + 1] = kept
    end
  end
end
return out
`,
);
