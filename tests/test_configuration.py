"""ipv8fast.configuration: defaults, ConfigBuilder parity with py-ipv8, and validation messages."""
from __future__ import annotations

import base64
import copy
from collections.abc import Callable
from typing import Any

import pytest

from ipv8fast import configuration as cfg
from ipv8fast.configuration import (
    DISPERSY_BOOTSTRAPPER,
    Bootstrapper,
    BootstrapperDefinition,
    ConfigBuilder,
    ConfigurationError,
    Strategy,
    WalkerDefinition,
    default_bootstrap_defs,
    get_default_configuration,
    validate_configuration,
)
from ipv8fast.keys import default_eccrypto

ref = pytest.importorskip("ipv8.configuration")


def in_scope(config: dict[str, Any]) -> dict[str, Any]:
    """py-ipv8's configuration without the overlays ipv8fast does not implement."""
    config = copy.deepcopy(config)
    config["overlays"] = [o for o in config["overlays"] if o["class"] not in cfg.OUT_OF_SCOPE_OVERLAYS]
    return config


# -- defaults -------------------------------------------------------------------------------------------

def test_default_is_py_ipv8_default_without_out_of_scope_overlays() -> None:
    ours = get_default_configuration()
    assert [o["class"] for o in ours["overlays"]] == ["DiscoveryCommunity"]
    assert ours == in_scope(ref.get_default_configuration())
    assert DISPERSY_BOOTSTRAPPER == ref.DISPERSY_BOOTSTRAPPER
    assert len(DISPERSY_BOOTSTRAPPER["init"]["ip_addresses"]) == 13
    assert len(DISPERSY_BOOTSTRAPPER["init"]["dns_addresses"]) == 7


def test_default_configuration_is_a_deep_copy() -> None:
    first = get_default_configuration()
    first["overlays"][0]["walkers"][0]["peers"] = 99
    first["overlays"][0]["bootstrappers"][0]["init"]["ip_addresses"].clear()
    second = get_default_configuration()
    assert second["overlays"][0]["walkers"][0]["peers"] == 20
    assert len(second["overlays"][0]["bootstrappers"][0]["init"]["ip_addresses"]) == 13
    assert cfg.default["overlays"][0]["bootstrappers"][0] is not DISPERSY_BOOTSTRAPPER  # a shallow copy
    assert cfg.default["overlays"][0]["bootstrappers"][0]["init"] is DISPERSY_BOOTSTRAPPER["init"]


def test_enums_and_definitions() -> None:
    assert Strategy.values() == ref.Strategy.values()
    assert Bootstrapper.values() == ref.Bootstrapper.values()
    assert Strategy.RandomWalk.value == "RandomWalk"
    walker = WalkerDefinition(Strategy.EdgeWalk, 5, {})
    assert walker._fields == ("strategy", "peers", "init") and walker.peers == 5
    assert BootstrapperDefinition._fields == ("bootstrapper", "init")
    assert len(default_bootstrap_defs) == 1
    assert default_bootstrap_defs[0].bootstrapper is Bootstrapper.DispersyBootstrapper
    assert default_bootstrap_defs[0].init is DISPERSY_BOOTSTRAPPER["init"]
    assert set(cfg.__all__) >= set(ref.__all__)


# -- ConfigBuilder --------------------------------------------------------------------------------------

def build(module: Any, steps: Callable[[Any, Any], Any], clean: bool = False) -> dict[str, Any]:
    builder = module.ConfigBuilder(clean)
    steps(builder, module)
    return builder.config


