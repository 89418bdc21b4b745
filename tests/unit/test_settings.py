from concord_common.settings import SERVICE_NAMES, component_config_path, load_config


def write(tmp_path, text):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_environment_overrides_and_defaults_are_typed(tmp_path, monkeypatch):
    path = write(tmp_path, "A: ${CONCORD_T_A:5}\nB: ${CONCORD_T_B:x}\nC: pre-${CONCORD_T_C:mid}-post\n"
                           "D: ${CONCORD_T_D:[1, 2]}\nE: ${CONCORD_T_E}\n")
    monkeypatch.setenv("CONCORD_T_B", "from-env")
    config = load_config(path)
    assert config == {"A": 5, "B": "from-env", "C": "pre-mid-post", "D": [1, 2], "E": None}


def test_every_component_has_a_config_naming_its_own_database():
    for name in SERVICE_NAMES:
        config = load_config(component_config_path(name))
        assert config["DATABASE_NAME"].endswith("_" + name)
        assert config["AMQP_URI"].startswith("amqp://")
    assert "WEB_SERVER_ADDRESS" in load_config(component_config_path("gateway"))
