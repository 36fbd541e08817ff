import time


def wait_until(predicate, timeout=30, interval=0.1, message="condition"):
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


def worker_idle():
    """No task is running on any worker (scheduled retries may still wait)."""
    from relay.celery import app

    active = app.control.inspect(timeout=1).active() or {}
    return not any(tasks for tasks in active.values())
