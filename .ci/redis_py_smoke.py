"""The built-in broker with today's redis-py in its default mode (RESP3 via HELLO 3):
PING, then a pattern subscription that receives a signal sent by `gilmour signal`.

Usage: redis_py_smoke.py path/to/gilmour
"""

import os
import subprocess
import sys
import time

import redis

gilmour = sys.argv[1]
broker = subprocess.Popen(
    [gilmour, "broker", "--port", "0"],
    stdout=subprocess.PIPE,
    stderr=subprocess.DEVNULL,
    text=True,
)
try:
    url = broker.stdout.readline().strip()
    port = int(url.rsplit(":", 1)[1])
    client = redis.Redis(port=port)
    assert client.ping() is True
    pubsub = client.pubsub()
    pubsub.psubscribe("gilmour.*")
    deadline = time.monotonic() + 10
    confirmed = None
    while confirmed is None and time.monotonic() < deadline:
        confirmed = pubsub.get_message(timeout=1)
    assert confirmed and confirmed["type"] == "psubscribe", confirmed
    env = dict(os.environ, REDIS_URL=url)
    subprocess.run(
        [gilmour, "signal", "smoke.redis-py", '{"from":"ci"}'],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    message = None
    while message is None and time.monotonic() < deadline:
        message = pubsub.get_message(timeout=1)
    assert message and message["type"] == "pmessage", message
    assert message["channel"] == b"gilmour.slot.smoke.redis-py", message
    assert b'"from":"ci"' in message["data"], message
    protocol = pubsub.connection.protocol
    print(f"redis-py {redis.__version__} (RESP{protocol}): ping and psubscribe work on the broker")
finally:
    broker.terminate()
    broker.wait(timeout=10)
