"""Lua scripts of the Redis store: each step that changes more than one key of one hash tag
is one script, so it is atomic and costs one round trip. Every key a script touches shares
one hash tag (a session's, or the index tag), so each runs on one Redis Cluster slot; a key
built inside a script (outbox) has the tag of the keys it was given. Key layout:
docs/storage.md."""

from __future__ import annotations

# Appends ARGV[first_body..] (each event's JSON without its leading "{"; the function puts
# "seq" first) to a session's log at `at`, then enforces retention (keep the newest
# `keep_count`, drop the oldest older than `cutoff`); returns the last seq given. Needs at least
# one body. Members are "<at>|<json>", scored by seq. Each event's JSON, as logged, is added
# to the table `logged` when one is given.
_APPEND_LOG = """
local function append_log(seq_key, events_key, at, keep_count, cutoff, first_body, logged)
  local n = #ARGV - first_body + 1
  local last = redis.call('INCRBY', seq_key, n)
  local first = last - n + 1
  local args = {}
  for i = 1, n do
    local seq = first + i - 1
    local body = ARGV[first_body + i - 1]
    local json = '{"seq":' .. seq .. '}'
    if body ~= '}' then json = '{"seq":' .. seq .. ',' .. body end
    if logged then logged[#logged + 1] = json end
    args[#args + 1] = seq
    args[#args + 1] = at .. '|' .. json
    if #args >= 1000 or i == n then  -- unpack() is limited to a few thousand values
      redis.call('ZADD', events_key, unpack(args))
      args = {}
    end
  end
  redis.call('ZREMRANGEBYSCORE', events_key, '-inf', last - tonumber(keep_count))
  local oldest_kept = tonumber(cutoff)
  while true do
    local oldest = redis.call('ZRANGE', events_key, 0, 15)
    local removed = 0
    for _, m in ipairs(oldest) do
      local t = tonumber(string.sub(m, 1, string.find(m, '|', 1, true) - 1))
      if t >= oldest_kept then break end
      redis.call('ZREM', events_key, m)
      removed = removed + 1
    end
    if removed < 16 then break end
  end
  return last
end
"""

# Compare-and-set of a session hash: the new version, or 0 when the version moved or the
# session is gone.
_SET_DOC = """
local function set_doc(session_key, doc, expected_version)
  local v = redis.call('HGET', session_key, 'v')
  if not v or tonumber(v) ~= tonumber(expected_version) then return 0 end
  redis.call('HSET', session_key, 'doc', doc)
  return redis.call('HINCRBY', session_key, 'v', 1)
end
"""

# KEYS: seq counter, event zset, dedupe key. ARGV: now, keep_count, cutoff, dedupe ttl ms ('' for
# no dedupe), then at least one event body (as for append_log). The last seq given; 0 (nothing
# appended) for a duplicate.
APPEND = (
    _APPEND_LOG
    + """
if ARGV[4] ~= '' and not redis.call('SET', KEYS[3], '1', 'NX', 'PX', ARGV[4]) then return 0 end
return append_log(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], 5)
"""
)

# KEYS: session hash. ARGV: doc.
CREATE_SESSION = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'doc', ARGV[1], 'v', 1)
return 1
"""

# KEYS: session hash. ARGV: doc, expected version. 0 when the version moved.
UPDATE_SESSION = _SET_DOC + "return set_doc(KEYS[1], ARGV[1], ARGV[2])\n"

# KEYS: session hash, seq counter, event zset, dedupe key, deadline-kind set; on a single
# server also the index slot's dedupe mark, deadline zset and deadline-at hash. ARGV: doc,
# expected version, now, keep_count, cutoff, dedupe ttl in ms ('' for no dedupe), the bus
# channel to announce the events on ('' for none: the caller rings the bus) and the longest
# notice that carries them (bytes), the number n of deadline kinds, those n kinds, on a single
# server then n member, at pairs, then zero or more event bodies (as for append_log). -1
# (nothing written) when a dedupe mark is set; 0 (nothing written, the seq counter untouched,
# the marks left unset) when the version moved; else {new version, last seq given (0 when no
# events)}. The deadline kinds are remembered with the write. On a cluster the index slot is
# another node's: the caller checks its mark before and sets it and the timers after
# (`SET_DEADLINES`), so `delete_session` finds the kinds; on a single server it is all this
# one step, and so is the bus notice (`[last seq, [events as logged]]`, or the last seq alone
# when longer than allowed): published with the append, it cannot be lost between the two.
UPDATE_AND_APPEND = (
    _SET_DOC
    + _APPEND_LOG
    + """
local one_server = #KEYS == 8
if ARGV[6] ~= '' then
  if redis.call('EXISTS', KEYS[4]) == 1 then return -1 end
  if one_server and redis.call('EXISTS', KEYS[6]) == 1 then return -1 end
