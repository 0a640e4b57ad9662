"""The rules hassfest and HACS hold a custom integration to, checked in our own test command.

hassfest does not ship in the Home Assistant wheel, and the HACS action runs on GitHub, so
their rules are written down here from their sources (stored snapshots of the public repos):

- home-assistant/core `script/hassfest/manifest.py`: CUSTOM_INTEGRATION_MANIFEST_SCHEMA,
  `verify_version`, `validate_manifest` (domain = directory, iot_class, no core domain) and
  `sort_manifest` ("Manifest keys are not sorted correctly: domain, name, then alphabetical").
- `script/hassfest/requirements.py` `validate_requirements_format` (no space; parsable).
- `script/hassfest/dependencies.py` (every `homeassistant.components.X` imported is a
  dependency, an after-dependency, or one hassfest allows everyone).
- `script/hassfest/translations.py`: `gen_strings_schema`, `translation_value_validator`
  (no HTML, no placeholder in single quotes, no combined reference, no outer spaces),
  `translation_key_validator`, `data_description_validator`; a custom integration's
  `translations/en.json` is validated as `strings.json` is.
- `script/hassfest/services.py`: CUSTOM_INTEGRATION_SERVICES_SCHEMA (selectors through
  `selector.validate_selector`), a name and description for every service and field, and
  every select selector's `translation_key` under `selector` in en.json.
- `script/hassfest/icons.py`: `icon_schema` for a "device" integration, `icon_value_validator`,
  `ensure_not_same_as_default`; a service icon as Home Assistant 2026.10 reads it
  (`homeassistant/helpers/icon.py` `convert_shorthand_service_icon`: "mdi:..." or
  {"service": ..., "sections": ...}).
- hacs/integration `utils/validate.py`: HACS_MANIFEST_JSON_SCHEMA (hacs.json) and
  INTEGRATION_MANIFEST_JSON_SCHEMA; `validate/information.py` (an information file);
  `validate/integration_domain_override.py` (no core domain); and the brand image a custom
  integration serves itself since Home Assistant 2026.3 (`components/brands`:
  `custom_components/<domain>/brand/icon.png`).

Where Home Assistant 2026.10 allows more than those snapshots (a `data_description` inside a
form section, a translated `unit_of_measurement` of an entity: both in HA 2026.10's own
translation files), so does this test; nothing here is looser than the snapshots otherwise.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import homeassistant
import homeassistant.helpers.config_validation as cv
import pytest
import voluptuous as vol
import yaml
from awesomeversion import AwesomeVersion, AwesomeVersionException, AwesomeVersionStrategy
from homeassistant.const import Platform, __version__
from homeassistant.helpers import selector
from packaging.requirements import InvalidRequirement, Requirement

ROOT = Path(__file__).parents[2]
COMPONENT = ROOT / "custom_components" / "zcs_azzurro"
CORE = Path(homeassistant.__file__).parent / "components"
# The Home Assistant the tests run against (pytest-homeassistant-custom-component's pin).
HA_VERSION = AwesomeVersion(__version__)


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


# ------------------------------------------------------------------ hassfest: manifest.py


def _version(value: str) -> str:
    try:
        AwesomeVersion(
            value,
            ensure_strategy=[
                AwesomeVersionStrategy.CALVER,
                AwesomeVersionStrategy.SEMVER,
                AwesomeVersionStrategy.SIMPLEVER,
                AwesomeVersionStrategy.BUILDVER,
                AwesomeVersionStrategy.PEP440,
            ],
        )
    except AwesomeVersionException as err:
        raise vol.Invalid(f"{value!r} is not a valid version") from err
    return value


IOT_CLASSES = [
    "assumed_state",
    "calculated",
    "cloud_polling",
    "cloud_push",
    "local_polling",
    "local_push",
]
# What the manifest of a custom integration may hold (matchers only as far as we would use
# them: a list; their inner schema is hassfest's concern the day we declare one).
MANIFEST_SCHEMA = vol.Schema(
    {
        vol.Required("domain"): str,
        vol.Required("name"): str,
        vol.Optional("integration_type", default="hub"): vol.In(
            ["device", "entity", "hardware", "helper", "hub", "service", "system"]
        ),
        vol.Optional("config_flow"): bool,
        vol.Optional("mqtt"): [str],
        vol.Optional("zeroconf"): list,
        vol.Optional("ssdp"): list,
        vol.Optional("bluetooth"): list,
        vol.Optional("homekit"): dict,
        vol.Optional("dhcp"): list,
        vol.Optional("usb"): list,
        vol.Required("documentation"): vol.All(vol.Url(), vol.Match(r"^https://")),
        vol.Optional("issue_tracker"): vol.Url(),
        vol.Optional("quality_scale"): vol.In(
            ["bronze", "silver", "gold", "platinum", "internal", "legacy", "custom", "no_score"]
        ),
        vol.Optional("requirements"): [str],
        vol.Optional("dependencies"): [str],
        vol.Optional("after_dependencies"): [str],
        vol.Required("codeowners"): [str],
        vol.Optional("loggers"): [str],
        vol.Optional("disabled"): str,
        vol.Optional("iot_class"): vol.In(IOT_CLASSES),
        vol.Optional("single_config_entry"): bool,
        # Custom integrations only.
        vol.Required("version"): vol.All(str, _version),
        vol.Optional("import_executor"): bool,
    }
)


def _manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = _json(COMPONENT / "manifest.json")
    return loaded


def test_the_manifest_is_a_valid_custom_integration_manifest() -> None:
    manifest = _manifest()
    MANIFEST_SCHEMA(manifest)
    assert manifest["domain"] == COMPONENT.name
    assert "iot_class" in manifest
    # A custom integration may not take a core integration's domain (hassfest warns, HACS
    # refuses: integration_domain_override.py).
    assert not (CORE / manifest["domain"]).exists()


def test_the_manifest_keys_are_domain_name_then_alphabetical() -> None:
    keys = list(_manifest())
    first = {"domain": ".domain", "name": ".name"}
    assert keys == sorted(keys, key=lambda key: first.get(key, key))


def test_the_manifest_requirements_are_pinned_without_spaces() -> None:
    for requirement in _manifest()["requirements"]:
        assert " " not in requirement
        try:
            parsed = Requirement(requirement)
        except InvalidRequirement as err:  # pragma: no cover - the assertion's message
            pytest.fail(f"{requirement}: {err}")
        # hassfest asks pins of core only; we pin too, so users get what we tested.
        (spec,) = parsed.specifier
        assert spec.operator == "=="


# Components any integration may import without declaring them (dependencies.py ALLOWED_USED
# _COMPONENTS), and the entity platforms.
ALLOWED_IMPORTS = {platform.value for platform in Platform} | {
    "alert",
    "automation",
    "conversation",
    "default_config",
    "device_automation",
    "frontend",
    "group",
    "homeassistant",
    "input_boolean",
    "input_button",
    "input_datetime",
    "input_number",
    "input_select",
    "input_text",
    "media_source",
    "onboarding",
    "panel_custom",
    "persistent_notification",
    "person",
    "script",
    "shopping_list",
    "sun",
    "system_health",
    "system_log",
    "timer",
    "webhook",
    "websocket_api",
    "zone",
}


def _imported_components() -> dict[str, set[str]]:
    """Each `homeassistant.components.X` the integration imports, and where."""
    found: dict[str, set[str]] = {}
    for path in COMPONENT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module.startswith("homeassistant.components."):
                    names.append(node.module.split(".")[2])
                elif node.module == "homeassistant.components":
                    names += [alias.name for alias in node.names]
            elif isinstance(node, ast.Import):
                names += [
                    alias.name.split(".")[2]
                    for alias in node.names
                    if alias.name.startswith("homeassistant.components.")
                ]
            for name in names:
                found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_component_imported_is_declared_and_exists() -> None:
    manifest = _manifest()
    declared = {*manifest["dependencies"], *manifest.get("after_dependencies", [])}
    assert not set(manifest["dependencies"]) & set(manifest.get("after_dependencies", []))
    for name in declared:
        assert (CORE / name / "manifest.json").is_file(), name
    imported = _imported_components()
    assert "modbus" in imported  # the walk sees imports at all
    # An integration's platform of another component (our diagnostics.py) may import it.
    platforms = {path.stem for path in COMPONENT.glob("*.py")}
    undeclared = {
        name: where
        for name, where in imported.items()
        if name not in declared | ALLOWED_IMPORTS | platforms and name != manifest["domain"]
    }
    assert not undeclared


# -------------------------------------------------------------- hassfest: translations.py

TRANSLATION_KEY = re.compile(r"^(?!.+[_-]{2})(?![_-])[a-z0-9-_]+(?<![_-])$")
COMBINED_REFERENCE = re.compile(r"(.+\[%)|(%\].+)")
SINGLE_QUOTED_PLACEHOLDER = re.compile(r"'{\w+}'")


def _key(value: str) -> str:
    if not TRANSLATION_KEY.match(value):
        raise vol.Invalid(f"invalid translation key {value!r}")
    return value


def _text(value: Any) -> str:
    text = cv.string_with_no_html(value)
    if SINGLE_QUOTED_PLACEHOLDER.search(text):
        raise vol.Invalid("a placeholder inside single quotes")
    if COMBINED_REFERENCE.search(text):
        raise vol.Invalid("a combined translation")
    if text != text.strip():
        raise vol.Invalid("leading or trailing spaces")
    return str(text)


def _data_entry() -> Any:
    section = {
        vol.Optional("data"): {str: _text},
        # HA 2026.10's own translations describe section fields too.
        vol.Optional("data_description"): {str: _text},
        vol.Optional("description"): _text,
        vol.Optional("name"): _text,
    }
    schema = vol.Schema(
        {
            vol.Optional("flow_title"): _text,
            vol.Required("step"): {
                str: {
                    vol.Optional("title"): _text,
                    vol.Optional("description"): _text,
                    vol.Optional("data"): {str: _text},
                    vol.Optional("data_description"): {str: _text},
                    vol.Optional("menu_options"): {str: _text},
                    vol.Optional("menu_option_descriptions"): {str: _text},
                    vol.Optional("submit"): _text,
                    vol.Optional("sections"): {str: section},
                }
            },
            vol.Optional("error"): {str: _text},
            vol.Optional("abort"): {str: _text},
            vol.Optional("progress"): {str: _text},
            vol.Optional("create_entry"): {str: _text},
        }
    )

    def described_fields_exist(value: dict[str, Any]) -> dict[str, Any]:
        for step_id, step in value["step"].items():
            parts = [step, *step.get("sections", {}).values()]
            for part in parts:
                for key in part.get("data_description", {}):
                    if key not in part.get("data", {}):
                        raise vol.Invalid(f"{step_id}: data_description {key} is not in data")
        return value

    return vol.All(schema, described_fields_exist)


_STATES = cv.schema_with_slug_keys(_text, slug_validator=_key)
STRINGS_SCHEMA = vol.Schema(
    {
        vol.Optional("title"): _text,
        vol.Optional("config"): _data_entry(),
        vol.Optional("options"): _data_entry(),
        vol.Optional("selector"): cv.schema_with_slug_keys(
            {"options": _STATES}, slug_validator=vol.Any("_", cv.slug)
        ),
        vol.Optional("issues"): {
            str: vol.All(
                cv.has_at_least_one_key("description", "fix_flow"),
                vol.Schema(
                    {
                        vol.Required("title"): _text,
                        vol.Exclusive("description", "fixable"): _text,
                        vol.Exclusive("fix_flow", "fixable"): _data_entry(),
                    }
                ),
            )
        },
        vol.Optional("device"): cv.schema_with_slug_keys(
            {vol.Optional("name"): _text}, slug_validator=_key
        ),
        vol.Optional("entity"): cv.schema_with_slug_keys(
            cv.schema_with_slug_keys(
                {
                    vol.Optional("name"): _text,
                    vol.Optional("unit_of_measurement"): _text,
                    vol.Optional("state"): _STATES,
                    vol.Optional("state_attributes"): cv.schema_with_slug_keys(
                        {vol.Optional("name"): _text, vol.Optional("state"): _STATES},
                        slug_validator=_key,
                    ),
                },
                slug_validator=_key,
            ),
            slug_validator=cv.slug,
        ),
        vol.Optional("exceptions"): cv.schema_with_slug_keys(
            {vol.Optional("message"): _text}, slug_validator=cv.slug
        ),
        vol.Optional("services"): cv.schema_with_slug_keys(
            {
                vol.Required("name"): _text,
                vol.Required("description"): _text,
                vol.Optional("fields"): cv.schema_with_slug_keys(
                    {
                        vol.Required("name"): str,
                        vol.Required("description"): _text,
                        vol.Optional("example"): _text,
                    },
                    slug_validator=_key,
                ),
                vol.Optional("sections"): cv.schema_with_slug_keys(
                    {vol.Required("name"): str, vol.Optional("description"): _text},
                    slug_validator=_key,
                ),
            },
            slug_validator=_key,
        ),
        vol.Optional("common"): vol.Schema({cv.slug: _text}),
    }
)
TRANSLATIONS = ["strings.json", "translations/en.json", "translations/it.json"]


@pytest.mark.parametrize("name", TRANSLATIONS)
def test_the_strings_follow_the_translation_schema(name: str) -> None:
    strings = _json(COMPONENT / name)
    STRINGS_SCHEMA(strings)
    # config.title moved to the root long ago; hassfest names it an error for core.
    assert "title" not in strings["config"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("<b>bold</b>", "HTML"),
        ("Set '{value}' here", "single quotes"),
        ("[%key:common::ok%] and more", "combined"),
        (" padded", "spaces"),
    ],
)
def test_the_translation_rules_refuse_what_hassfest_refuses(text: str, problem: str) -> None:
    strings = _json(COMPONENT / "strings.json")
    strings["config"]["error"]["unknown"] = text
    with pytest.raises(vol.Invalid):
        STRINGS_SCHEMA(strings)


def test_a_field_description_needs_its_field() -> None:
    config = _json(COMPONENT / "strings.json")["config"]
    del config["step"]["eth"]["data"]["host"]
    with pytest.raises(vol.Invalid, match="data_description"):
        _data_entry()(config)


def _abort_reasons() -> set[str]:
    """Every abort the config flow can end with: its own, and those Home Assistant raises for it.

    `async_set_unique_id` aborts a second flow for the same id with already_in_progress unless
    told raise_on_progress=False; `async_update_reload_and_abort` without a reason ends a
    reauth with reauth_successful; `_abort_if_unique_id_configured` with already_configured.
    """
    reasons: set[str] = set()
    tree = ast.parse((COMPONENT / "config_flow.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        keywords = {kw.arg: kw.value for kw in node.keywords}
        reason = keywords.get("reason")
        if isinstance(reason, ast.Constant):
            reasons.add(reason.value)
        match node.func.attr:
            case "async_set_unique_id":
                progress = keywords.get("raise_on_progress")
                if not (isinstance(progress, ast.Constant) and progress.value is False):
                    reasons.add("already_in_progress")
            case "_abort_if_unique_id_configured":
                reasons.add("already_configured")
            case "async_update_reload_and_abort" if reason is None:
                reasons.add("reauth_successful")
    return reasons


@pytest.mark.parametrize("name", TRANSLATIONS)
def test_every_way_the_flow_can_end_has_words(name: str) -> None:
    reasons = _abort_reasons()
    assert {"already_in_progress", "already_configured", "reauth_successful"} <= reasons
    assert reasons <= set(_json(COMPONENT / name)["config"]["abort"])


# ------------------------------------------------------------------ hassfest: services.py


def _exists(value: Any) -> Any:
    if value is None:
        raise vol.Invalid("a value cannot be None")
    return value


FIELD_SCHEMA = vol.Schema(
    {
        vol.Optional("example"): _exists,
        vol.Optional("default"): _exists,
        vol.Optional("required"): bool,
        vol.Optional("advanced"): bool,
        vol.Optional("selector"): selector.validate_selector,
        vol.Optional("filter"): dict,
        vol.Optional("description"): str,
        vol.Optional("name"): str,
    }
)
SECTION_SCHEMA = vol.Schema(
    {
        vol.Optional("description"): str,
        vol.Optional("name"): str,
        vol.Optional("collapsed"): bool,
        vol.Required("fields"): vol.Schema({str: FIELD_SCHEMA}),
    }
)
SERVICES_SCHEMA = vol.Schema(
    {
        cv.slug: vol.Any(
            vol.Schema(
                {
                    vol.Optional("description"): str,
                    vol.Optional("name"): str,
                    vol.Optional("target"): vol.Any(selector.TargetSelector.CONFIG_SCHEMA, None),
                    vol.Optional("fields"): vol.Schema(
                        {str: vol.Any(FIELD_SCHEMA, SECTION_SCHEMA)}
                    ),
                }
            ),
            None,
        )
    }
)


def _services() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((COMPONENT / "services.yaml").read_text())
    return loaded


def test_services_yaml_follows_the_custom_integration_schema() -> None:
    SERVICES_SCHEMA(_services())
    with pytest.raises(vol.Invalid):
        SERVICES_SCHEMA({"read_registers": {"fields": {"address": {"selector": {"nope": {}}}}}})


def test_every_service_field_and_select_is_named_in_english() -> None:
    english = _json(COMPONENT / "translations/en.json")
    icons = _json(COMPONENT / "icons.json")["services"]
    services = _services()
    assert set(english["services"]) == set(services)
    # hassfest errors on a missing icon for core only; a user sees it all the same.
    assert set(icons) == set(services)
    for name, service in services.items():
        strings = english["services"][name]
        assert strings["name"]
        assert strings["description"]
        assert set(strings["fields"]) == set(service["fields"])
        for field_name, field in service["fields"].items():
            assert strings["fields"][field_name]["name"], (name, field_name)
            assert strings["fields"][field_name]["description"], (name, field_name)
            choice = (field.get("selector") or {}).get("select") or {}
            if key := choice.get("translation_key"):
                assert set(english["selector"][key]["options"]) == set(choice["options"])


# --------------------------------------------------------------------- hassfest: icons.py


def _icon(value: Any) -> str:
    icon = cv.string_with_no_html(value)
    if not icon.startswith("mdi:"):
        raise vol.Invalid("an icon starts with mdi:")
    return str(icon)


def _not_the_default(value: dict[str, Any]) -> dict[str, Any]:
    for platform in value.values():
        for key, section in platform.items():
            default = section.get("default")
            for state, icon in section.get("state", {}).items():
                if icon == default:
                    raise vol.Invalid(f"{key}.{state} is the default icon")
    return value


_STATE_ICONS = cv.schema_with_slug_keys(_icon, slug_validator=_key)
_DATA_ENTRY_ICONS = vol.Schema({"step": {str: {"section": {str: _icon}}}})
ICONS_SCHEMA = vol.Schema(
    {
        vol.Optional("config"): _DATA_ENTRY_ICONS,
        vol.Optional("options"): _DATA_ENTRY_ICONS,
        vol.Optional("issues"): vol.Schema({str: {"fix_flow": _DATA_ENTRY_ICONS}}),
        vol.Optional("services"): cv.schema_with_slug_keys(
            vol.Any(
                _icon,
                vol.Schema(
                    {vol.Optional("service"): _icon, vol.Optional("sections"): _STATE_ICONS}
                ),
            ),
            slug_validator=_key,
        ),
        vol.Optional("entity"): vol.All(
            cv.schema_with_slug_keys(
                cv.schema_with_slug_keys(
                    {
                        vol.Optional("default"): _icon,
                        vol.Optional("state"): _STATE_ICONS,
                        vol.Optional("range"): dict,
                        vol.Optional("state_attributes"): cv.schema_with_slug_keys(
                            {vol.Optional("default"): _icon, vol.Optional("state"): _STATE_ICONS},
                            slug_validator=_key,
                        ),
                    },
                    slug_validator=_key,
                ),
                slug_validator=cv.slug,
            ),
            _not_the_default,
        ),
    }
)


def test_icons_json_follows_the_icon_schema() -> None:
    icons = _json(COMPONENT / "icons.json")
    ICONS_SCHEMA(icons)
    english = _json(COMPONENT / "translations/en.json")["entity"]
    for platform, keys in icons["entity"].items():
        assert set(keys) <= set(english[platform]), platform
    same = {"entity": {"sensor": {"x": {"default": "mdi:a", "state": {"on": "mdi:a"}}}}}
    with pytest.raises(vol.Invalid, match="default icon"):
        ICONS_SCHEMA(same)
    with pytest.raises(vol.Invalid):
        ICONS_SCHEMA({"entity": {"sensor": {"x": {"default": "solar"}}}})


# ------------------------------------------------------------------------------- HACS

HACS_JSON_SCHEMA = vol.Schema(
    {
        vol.Optional("content_in_root"): bool,
        vol.Optional("country"): vol.Any(str, [str]),
        vol.Optional("filename"): str,
        vol.Optional("hacs"): str,
        vol.Optional("hide_default_branch"): bool,
        vol.Optional("homeassistant"): str,
        vol.Optional("persistent_directory"): str,
        vol.Optional("render_readme"): bool,
        vol.Optional("zip_release"): bool,
        vol.Required("name"): str,
    },
    extra=vol.PREVENT_EXTRA,
)
HACS_MANIFEST_SCHEMA = vol.Schema(
    {
        vol.Required("codeowners"): list,
        vol.Required("documentation"): cv.url,
        vol.Required("domain"): str,
        vol.Required("issue_tracker"): cv.url,
        vol.Required("name"): str,
        vol.Required("version"): vol.Coerce(AwesomeVersion),
    },
    extra=vol.ALLOW_EXTRA,
)


def test_hacs_takes_the_repository() -> None:
    hacs = HACS_JSON_SCHEMA(_json(ROOT / "hacs.json"))
    HACS_MANIFEST_SCHEMA(_manifest())
    # The oldest Home Assistant hacs.json admits is no newer than the one we test against.
    assert AwesomeVersion(hacs["homeassistant"]) <= HA_VERSION
    # One integration in custom_components/ (HACS installs that directory).
    integrations = [p for p in (ROOT / "custom_components").iterdir() if p.is_dir()]
    assert [p.name for p in integrations if p.name != "__pycache__"] == [COMPONENT.name]
    # An information file, and the brand image Home Assistant serves from the integration.
    assert (ROOT / "README.md").is_file()
    assert (COMPONENT / "brand" / "icon.png").read_bytes().startswith(b"\x89PNG")
