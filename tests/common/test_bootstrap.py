"""The suite's own Redis: each process that runs tests talks to a server of its own."""

import os


def test_this_process_runs_its_own_redis_server(redis_url):
    import redis

    from tests import bootstrap

    assert bootstrap._redis is not None and bootstrap._redis.poll() is None
    assert redis_url == os.environ["REDIS_URL"] == f"unix://{bootstrap._redis_dir}/redis.sock"
    client = redis.Redis.from_url(redis_url)
    assert client.info("server")["process_id"] == bootstrap._redis.pid
    client.close()
