"""The api's connections to Redis (OPSDESK_REDIS_URL): the hub's cluster, its reading of
Rasa's lock store and socket.io's Redis manager each keep a pool of their own.

A pool holds at most REDIS_CONNECTIONS connections; past them a command waits for one to be
free (up to REDIS_WAIT_SECONDS) instead of failing. redis-py's default pool (5.0 and later)
raises MaxConnectionsError at 100 connections in use: with a few hundred customers at once
that stopped conversation workers (their messages left unprocessed) and socket.io session
requests (the customer never confirmed), as bench/bench_scale.py found at 200 customers.
"""

from __future__ import annotations

import redis.asyncio as aioredis
import socketio

REDIS_CONNECTIONS = 100
REDIS_WAIT_SECONDS = 30.0


def redis_client(redis_url: str) -> aioredis.Redis:
    pool = aioredis.BlockingConnectionPool.from_url(
        redis_url, max_connections=REDIS_CONNECTIONS, timeout=REDIS_WAIT_SECONDS
    )
    return aioredis.Redis.from_pool(pool)


class RedisManager(socketio.AsyncRedisManager):
    """socket.io's Redis manager on such a pool (its own builds redis-py's default one)."""

    def _redis_connect(self) -> None:
        if not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            super()._redis_connect()  # sentinel and the like: as socket.io builds them
            return
        self.redis = redis_client(self.redis_url)
        self.pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        self.connected = True
