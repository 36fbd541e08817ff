"""pytest plugin (`-p tests.servers`, see pyproject.toml): real servers for the test run.

Before Django reads its settings, start PostgreSQL, Valkey and SeaweedFS S3 from their
wheels in a throwaway folder on free ports and point DATABASE_URL, CELERY_BROKER_URL and
S3_ENDPOINT_URL at them (relay/embedded/throwaway.py). Any of the three already set in
the environment is used as it is, e.g. the machine's own PostgreSQL, Redis or RabbitMQ.
"""

import pytest

from relay.embedded.throwaway import ThrowawayStack

_stack = ThrowawayStack()


@pytest.hookimpl(wrapper=True)
def pytest_load_initial_conftests(early_config, parser, args):
    # A wrapper runs before pytest-django's hook, which reads the Django settings.
    if not getattr(early_config.known_args_namespace, "help", False):
        _stack.start()
    return (yield)


def pytest_unconfigure(config):
    _stack.stop()