SCENARIOS: dict[str, Callable[[Any, Any], Any]] = {
    "tutorial-3": lambda b, m: b.clear_keys().clear_overlays().add_key("my peer", "medium", "ec1.pem").add_overlay(
        "MyCommunity", "my peer", [m.WalkerDefinition(m.Strategy.RandomWalk, 10, {"timeout": 3.0})],
        m.default_bootstrap_defs, {}, [("started",)]),
    "interfaces": lambda b, m: b.set_address("127.0.0.1").set_port(9000).set_address("::1", "UDPIPv6")
    .set_port(9001, "UDPIPv6").set_port(9002),
    "misc": lambda b, m: b.set_log_level("DEBUG").set_working_directory("/tmp/x").set_walker_interval(2.5)
    .add_key("anonymous id", "curve25519", "other.pem").add_key_from_bin("b", "AAAA", None)
    .add_key_from_bin("c", "AAAA", "c.pem"),
    "duplicates": lambda b, m: b.add_overlay("A", "anonymous id", [], [], {"x": 1}, []).add_overlay(
        "A", "anonymous id", [m.WalkerDefinition(m.Strategy.EdgeWalk, -1, {})],
        [m.BootstrapperDefinition(m.Bootstrapper.UDPBroadcastBootstrapper, {})], {}, [])
    .add_overlay("A", "anonymous id", [], [], {}, [], allow_duplicate=True)
    .add_overlay("DiscoveryCommunity", "anonymous id", [], [], {}, []),
}


@pytest.mark.parametrize("clean", [False, True])
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_builder_matches_py_ipv8(name: str, clean: bool) -> None:
    ours = build(cfg, SCENARIOS[name], clean)
    theirs = build(ref, SCENARIOS[name], clean)
    if "overlays" in theirs:
        theirs = {**theirs, "overlays": in_scope(theirs)["overlays"]}
    assert ours == theirs


def test_builder_fluent_and_finalize_returns_same_dict() -> None:
    builder = ConfigBuilder()
    real = base64.b64encode(default_eccrypto.generate_key("curve25519").key_to_bin()).decode()
    for call in (lambda: builder.clear_keys(), lambda: builder.clear_overlays(), lambda: builder.set_port(1),
                 lambda: builder.set_address("127.0.0.1"), lambda: builder.set_log_level("INFO"),
                 lambda: builder.set_working_directory("."), lambda: builder.set_walker_interval(1),
                 lambda: builder.add_key("k", "curve25519", ""), lambda: builder.add_key_from_bin("j", real),
                 lambda: builder.add_ephemeral_key("e"),
                 lambda: builder.add_overlay("X", "k", [], default_bootstrap_defs, {}, [])):
        assert call() is builder
    assert builder.finalize() is builder.config
    assert ConfigBuilder(clean=True).config == {}


def test_builder_assertions_are_configuration_errors() -> None:
    with pytest.raises(AssertionError, match=r"logger.level: expected one of .*, got 'LOUD'"):
        ConfigBuilder().set_log_level("LOUD")
    with pytest.raises(ConfigurationError, match="generation: expected one of .*got 'huge'"):
        ConfigBuilder().add_key("a", "huge", "a.pem")
    with pytest.raises(AssertionError, match="keys: required key is missing"):
        ConfigBuilder(clean=True).finalize()


def test_ephemeral_key_is_a_usable_private_key() -> None:
    config = ConfigBuilder().clear_keys().add_ephemeral_key("eph").config
    (block,) = config["keys"]
    assert block["alias"] == "eph" and block["file"] == ""
    key = default_eccrypto.key_from_private_bin(base64.b64decode(block["bin"]))
    assert key.pub().key_to_bin().startswith(b"LibNaCLPK:")


def test_finalize_rules() -> None:
    builder = ConfigBuilder().add_overlay("MyCommunity", "anonymous id", [], [], {}, [])
    del builder.config["interfaces"]  # finalize does not need interfaces (an endpoint may be passed)
    builder.finalize()
    del builder.config["working_directory"]
    with pytest.raises(AssertionError, match="working_directory: required key is missing"):
        builder.finalize()
    validate_configuration(builder.config, require_interfaces=False)  # IPv8 itself does not need it


def test_unknown_bootstrapper_strict_only() -> None:
    config = get_default_configuration()
    config["overlays"][0]["bootstrappers"].append({"class": "MyBootstrapper", "init": {"x": 1}})
    validate_configuration(config)  # IPv8 ignores unknown bootstrapper names, as py-ipv8 does
    with pytest.raises(ConfigurationError, match=r"overlays\[0\].bootstrappers\[1\].class: expected one of "
                                                 r"DispersyBootstrapper, UDPBroadcastBootstrapper, "
                                                 r"got 'MyBootstrapper'"):
        validate_configuration(config, strict=True)


# -- py-ipv8's configurations validate --------------------------------------------------------------------

