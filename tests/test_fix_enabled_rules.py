"""A fix repairs only what an enabled rule flags: with ``--ignore INI004`` (or a
``select`` without it) a split fix leaves the layers only INI004 flags as they were."""

from __future__ import annotations

from pathlib import Path

from init_lint.config import Config, project_settings
from init_lint.engine import Settings, check_path, check_text
from init_lint.fixes import fix_text
from init_lint.rules import Options

FIXTURES = Path(__file__).parent.parent / "fixtures"
LUMPED = FIXTURES / "convnet_apply_lumped_norm_direct_classes.py"


def _only_ini006() -> Settings:
    return project_settings(Config(), ignore=("INI004",)).settings


def test_project_settings_name_the_enabled_codes() -> None:
    assert _only_ini006().options.enabled == ("INI001", "INI002", "INI003", "INI006")
    every = project_settings(Config(), extend_select=("INI005",)).settings
    assert every.options.enabled == ("INI001", "INI002", "INI003", "INI004", "INI005",
                                     "INI006")
    assert Options().enables("INI004") and not Options(enabled=("INI006",)).enables("INI004")


def test_split_fix_with_a_rule_ignored_repairs_only_the_enabled_rules_layers() -> None:
    source = LUMPED.read_text()
    # All rules: the convs (INI004) and the norms (INI006) both change.
    everything = check_path(LUMPED, Settings()).findings
    assert "kaiming_normal_" in everything[0].fix.edits[0].text  # type: ignore[union-attr]
    # INI004 ignored: only the BatchNorm gammas get ones_, every other layer keeps N(0, 1).
    settings = _only_ini006()
    findings = check_text(source, settings)
    assert [f.code for f in findings] == ["INI006"]
    fix = findings[0].fix
    assert fix is not None
    assert fix.edits[0].text == (
        "if isinstance(m, BatchNorm2d):\n"
        "                nn.init.ones_(m.weight)\n"
        "            else:\n"
        "                nn.init.normal_(m.weight, mean=0.0, std=1.0)")
    fixed = fix_text(source, findings).text
    assert check_text(fixed, settings) == []
    # what the ignored rule flags is still there, untouched
    assert [f.code for f in check_text(fixed, Settings())] == ["INI004"]


def test_flake8_plugin_settings_name_the_enabled_codes() -> None:
    from init_lint.flake8_plugin import InitLintChecker
    from init_lint.rules import ALL_RULES

    settings = InitLintChecker.settings()
    assert settings.options.enabled == tuple(
        sorted(rule.code for rule in ALL_RULES if settings.enabled(rule)))
    assert settings.options.enabled is not None and "INI004" in settings.options.enabled


def test_settings_built_in_code_enable_exactly_their_rules_for_fixes() -> None:
    # Settings made directly (the language server, library users) carry no enabled codes
    # in their options: the engine passes the rules they enable to the rules' fixes.
    source = LUMPED.read_text()
    direct = Settings(ignore=("INI004",))
    assert direct.options.enabled is None
    findings = check_text(source, direct)
    assert [f.code for f in findings] == ["INI006"]
    assert findings[0].fix == check_text(source, _only_ini006())[0].fix
