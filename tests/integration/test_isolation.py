"""Each test run has its own RabbitMQ vhost and database names: the machine's broker is shared."""
from urllib.parse import unquote, urlsplit


def test_this_run_has_its_own_vhost_and_database_prefix(amqp_uri, database_prefix, run_id):
    vhost = unquote(urlsplit(amqp_uri).path.lstrip("/"))
    assert vhost == f"concord-test-{run_id}"
    assert database_prefix == f"concordtest_{run_id}"