def test_py_ipv8_configurations_validate() -> None:
    validate_configuration(in_scope(ref.get_default_configuration()), strict=True)
    for name, steps in SCENARIOS.items():
        config = in_scope(build(ref, steps))
        if name == "misc":  # "AAAA" is not a key: swap in real key material
            real = base64.b64encode(default_eccrypto.generate_key("curve25519").key_to_bin()).decode()
            for block in config["keys"]:
                if "bin" in block:
                    block["bin"] = real
        validate_configuration(config, strict=True)
        validate_configuration(ref.ConfigBuilder(clean=False).clear_overlays().add_ephemeral_key("x").finalize())
    builder = ref.ConfigBuilder().clear_keys().clear_overlays()
    builder.add_key("my peer", "curve25519", "")
    builder.add_overlay("MyCommunity", "my peer",
                        [ref.WalkerDefinition(ref.Strategy.RandomWalk, 10, {"timeout": 3.0}),
                         ref.WalkerDefinition(ref.Strategy.EdgeWalk, 20, {"edge_length": 4})],
                        [ref.BootstrapperDefinition(ref.Bootstrapper.DispersyBootstrapper,
                                                    {"ip_addresses": [("127.0.0.1", 1)], "dns_addresses": []}),
                         ref.BootstrapperDefinition(ref.Bootstrapper.UDPBroadcastBootstrapper, {})],
                        {"max_peers": 10}, [("started", 1, "two")])
    validate_configuration(builder.finalize(), strict=True)


def test_tutorial_raw_dict_overlay_validates() -> None:
    config = get_default_configuration()
    config["keys"] = [{"alias": "my peer", "generation": "medium", "file": "ec1.pem"}]
    config["overlays"] = [{
        "class": "MyCommunity", "key": "my peer",
        "walkers": [{"strategy": "MyDiscoveryStrategy", "peers": -1, "init": {}}],
        "bootstrappers": [DISPERSY_BOOTSTRAPPER.copy()], "initialize": {}, "on_start": [],
    }]
    config["logger"] = {"level": 30, "format": "%(message)s"}
    assert validate_configuration(config) is config


# -- out of scope -----------------------------------------------------------------------------------------

def test_py_ipv8_default_names_out_of_scope_overlays() -> None:
    with pytest.raises(ConfigurationError) as info:
        validate_configuration(ref.get_default_configuration())
    text = str(info.value)
    assert "overlays[1].class: 'HiddenTunnelCommunity' is outside ipv8fast's scope (anonymization (tunnels))" in text
    assert "overlays[2].class: 'DHTDiscoveryCommunity' is outside ipv8fast's scope (the DHT)" in text
    assert "overlays[2].walkers[1].strategy: 'PingChurn' is outside ipv8fast's scope" in text
    assert len(info.value.errors) == 3


@pytest.mark.parametrize("name", sorted(cfg.OUT_OF_SCOPE_OVERLAYS))
def test_out_of_scope_overlay_class(name: str) -> None:
    config = ConfigBuilder().add_overlay(name, "anonymous id", [], [], {}, []).config
    with pytest.raises(ConfigurationError, match=rf"overlays\[1\].class: '{name}' is outside ipv8fast's scope"):
        validate_configuration(config)
    validate_configuration(config, extra_communities={name: object})  # the user's own class of that name


def test_anonymize_is_out_of_scope() -> None:
    config = get_default_configuration()
    config["overlays"][0]["initialize"]["anonymize"] = True
    with pytest.raises(ConfigurationError, match=r"overlays\[0\].initialize.anonymize: .*outside ipv8fast's scope"):
        validate_configuration(config)


# -- bad keys and values ------------------------------------------------------------------------------------

def walker(config: dict[str, Any]) -> dict[str, Any]:
    return config["overlays"][0]["walkers"][1]


def boot(config: dict[str, Any]) -> dict[str, Any]:
    return config["overlays"][0]["bootstrappers"][0]["init"]