end
local version = set_doc(KEYS[1], ARGV[1], ARGV[2])
if version == 0 then return 0 end
if ARGV[6] ~= '' then redis.call('SET', KEYS[4], '1', 'PX', ARGV[6]) end
local kinds = tonumber(ARGV[9])
local first = 10 + kinds
if kinds > 0 then redis.call('SADD', KEYS[5], unpack(ARGV, 10, 9 + kinds)) end
if one_server then
  if ARGV[6] ~= '' then redis.call('SET', KEYS[6], '1', 'PX', ARGV[6]) end
  for i = first, first + 2 * kinds - 1, 2 do
    redis.call('ZADD', KEYS[7], ARGV[i + 1], ARGV[i])
    redis.call('HSET', KEYS[8], ARGV[i], ARGV[i + 1])
  end
  first = first + 2 * kinds
end
local last = 0
if #ARGV >= first then
  local logged = {}
  last = append_log(KEYS[2], KEYS[3], ARGV[3], ARGV[4], ARGV[5], first, logged)
  if ARGV[7] ~= '' then
    local notice = '[' .. last .. ',[' .. table.concat(logged, ',') .. ']]'
    if #notice > tonumber(ARGV[8]) then notice = tostring(last) end
    redis.call('PUBLISH', ARGV[7], notice)
  end
end
return {version, last}
"""
)

# KEYS: session hash, seq, events, command-id set, route-key set, deadline-kind set (one
# session's keys). ARGV: the session's command key prefix.
DELETE_SESSION_KEYS = """
for _, cid in ipairs(redis.call('SMEMBERS', KEYS[4])) do
  redis.call('DEL', ARGV[1] .. cid)
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6])
return 1
"""

# KEYS: route key. ARGV: session id. Deletes the route only while it names that session.
DELETE_ROUTE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""

# Keeps the session's set of command ids alive at least as long as its longest record.
_TRACK_COMMAND = """
redis.call('SADD', KEYS[2], ARGV[2])
local left = redis.call('PTTL', KEYS[2])
if left >= 0 and left < tonumber(ARGV[1]) or left == -2 then
  redis.call('PEXPIRE', KEYS[2], ARGV[1])
end
"""

# KEYS: command record, the session's command-id set. ARGV: ttl ms, command id.
# The record is "P" while pending, "D" .. answer JSON when done.
CLAIM_COMMAND = (
    """
