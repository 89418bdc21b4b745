"""The gateway's edge without a broker: trusted proxies, refused text, safe file names, internal ops ports."""
import pytest

from concord_common.errors import MalformedRequest, ValidationFailed
from concord_common.metrics import ops_listen_address
from gateway import input_checks
from gateway.http import attachment_disposition
from gateway.proxies import TrustedProxies


def test_without_trusted_proxies_the_peer_is_the_client():
    proxies = TrustedProxies.from_config({"TRUSTED_PROXIES": None, "TRUST_FORWARDED_FOR": False})
    assert proxies.client_address("203.0.113.9", "198.51.100.1") == "203.0.113.9"
    assert not proxies.forwarded_https("203.0.113.9", "https")


def test_one_hop_takes_the_rightmost_address_not_what_the_client_wrote():
    for config in ({"TRUSTED_PROXIES": "1"}, {"TRUST_FORWARDED_FOR": True}, {"TRUST_FORWARDED_FOR": "true"}):
        proxies = TrustedProxies.from_config(config)
        # the client sent "X-Forwarded-For: 10.9.9.9"; nginx appended the address it saw
        assert proxies.client_address("172.18.0.5", "10.9.9.9, 198.51.100.7") == "198.51.100.7", config
        assert proxies.client_address("172.18.0.5", "198.51.100.7") == "198.51.100.7"
        assert proxies.forwarded_https("172.18.0.5", "https")


def test_two_hops_and_too_few_hops():
    proxies = TrustedProxies.from_config({"TRUSTED_PROXIES": "2"})
    assert proxies.client_address("10.0.0.2", "6.6.6.6, 198.51.100.7, 10.0.0.1") == "198.51.100.7"
    assert proxies.client_address("10.0.0.2", "198.51.100.7") == "10.0.0.2"       # not through both proxies
    assert proxies.client_address("10.0.0.2", "not-an-address, 10.0.0.1") == "10.0.0.2"


def test_cidrs_walk_left_past_trusted_hops_only():
    proxies = TrustedProxies.from_config({"TRUSTED_PROXIES": "10.0.0.0/8, 172.16.0.0/12"})
    assert proxies.client_address("172.18.0.5", "6.6.6.6, 198.51.100.7, 10.1.2.3") == "198.51.100.7"
    assert proxies.client_address("172.18.0.5", "10.1.2.3, 10.4.5.6") == "10.1.2.3"   # all ours: the leftmost
    assert proxies.client_address("172.18.0.5", "garbage, 10.1.2.3") == "10.1.2.3"
    # a peer that is not a trusted proxy: its headers are the client's own words
    assert proxies.client_address("198.51.100.7", "10.1.2.3") == "198.51.100.7"
    assert not proxies.forwarded_https("198.51.100.7", "https")
    assert proxies.forwarded_https("10.0.0.1", "https")


def test_a_nonsense_setting_stops_the_gateway():
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        TrustedProxies.from_config({"TRUSTED_PROXIES": "nginx"})


@pytest.mark.parametrize("text", ["a\x00b", "\ud800", "x\udfffy"])
def test_nul_and_lone_surrogates_in_a_body_name_the_field(text):
    with pytest.raises(ValidationFailed) as raised:
        input_checks.check_json({"given_name": "A", "addresses": [{"line1": text}]})
    assert list(raised.value.errors) == ["addresses.0.line1"]
    input_checks.check_json({"given_name": "Zoë \U0001F600 O'Brien"})       # a real pair is fine


def test_deep_json_is_refused_without_recursion():
    deep = {}
    node = deep
    for _ in range(5000):
        node["a"] = {}
        node = node["a"]
    with pytest.raises(MalformedRequest, match="nested more than"):
        input_checks.check_json(deep)


def test_control_characters_in_the_path_are_refused():
    with pytest.raises(MalformedRequest, match="control character"):
        input_checks.check_text("URL path", "/api/v1/profiles/a\nb")


@pytest.mark.parametrize("name", ['a"b;c.pdf', "r\u00e9sum\u00e9.pdf", "line\r\nbreak.txt", "\ud800.txt", "",
                                  "%22.csv"])
def test_content_disposition_is_safe_for_any_name(name):
    header = attachment_disposition(name)
    assert "\r" not in header and "\n" not in header
    header.encode("latin-1")                                   # werkzeug must be able to send it
    plain = header.split('filename="', 1)[1].split('"', 1)[0]
    assert '"' not in plain and "\\" not in plain
    assert "filename*=UTF-8''" in header


def test_ops_ports_listen_on_internal_addresses_only():
    assert ops_listen_address(None, 9100) == ("127.0.0.1", 9100)
    assert ops_listen_address("10.1.2.3", 9100) == ("10.1.2.3", 9100)
    for public in ("0.0.0.0", "::", "8.8.8.8"):
        with pytest.raises(SystemExit):
            ops_listen_address(public, 9100)