BAD: list[tuple[Callable[[dict[str, Any]], Any], str]] = [
    (lambda c: walker(c).update(peers="ten"), r"overlays[0].walkers[1].peers: expected int, got 'ten'"),
    (lambda c: walker(c).update(peers=True), "overlays[0].walkers[1].peers: expected int, got True"),
    (lambda c: walker(c).update(peers=-2), "overlays[0].walkers[1].peers: expected -1 (always step) or a peer count"),
    (lambda c: walker(c).update(peers=2.0), "overlays[0].walkers[1].peers: expected int, got 2.0"),
    (lambda c: walker(c).pop("init"), "overlays[0].walkers[1].init: required key is missing"),
    (lambda c: walker(c).update(init={1: 2}), "overlays[0].walkers[1].init[1]: keyword names must be str, got 1"),
    (lambda c: walker(c).update(init=[]), "overlays[0].walkers[1].init: expected a dict of keyword arguments, got []"),
    (lambda c: walker(c).update(strategy=""), "overlays[0].walkers[1].strategy: expected a non-empty str, got ''"),
    (lambda c: walker(c).update(strategy=None), "overlays[0].walkers[1].strategy: expected a non-empty str, got None"),
    (lambda c: walker(c).update(peer=walker(c).pop("peers")),
     "overlays[0].walkers[1].peers: required key is missing (found 'peer': misspelled?)"),
    (lambda c: c.update(walker_interval="fast"), "walker_interval: expected a number of seconds, got 'fast'"),
    (lambda c: c.update(walker_interval=-0.5), "walker_interval: expected a finite number >= 0, got -0.5"),
    (lambda c: c.update(walker_interval=float("nan")), "walker_interval: expected a finite number >= 0, got nan"),
    (lambda c: c.pop("walker_interval"), "walker_interval: required key is missing"),
    (lambda c: c.update(walker_intervall=c.pop("walker_interval")),
     "walker_interval: required key is missing (found 'walker_intervall': misspelled?)"),
    (lambda c: c.update(overlays={}), "overlays: expected a list, got {}"),
    (lambda c: c.update(logger="INFO"), "logger: expected a dict, got 'INFO'"),
    (lambda c: c["logger"].update(level="LOUD"), "logger.level: expected one of CRITICAL, ERROR, WARNING, INFO"),
    (lambda c: c["logger"].update(levle="INFO"), "logger.levle: not a logging.basicConfig argument"),
    (lambda c: c["interfaces"][0].update(port=70000),
     "interfaces[0].port: expected a port number in 0..65535, got 70000"),
    (lambda c: c["interfaces"][0].update(port="8090"), "interfaces[0].port: expected int, got '8090'"),
    (lambda c: c["interfaces"][0].update(interface="TCP"),
     "interfaces[0].interface: expected one of UDPIPv4, UDPIPv6, got 'TCP'"),
    (lambda c: c["interfaces"][0].update(ip=127), "interfaces[0].ip: expected str, got 127"),
    (lambda c: c.pop("interfaces"), "interfaces: required key is missing"),
    (lambda c: c["keys"][0].pop("file"), "keys[0].file: required key is missing"),
    (lambda c: c["keys"][0].update(generation="ultra"),
     "keys[0].generation: expected one of very-low, low, medium, high, curve25519, got 'ultra'"),
    (lambda c: c["keys"][0].pop("generation"), "keys[0]: needs 'generation' or 'bin' (or a 'file' that exists)"),
    (lambda c: c["keys"][0].update(bin="!!notbase64"), "keys[0].bin: "),
    (lambda c: c["keys"][0].update(bin=base64.b64encode(b"junk").decode()),
     "keys[0].bin: does not decode to a private key"),
    (lambda c: c["keys"][0].update(bin=5), "keys[0].bin: expected a base64 str, got 5"),
    (lambda c: c["keys"][0].update(file=3), "keys[0].file: expected a path or \"\", got 3"),
    (lambda c: c["overlays"][0].update(key="nobody"),
     "overlays[0].key: unknown key alias 'nobody' (aliases in 'keys': 'anonymous id')"),
    (lambda c: c["overlays"][0].pop("on_start"), "overlays[0].on_start: required key is missing"),
    (lambda c: c["overlays"][0].update(on_start=["started"]),
     "overlays[0].on_start[0]: expected a (method_name, *args) tuple, got 'started'"),
    (lambda c: c["overlays"][0].update(on_start=[(1, 2)]),
     "overlays[0].on_start[0][0]: expected a method name (str), got 1"),
    (lambda c: c["overlays"][0].update(initialize={"max_peers": 1, 2: 3}),
     "overlays[0].initialize[2]: keyword names must be str, got 2"),
    (lambda c: c["overlays"][0].update({"class": 42}), "overlays[0].class: expected a non-empty str, got 42"),
    (lambda c: c["overlays"].append("DiscoveryCommunity"), "overlays[1]: expected a dict, got 'DiscoveryCommunity'"),
    (lambda c: boot(c).update(ip_addresses=[("1.2.3.4", 99999)]),
     "overlays[0].bootstrappers[0].init.ip_addresses[0][1]: expected a port number in 0..65535, got 99999"),
    (lambda c: boot(c).update(ip_addresses=["1.2.3.4:80"]),
     "overlays[0].bootstrappers[0].init.ip_addresses[0]: expected a (host, port) pair, got '1.2.3.4:80'"),
    (lambda c: boot(c).update(dns_addresses=[(None, 80)]),
     "overlays[0].bootstrappers[0].init.dns_addresses[0][0]: expected a host str, got None"),
    (lambda c: boot(c).update(bootstrap_timeout="soon"),
     "overlays[0].bootstrappers[0].init.bootstrap_timeout: expected a number of seconds, got 'soon'"),
    (lambda c: boot(c).update(timeout=3),
     "overlays[0].bootstrappers[0].init.timeout: not an argument of DispersyBootstrapper"),
    (lambda c: boot(c).pop("dns_addresses"),
     "overlays[0].bootstrappers[0].init.dns_addresses: required key is missing"),
    (lambda c: c["overlays"][0]["bootstrappers"].append({"class": "UDPBroadcastBootstrapper", "init": {"port": 1}}),
     "overlays[0].bootstrappers[1].init.port: not an argument of UDPBroadcastBootstrapper"),
    (lambda c: c.update(port="x"), "port: expected int, got 'x'"),
    (lambda c: c.update(working_directory=3), "working_directory: expected a path, got 3"),
]