local v = redis.call('GET', KEYS[1])
if v then return v end
redis.call('SET', KEYS[1], 'P', 'PX', ARGV[1])
"""
    + _TRACK_COMMAND
    + "return false\n"
)

# KEYS: as CLAIM_COMMAND. ARGV: ttl ms, command id, answer JSON.
COMPLETE_COMMAND = (
    "redis.call('SET', KEYS[1], 'D' .. ARGV[3], 'PX', ARGV[1])\n" + _TRACK_COMMAND + "return 1\n"
)

# KEYS: command record.
RELEASE_COMMAND = """
if redis.call('GET', KEYS[1]) == 'P' then redis.call('DEL', KEYS[1]) end
return 1
"""

# KEYS: id counter, event hash, route-keys hash, expiry zset, dedupe key, then one zset per
# route key. ARGV: event JSON, expires at, JSON list of the route zset names, dedupe ttl ms
# ('' for no dedupe). 0 (nothing parked) for a duplicate.
PARK = """
if ARGV[4] ~= '' and not redis.call('SET', KEYS[5], '1', 'NX', 'PX', ARGV[4]) then return 0 end
local id = redis.call('INCR', KEYS[1])
redis.call('HSET', KEYS[2], id, ARGV[1])
redis.call('HSET', KEYS[3], id, ARGV[3])
redis.call('ZADD', KEYS[4], ARGV[2], id)
for i = 6, #KEYS do redis.call('ZADD', KEYS[i], id, id) end
return id
"""

_UNPARK = """
local function unpark(ids, events_key, keys_key, expiry_key)
  local out = {}
  for _, id in ipairs(ids) do
    local event = redis.call('HGET', events_key, id)
    if event then
      out[#out + 1] = event
      for _, route in ipairs(cjson.decode(redis.call('HGET', keys_key, id))) do
        redis.call('ZREM', route, id)
      end
    end
    redis.call('HDEL', events_key, id)
    redis.call('HDEL', keys_key, id)
    redis.call('ZREM', expiry_key, id)
  end
  return out
end
"""

# KEYS: route zset, event hash, route-keys hash, expiry zset.
TAKE_PARKED = (
    _UNPARK
    + """
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
redis.call('DEL', KEYS[1])
return unpark(ids, KEYS[2], KEYS[3], KEYS[4])
"""
)

# KEYS: event hash, route-keys hash, expiry zset. ARGV: now, limit.
EXPIRED_PARKED = (
    _UNPARK
    + """
local ids = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
return unpark(ids, KEYS[1], KEYS[2], KEYS[3])
"""
)

_ITEM_FIELDS = "'sid', 'dk', 'p', 'a', 'nb', 'c', 'lo', 'lu', 'e'"

# When a dialog's head may next be claimed: its not_before, or the end of its lease.
_READY_AT = """
local function ready_at(item_key)
  local f = redis.call('HMGET', item_key, 'nb', 'lu')
  local t = tonumber(f[1])
  if f[2] and tonumber(f[2]) > t then t = tonumber(f[2]) end
  return t
end
local function reschedule(prefix, ready_key, dk)
  local head = redis.call('ZRANGE', prefix .. 'ob:d:' .. dk, 0, 0)
  if #head == 0 then
    redis.call('ZREM', ready_key, dk)
  else
    redis.call('ZADD', ready_key, ready_at(prefix .. 'ob:i:' .. head[1]), dk)
  end
end
"""

# KEYS: item hash, id counter, dialog zset, ready zset, all-items set.
# ARGV: item id, session id, dialog key, payload JSON, now.
OUTBOX_ADD = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local n = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'sid', ARGV[2], 'dk', ARGV[3], 'p', ARGV[4], 'a', 0,
  'nb', ARGV[5], 'c', ARGV[5], 'n', n)
redis.call('ZADD', KEYS[3], n, ARGV[1])
redis.call('SADD', KEYS[5], ARGV[1])
if redis.call('ZCARD', KEYS[3]) == 1 then redis.call('ZADD', KEYS[4], ARGV[5], ARGV[3]) end
return 1
"""

# KEYS: ready zset. ARGV: key prefix, now, lease until, limit, owner.
OUTBOX_CLAIM = (
    _READY_AT
    + f"""
local prefix, now, until_ = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local out = {{}}
for _, dk in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, ARGV[4])) do
  local head = redis.call('ZRANGE', prefix .. 'ob:d:' .. dk, 0, 0)
  if #head == 0 then
    redis.call('ZREM', KEYS[1], dk)
  else
    local item_key = prefix .. 'ob:i:' .. head[1]
    if ready_at(item_key) <= now then
      local taken_over = redis.call('HEXISTS', item_key, 'lo')
      redis.call('HSET', item_key, 'lo', ARGV[5], 'lu', until_)
      redis.call('ZADD', KEYS[1], until_, dk)
      local row = redis.call('HMGET', item_key, {_ITEM_FIELDS})
      table.insert(row, 1, head[1])
      table.insert(row, taken_over)
      out[#out + 1] = row
    else
      reschedule(prefix, KEYS[1], dk)
    end
  end
end
return out
"""
)

# KEYS: item hash, ready zset, all-items set. ARGV: key prefix, item id.
OUTBOX_DONE = (
    _READY_AT
    + """
local dk = redis.call('HGET', KEYS[1], 'dk')
if not dk then return 0 end
redis.call('ZREM', ARGV[1] .. 'ob:d:' .. dk, ARGV[2])
redis.call('SREM', KEYS[3], ARGV[2])
redis.call('DEL', KEYS[1])
reschedule(ARGV[1], KEYS[2], dk)
return 1
"""
)

# KEYS: item hash, ready zset. ARGV: key prefix, not_before, attempts, last error ('' = none).
OUTBOX_RETRY = (
    _READY_AT
    + """
local dk = redis.call('HGET', KEYS[1], 'dk')
if not dk then return 0 end
redis.call('HSET', KEYS[1], 'nb', ARGV[2], 'a', ARGV[3])
redis.call('HDEL', KEYS[1], 'lo', 'lu')
if ARGV[4] == '' then
  redis.call('HDEL', KEYS[1], 'e')
else
  redis.call('HSET', KEYS[1], 'e', ARGV[4])
end
reschedule(ARGV[1], KEYS[2], dk)
return 1
"""
)

# KEYS: deadline zset, deadline-at hash. ARGV: now, limit, hidden until.
# Members are kind .. "\\0" .. session id; returns member, at, member, at, ...
DUE_DEADLINES = """
local out = {}
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])) do
  redis.call('ZADD', KEYS[1], ARGV[3], m)
  out[#out + 1] = m
  out[#out + 1] = redis.call('HGET', KEYS[2], m)
end
return out
"""

# KEYS: deadline zset, deadline-at hash, dedupe mark. ARGV: the mark's ttl in ms ('' to leave
# it alone), then member, at pairs. The index step after a write: its timers and its dedupe
# mark in one round trip (both live on the index slot).
SET_DEADLINES = """
if ARGV[1] ~= '' then redis.call('SET', KEYS[3], '1', 'PX', ARGV[1]) end
for i = 2, #ARGV, 2 do
  redis.call('ZADD', KEYS[1], ARGV[i + 1], ARGV[i])
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
end
return 1
"""

# KEYS: deadline zset, deadline-at hash. ARGV: member, at ('' = any). 1 if cleared.
CLEAR_DEADLINE = """
if ARGV[2] ~= '' and redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
"""

# KEYS: deadline zset, deadline-at hash. ARGV: the members to remove.
CLEAR_DEADLINES = """
redis.call('ZREM', KEYS[1], unpack(ARGV))
redis.call('HDEL', KEYS[2], unpack(ARGV))
return 1
"""

# KEYS: event zset, seq counter. The first kept seq; last seq + 1 when none is kept.
OLDEST_SEQ = """
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #oldest > 0 then return tonumber(oldest[2]) end
return (tonumber(redis.call('GET', KEYS[2])) or 0) + 1
"""

# KEYS: lock. ARGV: owner, ttl ms.
TRY_LOCK = """
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if v == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""

# KEYS: lock. ARGV: owner.
UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""
