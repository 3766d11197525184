"""The Lua scripts :class:`~otpgate.state.redis.RedisState` runs in Redis.

Scripts, so that concurrent failures from several processes count one by
one.  Each counting step is a Lua function, defined once and used both by
the single-purpose scripts (``failure``, ``window_failure``) and by the one
script a refused login attempt sends (``tell``).  Lua numbers go back to
Redis as integers, so fractional results are returned as strings.
"""

from __future__ import annotations

from typing import Final

__all__ = ["FAILURE", "TELL", "WINDOW"]

# backoff(key, now, free, base, cap) -> {delay or "", blocked_until}: one more
# failure of a backoff entry (a hash: f failures, l last failure, b blocked until).
_BACKOFF: Final = """
local function backoff(key, now, free, base, cap)
  local e = redis.call('HMGET', key, 'f', 'l', 'b')
  local f, last, blocked = tonumber(e[1]) or 0, tonumber(e[2]) or now, tonumber(e[3]) or now
  if now >= blocked and now - last >= cap then f = 0; blocked = now end
  f = f + 1
  local delay = ''
  local over = f - free
  if over > 0 then
    local d = math.min(base * 2 ^ math.min(over - 1, 64), cap)
    delay = tostring(d)
    if now + d > blocked then blocked = now + d end
  end
  redis.call('HSET', key, 'f', f, 'l', tostring(now), 'b', tostring(blocked))
  local keep = math.max(blocked, now + cap) - now
  redis.call('PEXPIRE', key, math.ceil(keep * 1000) + 1000)
  return {delay, tostring(blocked)}
end
"""

# window(key, now, width, limit, member) -> count: one more failure time in a
# sliding window (a sorted set), of which the last `limit` are kept.
_WINDOW: Final = """
local function window(key, now, width, limit, member)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. tostring(now - width))
  redis.call('ZADD', key, now, member)
  local n = redis.call('ZCARD', key)
  if n > limit then redis.call('ZREMRANGEBYRANK', key, 0, n - limit - 1) end
  redis.call('PEXPIRE', key, math.ceil(width * 1000) + 1000)
  return n
end
"""

# KEYS[1] the entry; ARGV now, free, base, cap.
FAILURE: Final = (
    _BACKOFF
    + """
return backoff(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]))
"""
)

# KEYS[1] the window; ARGV now, width, limit, a unique member.
WINDOW: Final = (
    _WINDOW
    + """
return window(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4])
"""
)

# KEYS[1] the backoff entry, KEYS[2] (optional) the window; ARGV now, free,
# base, cap, counted ("1" or "0"), width, limit, a unique member.  A refusal
# that is not counted sends the same command and changes nothing.
TELL: Final = (
    _BACKOFF
    + _WINDOW
    + """
if ARGV[5] ~= '1' then return {'', ''} end
local now = tonumber(ARGV[1])
if KEYS[2] then window(KEYS[2], now, tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8]) end
return backoff(KEYS[1], now, tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]))
"""
)