@pytest.mark.parametrize(("mutate", "message"), BAD,
                         ids=[message.split(":")[0] + f"#{i}" for i, (_, message) in enumerate(BAD)])
def test_bad_configuration_names_key_and_value(mutate: Callable[[dict[str, Any]], Any], message: str) -> None:
    config = get_default_configuration()
    mutate(config)
    with pytest.raises(ConfigurationError) as info:
        validate_configuration(config)
    assert any(line.startswith(message) for line in str(info.value).splitlines()), str(info.value)
    assert isinstance(info.value, ValueError) and isinstance(info.value, AssertionError)


def test_all_problems_reported_at_once() -> None:
    config = get_default_configuration()
    walker(config)["peers"] = "ten"
    config["walker_interval"] = -1
    config["keys"][0]["generation"] = "ultra"
    with pytest.raises(ConfigurationError) as info:
        validate_configuration(config)
    assert [path for path, _ in info.value.errors] == ["walker_interval", "keys[0].generation",
                                                       "overlays[0].walkers[1].peers"]


def test_not_a_dict() -> None:
    with pytest.raises(ConfigurationError, match="expected the configuration to be a dict, got"):
        validate_configuration([("keys", [])])


def test_accepted_variants(tmp_path: Any) -> None:
    config = get_default_configuration()
    del config["interfaces"]
    config["address"], config["port"] = "127.0.0.1", 0  # deprecated form, converted by IPv8
    config["extra_user_setting"] = {"anything": object()}  # unknown keys are ignored, as in py-ipv8
    config["overlays"][0]["walkers"][0]["note"] = "ignored"
    key_file = tmp_path / "k.pem"
    key_file.write_bytes(default_eccrypto.generate_key("curve25519").key_to_bin())
    config["keys"].append({"alias": "from file", "file": str(key_file)})  # no generation needed: it exists
    config["keys"].append({"alias": "none file", "generation": "curve25519", "file": None})
    config["overlays"][0]["on_start"] = [["started", 1], ("other",)]
    config["walker_interval"] = 0
    validate_configuration(config)
    del config["address"], config["port"]
    validate_configuration(config, require_interfaces=False)  # an endpoint_override was given
