from concord_common import supervise


def test_every_component_gets_its_replica_count(monkeypatch):
    monkeypatch.setenv("REPLICAS", "3")
    monkeypatch.setenv("REPLICAS_AUDIT", "4")
    monkeypatch.setenv("GATEWAY_REPLICAS", "2")
    config = supervise.render_config()
    for service in ("profiles", "cases", "permissions", "notifications"):
        assert f"[program:{service}-2]" in config and f"[program:{service}-3]" not in config
    assert "[program:audit-3]" in config
    assert "[program:gateway-1]" in config and "[program:gateway-2]" not in config
    assert "autorestart=true" in config


def test_ops_ports_do_not_collide(monkeypatch):
    monkeypatch.setenv("REPLICAS", "10")
    monkeypatch.setenv("GATEWAY_REPLICAS", "10")
    ports = [line.split('OPS_PORT="')[1].split('"')[0] for line in supervise.render_config().splitlines()
             if "OPS_PORT=" in line]
    assert len(ports) == len(set(ports)) == 60          # five services and the gateway, ten replicas each
