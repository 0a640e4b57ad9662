"""What the README and the docs/ pages say about the integration is what the code does.

Each page is read as a user would read it, and its claims are held to the code they name (the
conventions are in docs/development.md, "Writing the docs"):

- names in italics are names the integration shows in the page's language (strings.json and
  the translations), or a path through Home Assistant's own menus;
- tables marked `<!-- form: ... -->` give a form's fields, defaults and ranges, as the config
  and options flows show them to a user (the flows are run here);
- tables marked `<!-- claims: ... -->` give the links (menu choice, port, Modbus functions, from
  the flow's descriptors), the actions (services.yaml), the controls (a profile's write
  groups) and the bundled profiles (their serial prefixes);
- quoted messages, and code spans naming actions, events, statistics, entity ids and
  command-line flags, exist; links between pages resolve.

Every check returns its problems as text; the tests that feed it a page with a made-up option,
default, port or action show that each can fail.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import voluptuous as vol
import yaml
from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.selector import SelectSelector
from homeassistant.util import slugify
from pytest_homeassistant_custom_component.common import MockConfigEntry

import custom_components.zcs_azzurro as integration
from custom_components.zcs_azzurro import config_flow, const
from custom_components.zcs_azzurro.api.profile.loader import load_bundled
from custom_components.zcs_azzurro.backfill import BACKFILLED
from custom_components.zcs_azzurro.connection import LINKS, function_codes
from simulator import faults, portal, system, wifi

ROOT = Path(__file__).parents[2]
DOCS = ROOT / "docs"
COMPONENT = ROOT / "custom_components" / "zcs_azzurro"
TOPICS = (
    "links",
    "controls",
    "energy",
    "sharing",
    "clouds",
    "plants",
    "profiles",
    "troubleshooting",
    "development",
)
LANGUAGES = ("en", "it")
# Where a path through Home Assistant's own menus starts (its words, not ours), in English
# and Italian (a page may name the other language's path).
MENU_ROOTS = {"Settings", "Impostazioni"}
# How a page says a switch option is off or on.
OFF_ON = {"en": ("off", "on"), "it": ("no", "sì")}
HEADERS = {
    "en": {"field": ("Field", "Option"), "default": "Default", "range": "Range", "msg": "Message"},
    "it": {
        "field": ("Campo", "Opzione"),
        "default": "Predefinito",
        "range": "Intervallo",
        "msg": "Messaggio",
    },
}
# The pages write ranges as people do, with an en dash: 5\u20133600.
DASH = "\u2013"
DEFAULT_WORD = {"en": r"\bdefault\s+", "it": r"\bpredefinit[oa]\s+"}


@dataclass
class Page:
    """One page (or the README's part in one language) as its claims are read."""

    name: str
    language: str
    text: str

    @property
    def prose(self) -> str:
        """The text without code blocks, code spans, HTML comments and bold markers."""
        text = re.sub(r"^```.*?^```", "", self.text, flags=re.DOTALL | re.MULTILINE)
        text = re.sub(r"`[^`]+`", "`code`", text)
        text = re.sub(r"<!--.*?-->", "", text, flags=re.DOTALL)
        return text.replace("**", "")

    def italics(self) -> Iterator[tuple[str, str]]:
        """Each phrase in italics, and the text after it up to the end of its sentence."""
        prose = self.prose
        for match in re.finditer(r"(?<![\w*])\*(?=\S)([^*]+?)(?<=\S)\*(?![\w*])", prose):
            after = re.split(r"(?<=[.;])\s|\n\n|\|", prose[match.end() :], maxsplit=1)[0]
            yield " ".join(match.group(1).split()), after

    def tables(self) -> Iterator[tuple[str | None, list[str], list[list[str]]]]:
        """Each table: the marker right before it (if any), its header and its rows."""
        lines = self.text.splitlines()
        index = 0
        while index < len(lines):
            if not lines[index].startswith("|"):
                index += 1
                continue
            before = [line for line in lines[max(0, index - 2) : index] if line.strip()]
            marker = None
            if before and (found := re.fullmatch(r"<!-- (.+?) -->", before[-1].strip())):
                marker = found.group(1)
            block = []
            while index < len(lines) and lines[index].startswith("|"):
                block.append(_cells(lines[index]))
                index += 1
            yield marker, block[0], block[2:]

    def code_spans(self) -> list[str]:
        """Inline code, and the lines of shell blocks."""
        fence = re.compile(r"^```(\w*)\n(.*?)^```", flags=re.DOTALL | re.MULTILINE)
        spans = re.findall(r"`([^`]+)`", fence.sub("", self.text))
        for language, block in fence.findall(self.text):
            if language == "sh":
                spans += block.splitlines()
        return spans


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def pages() -> list[Page]:
    """The README's two parts and every docs page."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    english, _, rest = readme.partition("\n## In italiano")
    italian = rest.partition("\n## License")[0]
    found = [Page("README.md", "en", english), Page("README.md (In italiano)", "it", italian)]
    for path in sorted(DOCS.glob("*.md")):
        language = "it" if path.name.endswith(".it.md") else "en"
        found.append(Page(f"docs/{path.name}", language, path.read_text(encoding="utf-8")))
    return found


def _strings(language: str) -> dict[str, Any]:
    name = "strings.json" if language == "en" else f"translations/{language}.json"
    loaded: dict[str, Any] = json.loads((COMPONENT / name).read_text(encoding="utf-8"))
    return loaded


# --------------------------------------------------------------------------- names shown


def names_shown(language: str) -> set[str]:
    """Every name the integration shows a user, in one language."""
    strings = _strings(language)
    names: set[str] = set()
    for platform in strings["entity"].values():
        for entity in platform.values():
            names.add(entity["name"])
            names |= set(entity.get("state", {}).values())
            for attribute in entity.get("state_attributes", {}).values():
                names |= {attribute["name"], *attribute.get("state", {}).values()}
    for section in ("config", "options"):
        for step in strings[section]["step"].values():
            names |= {step.get("title", ""), *step.get("data", {}).values()}
            names |= set(step.get("menu_options", {}).values())
            for part in step.get("sections", {}).values():
                names |= {part["name"], *part.get("data", {}).values()}
    for choice in strings["selector"].values():
        names |= set(choice["options"].values())
    names |= {issue["title"] for issue in strings["issues"].values()}
    for service in strings["services"].values():
        names |= {service["name"], *(f["name"] for f in service.get("fields", {}).values())}
    names.discard("")
    return names


def _is_shown(phrase: str, shown: set[str]) -> bool:
    for name in shown:
        pattern = re.escape(name.casefold()).replace(r"\{", "{").replace(r"\}", "}")
        pattern = re.sub(r"\{\w+\}", ".+", pattern)
        if re.fullmatch(pattern, phrase.casefold()):
            return True
    return False


def check_italics(page: Page) -> list[str]:
    """Italics that are no name the integration shows (nor a path through HA's menus)."""
    shown = names_shown(page.language)
    problems = []
    for phrase, _ in page.italics():
        parts = [part.strip() for part in phrase.split("→")]
        if len(parts) > 1 and parts[0] in MENU_ROOTS:
            continue
        problems += [f"{page.name}: *{phrase}*" for part in parts if not _is_shown(part, shown)]
    return problems


# --------------------------------------------------------------------------------- forms


@dataclass
class Form:
    """A form as the flow shows it: its fields, their defaults, ranges and choices (a list's)."""

    fields: list[str]
    defaults: dict[str, Any]
    choices: dict[str, list[str]] = field(default_factory=dict)
    ranges: Mapping[str, tuple[float, float]] = field(default_factory=dict)


def _form(result: Mapping[str, Any], ranges: Mapping[str, tuple[float, float]]) -> Form:
    defaults: dict[str, Any] = {}
    choices: dict[str, list[str]] = {}
    for marker, validator in result["data_schema"].schema.items():
        key = str(marker)
        suggested = (marker.description or {}).get("suggested_value")
        if suggested is not None:
            defaults[key] = suggested
        elif marker.default is not vol.UNDEFINED:
            defaults[key] = marker.default()
        if isinstance(validator, SelectSelector):
            choices[key] = [
                option if isinstance(option, str) else option["value"]
                for option in validator.config["options"]
            ]
    fields = [str(marker) for marker in result["data_schema"].schema]
    return Form(fields, defaults, choices, ranges)


async def shown_forms(hass: HomeAssistant) -> dict[str, Form]:
    """Every form the docs may describe, by "config.<step>" or "options.<step>", as shown."""
    forms: dict[str, Form] = {}
    whole = {**config_flow.RANGES, **config_flow.DECIMAL_RANGES}
    for link in config_flow.LINK_FORMS.keys() - {const.LINK_WIFI}:
        result = await hass.config_entries.flow.async_init(
            const.DOMAIN, context={"source": SOURCE_USER}
        )
        assert result["type"] is FlowResultType.MENU
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"next_step_id": link}
        )
        forms[f"config.{link}"] = _form(result, whole)
        hass.config_entries.flow.async_abort(result["flow_id"])
    # The WiFi stick's menu choice scans first; the scan here finds none (loopback only), so
    # the form by hand is what shows.
    result = await hass.config_entries.flow.async_init(
        const.DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": const.LINK_WIFI}
    )
    assert result["step_id"] == "wifi_manual"
    forms["config.wifi_manual"] = _form(result, whole)
    hass.config_entries.flow.async_abort(result["flow_id"])
    # Options: a HUB entry's (a paced link, a hybrid's profile: every option a local entry
    # can have), and a Portal entry's (the clouds').
    hub = MockConfigEntry(
        domain=const.DOMAIN,
        data={
            const.CONF_LINK: const.LINK_HUB,
            "host": "192.0.2.1",
            "port": 55400,
            "unit_id": 1,
            const.CONF_PROFILE: "zcs_3ph_hyd_zss",
        },
    )
    cloud = MockConfigEntry(domain=const.DOMAIN, data={const.CONF_LINK: const.LINK_PORTAL})
    for entry, step, ranges in (
        (hub, "init", whole),
        (cloud, "portal", config_flow.PORTAL_RANGES),
    ):
        entry.add_to_hass(hass)
        result = await hass.config_entries.options.async_init(entry.entry_id)
        assert result["step_id"] == step
        forms[f"options.{step}"] = _form(result, ranges)
        hass.config_entries.options.async_abort(result["flow_id"])
    return forms


def _labels(language: str, form_id: str) -> dict[str, str]:
    section, step = form_id.split(".")
    data = _strings(language)[section]["step"][step]["data"]
    return {label: key for key, label in data.items()}


def _number(text: str) -> float | None:
    found = re.fullmatch(r"(-?\d+(?:\.\d+)?)(?:\s*s)?", text)
    return float(found.group(1)) if found else None


def _choice_value(text: str, language: str, choices: list[str]) -> str | None:
    """A list choice named in a page (its label in italics, or its value) as its value."""
    plain = text.strip("*")
    if plain in choices:
        return plain
    selector = _strings(language)["selector"]
    for options in (selector[k]["options"] for k in selector):
        for value, label in options.items():
            if label == plain and value in choices:
                return value
    return None


def _same_default(text: str, key: str, form: Form, language: str) -> bool:
    if key not in form.defaults:
        return text == "—"
    default = form.defaults[key]
    if isinstance(default, bool):
        return text == OFF_ON[language][default]
    if key in form.choices:
        return _choice_value(text, language, form.choices[key]) == str(default)
    if isinstance(default, int | float) and (number := _number(text)) is not None:
        return number == default
    return text == str(default)


def _same_range(text: str, key: str, form: Form, language: str) -> bool:
    if key in form.ranges:
        found = re.fullmatch(rf"(\d+(?:\.\d+)?){DASH}(\d+(?:\.\d+)?)", text)
        return bool(found) and tuple(map(float, found.groups())) == form.ranges[key]
    if key in form.choices:
        named = [
            _choice_value(part.strip(), language, form.choices[key]) for part in text.split(",")
        ]
        return named == form.choices[key]
    return text == "—"


def check_forms(page: Page, forms: Mapping[str, Form]) -> list[str]:
    """Form tables whose labels, defaults or ranges are not the form's; prose defaults too."""
    words = HEADERS[page.language]
    problems = []
    for marker, header, rows in page.tables():
        if not (marker and marker.startswith("form: ")):
            if header[0] in words["field"] and words["default"] in header:
                problems.append(f"{page.name}: a table of defaults without a form marker")
            continue
        form_id = marker.removeprefix("form: ")
        form = forms[form_id]
        labels = _labels(page.language, form_id)
        at_default, at_range = header.index(words["default"]), header.index(words["range"])
        for row in rows:
            label = row[0].strip("*")
            if (key := labels.get(label)) is None:
                problems.append(f"{page.name}: {form_id} has no field {label!r}")
                continue
            if not _same_default(row[at_default], key, form, page.language):
                problems.append(f"{page.name}: {label} default {row[at_default]!r}: not the form's")
            if not _same_range(row[at_range], key, form, page.language):
                problems.append(f"{page.name}: {label} range {row[at_range]!r}: not the form's")
        # Every field the form shows is in its table; the profile box, which opens steps of its
        # own, is told of in the text.
        listed = {labels.get(row[0].strip("*")) for row in rows}
        if left_out := set(form.fields) - listed - {config_flow.CONF_CHOOSE_PROFILE}:
            problems.append(f"{page.name}: {form_id} leaves out {sorted(left_out)}")
    # "*Label* ... default X" in prose: X is that field's default in some form.
    for phrase, after in page.italics():
        if not (found := re.search(DEFAULT_WORD[page.language] + r"([^\s,;)]+)", after)):
            continue
        claimed = found.group(1).rstrip(".")
        keys = [
            (form, key)
            for form_id, form in forms.items()
            if (key := _labels(page.language, form_id).get(phrase)) is not None
        ]
        if keys and not any(_same_default(claimed, key, form, page.language) for form, key in keys):
            problems.append(f"{page.name}: *{phrase}* default {claimed!r}: no form's")
    return problems


# --------------------------------------------------------------------- marked claim tables


def _menu(language: str) -> dict[str, str]:
    """The menu's links (a plant is no link: it groups entries already added)."""
    options = _strings(language)["config"]["step"]["user"]["menu_options"]
    return {label: key for key, label in options.items() if key != const.LINK_PLANT}


def _ports(link: str) -> str:
    if link == const.LINK_HUB:
        return ", ".join(str(port) for port in const.HUB_LINES.values())
    form = config_flow.LINK_FORMS.get(link)
    schema = config_flow.WIFI_SCHEMA if link == const.LINK_WIFI else form and form.schema
    ports = [m.default() for m in (schema.schema if schema else {}) if str(m) == "port"]
    return str(ports[0]) if ports else "—"


def check_links(page: Page) -> list[str]:
    """The links table: every menu choice, its default port and the functions it carries."""
    problems = []
    menu = _menu(page.language)
    for marker, _, rows in page.tables():
        if marker != "claims: links":
            continue
        named = [row[0] for row in rows]
        if sorted(named) != sorted(menu):
            problems.append(f"{page.name}: the links table names {named}, the menu {list(menu)}")
        for row in rows:
            if (link := menu.get(row[0])) is None:
                continue
            functions = function_codes(LINKS[link].functions) if link in LINKS else "—"
            if row[2] != _ports(link):
                problems.append(f"{page.name}: {row[0]} port {row[2]!r}, not {_ports(link)!r}")
            if row[3] != functions:
                problems.append(f"{page.name}: {row[0]} functions {row[3]!r}, not {functions!r}")
    return problems


def _services() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((COMPONENT / "services.yaml").read_text())
    return loaded


def _field_claims(field: dict[str, Any] | None, said: str, language: str) -> list[str]:
    """What is said of an action's field (its range, default, choices) that it has not."""
    if field is None:
        return ["no such field"]
    selector = field.get("selector") or {}
    wrong = []
    span = re.search(rf"(-?\d+){DASH}(\d+)", said)
    if span and "number" in selector:
        bounds = (selector["number"]["min"], selector["number"]["max"])
        if tuple(map(int, span.groups())) != bounds:
            wrong.append(f"range {span.group()}")
    default = re.search(DEFAULT_WORD[language] + r"`?([\w.]+)`?", said)
    if default and default.group(1) != str(field.get("default")):
        wrong.append(f"default {default.group(1)}")
    options = (selector.get("select") or {}).get("options", [])
    wrong += [f"no choice {c}" for c in re.findall(r"`(\w+)`", said) if c not in options]
    return wrong


def check_actions(page: Page) -> list[str]:
    """The actions table: each field, its range, default and choices, as services.yaml has."""
    problems = []
    services = _services()
    for marker, _, rows in page.tables():
        if marker != "claims: actions":
            continue
        listed = set()
        for row in rows:
            name = row[0].strip("`").removeprefix(f"{const.DOMAIN}.")
            listed.add(name)
            if name not in services:
                problems.append(f"{page.name}: no action {row[0]}")
                continue
            fields = services[name]["fields"]
            named = set()
            for found in re.finditer(r"`(\w+)`(?:\s*\(([^()]*)\))?", row[1]):
                key, said = found.group(1), found.group(2) or ""
                named.add(key)
                wrong = _field_claims(fields.get(key), said, page.language)
                problems += [f"{page.name}: {name}.{key}: {claim}" for claim in wrong]
            # The target fields are named once in the text above the table.
            missing = set(fields) - named - {"config_entry_id", "device_id"}
            if missing:
                problems.append(f"{page.name}: {name} leaves out {sorted(missing)}")
        if listed != set(services):
            problems.append(f"{page.name}: the actions table lists {sorted(listed)}")
    return problems


def check_controls(page: Page) -> list[str]:
    """The controls table: each control, and the registers its write group spans."""
    problems = []
    entity = _strings(page.language)["entity"]
    for marker, _, rows in page.tables():
        if not (marker and marker.startswith("claims: controls ")):
            continue
        profile = next(p for p in load_bundled() if p.id == marker.split()[-1])
        controls = {(shown.platform, fld.key) for fld, shown in profile.entities() if fld.write} | {
            ("button", group.key) for group in profile.groups if group.kind == "clock"
        }
        seen = set()
        for row in rows:
            names = re.findall(r"\*([^*]+)\*", row[0])
            keys = [
                (platform, key)
                for name in names
                for platform, key in controls
                if entity[platform][key]["name"] == name
            ]
            states = {
                label
                for platform, key in keys
                for label in entity[platform][key].get("state", {}).values()
            }
            problems += [
                f"{page.name}: {name!r} is no control of {profile.id}"
                for name in names
                if name not in states and not any(entity[p][k]["name"] == name for p, k in keys)
            ]
            groups = {
                key if platform == "button" else profile.field(key).write.group  # type: ignore[union-attr]
                for platform, key in keys
            }
            seen |= set(keys)
            if len(groups) != 1:
                problems.append(f"{page.name}: {names} are not one write group: {groups}")
                continue
            span = profile.group(groups.pop()).span
            expected = f"{span.address:#06X}".replace("0X", "0x")
            if span.count > 1:
                expected += DASH + f"{span.end:#06X}".replace("0X", "0x")
            if not row[1].startswith(expected):
                problems.append(f"{page.name}: {names} write {expected}, not {row[1]!r}")
        if seen != controls:
            problems.append(f"{page.name}: controls left out: {sorted(controls - seen)}")
    return problems


def check_profiles(page: Page) -> list[str]:
    """The profiles table: every bundled profile, by name, with its serial prefixes."""
    problems = []
    profiles = {p.name: p for p in load_bundled()}
    for marker, _, rows in page.tables():
        if marker != "claims: profiles":
            continue
        if sorted(row[0] for row in rows) != sorted(profiles):
            problems.append(f"{page.name}: the profiles table lists {[row[0] for row in rows]}")
        for row in rows:
            if (profile := profiles.get(row[0])) is None:
                continue
            prefixes = ", ".join(profile.serial_prefixes) or "—"
            if row[2] != prefixes:
                problems.append(
                    f"{page.name}: {row[0]} serial prefixes {row[2]!r}, not {prefixes!r}"
                )
    return problems


def _messages(language: str) -> list[str]:
    strings = _strings(language)
    texts = [*strings["config"]["error"].values(), *strings["options"]["error"].values()]
    texts += [*strings["config"]["abort"].values()]
    texts += [entry["message"] for entry in strings["exceptions"].values()]
    return [re.sub(r"\{\w+\}", "…", text) for text in texts]


def check_messages(page: Page) -> list[str]:
    """Messages quoted in a table: each the start of one the integration shows."""
    problems = []
    messages = _messages(page.language)
    for _, header, rows in page.tables():
        if header[0] != HEADERS[page.language]["msg"]:
            continue
        for row in rows:
            pattern = ".+".join(re.escape(piece) for piece in row[0].split("…"))
            if not any(re.match(pattern, message) for message in messages):
                problems.append(f"{page.name}: no message starts {row[0]!r}")
    return problems


# ------------------------------------------------------------------------------ code spans


def _events() -> set[str]:
    events = set()
    for module in pkgutil.iter_modules(integration.__path__):
        loaded = importlib.import_module(f"{integration.__name__}.{module.name}")
        events |= {
            value
            for name, value in vars(loaded).items()
            if name.startswith("EVENT_") and isinstance(value, str)
        }
    return events


def command_line_flags() -> set[str]:
    """Every flag of the simulator, the demo and the scripts."""
    parser = argparse.ArgumentParser()
    faults.add_flags(parser)
    faults.add_flags(parser, wifi.LoggerFaults)
    portal.add_arguments(parser)
    system.add_arguments(parser)
    # argparse keeps a parser's flags only there.
    flags = set(parser._option_string_actions)
    for path in [*ROOT.glob("simulator/*.py"), *ROOT.glob("scripts/*.py")]:
        source = path.read_text(encoding="utf-8")
        flags |= set(re.findall(r"add_argument\(\s*\"(--[\w-]+)\"", source))
    return flags


def check_code_spans(page: Page) -> list[str]:
    """Actions, events, statistics, entity ids and flags in code that do not exist."""
    services, events, flags = _services(), _events(), command_line_flags()
    statistics = {key.removesuffix("_total") for key in BACKFILLED}
    entity = _strings(page.language)["entity"]
    missing = []
    for span in page.code_spans():
        named = [
            *(("action", a, a in services) for a in re.findall(r"\bzcs_azzurro\.(\w+)", span)),
            *(("event", e, e in events) for e in re.findall(r"\bzcs_azzurro_\w+", span)),
            *(
                ("statistic", s, s in statistics)
                for s in re.findall(r"zcs_azzurro:<serial>_(\w+)", span)
            ),
            *(("flag", f, f in flags) for f in re.findall(r"(?<![\w-])--[a-z][\w-]*", span)),
        ]
        if found := re.fullmatch(
            r"(sensor|number|select|switch|button|binary_sensor)\.(\w+)", span
        ):
            platform, object_id = found.groups()
            endings = {slugify(e["name"]) for e in entity[platform].values()}
            named.append(("entity id", span, any(object_id.endswith(f"_{e}") for e in endings)))
        missing += [f"{page.name}: no {kind} {name}" for kind, name, exists in named if not exists]
    return missing


# ------------------------------------------------------------------------- links, structure


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading."""
    text = re.sub(r"[`*]", "", heading).strip().lower()
    text = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in "LN")
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.DOTALL)
    return {_slug(h) for h in re.findall(r"^#+\s+(.+)$", text, flags=re.MULTILINE)}


def check_links_resolve(page: Page) -> list[str]:
    """Links to files that do not exist, or to headings they do not have."""
    base = ROOT if page.name.startswith("README") else DOCS
    here = ROOT / "README.md" if base == ROOT else DOCS / page.name.removeprefix("docs/")
    problems = []
    for target in re.findall(
        r"\]\(([^)\s]+)\)", re.sub(r"```.*?```", "", page.text, flags=re.DOTALL)
    ):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        where = (base / path).resolve() if path else here
        if not where.is_file():
            problems.append(f"{page.name}: {target}: no such file")
        elif anchor and anchor not in _anchors(where):
            problems.append(f"{page.name}: {target}: no such heading")
    return problems


# =================================================================================== tests

PAGES = pages()
IDS = [page.name for page in PAGES]


def test_every_topic_has_a_page_in_each_language_and_the_readme_points_to_them() -> None:
    english, italian = PAGES[0].text, PAGES[1].text
    for topic in TOPICS:
        assert (DOCS / f"{topic}.md").is_file(), topic
        assert (DOCS / f"{topic}.it.md").is_file(), topic
        assert f"](docs/{topic}.md)" in english, topic
        assert f"](docs/{topic}.it.md)" in italian, topic
    assert {p.name for p in DOCS.glob("*.md")} == {
        f"{topic}{suffix}" for topic in TOPICS for suffix in (".md", ".it.md")
    }


@pytest.mark.parametrize("topic", TOPICS)
def test_the_italian_page_has_the_english_ones_sections_and_checked_tables(topic: str) -> None:
    def shape(path: Path) -> tuple[list[int], list[str]]:
        text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.DOTALL)
        levels = [len(h) for h in re.findall(r"^(#+)\s", text, flags=re.MULTILINE)]
        return levels, re.findall(r"^<!-- (.+?) -->$", text, flags=re.MULTILINE)

    assert shape(DOCS / f"{topic}.it.md") == shape(DOCS / f"{topic}.md")


@pytest.mark.parametrize("page", PAGES, ids=IDS)
def test_names_in_italics_are_names_the_integration_shows(page: Page) -> None:
    assert check_italics(page) == []


@pytest.mark.parametrize("page", PAGES, ids=IDS)
def test_the_links_actions_controls_and_profiles_tables_are_the_codes(page: Page) -> None:
    problems = check_links(page) + check_actions(page) + check_controls(page)
    assert problems + check_profiles(page) == []


@pytest.mark.parametrize("page", PAGES, ids=IDS)
def test_quoted_messages_code_spans_and_links_exist(page: Page) -> None:
    problems = check_messages(page) + check_code_spans(page) + check_links_resolve(page)
    assert problems == []


async def test_form_tables_and_defaults_are_what_the_flows_show(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    forms = await shown_forms(hass)
    assert {"config.eth", "config.wifi_manual", "options.init", "options.portal"} <= set(forms)
    problems = [problem for page in PAGES for problem in check_forms(page, forms)]
    assert problems == []
    # Every form the pages describe is one of them, and each is described in both languages.
    described = {
        (page.language, marker.removeprefix("form: "))
        for page in PAGES
        for marker, _, _ in page.tables()
        if marker and marker.startswith("form: ")
    }
    assert {form for _, form in described} == set(forms)
    assert {language for language, _ in described} == set(LANGUAGES)


# ------------------------------------------------------- the checks fail on false claims


def _doctored(text: str, language: str = "en") -> Page:
    return Page("doctored", language, text)


async def test_a_made_up_option_default_or_range_is_caught(
    hass: HomeAssistant, socket_enabled: None
) -> None:
    forms = await shown_forms(hass)
    links = (DOCS / "links.md").read_text(encoding="utf-8")
    assert check_forms(_doctored(links), forms) == []
    for old, new in [
        (f"| *Scan interval* | 30 s | 5{DASH}3600 |", f"| *Scan interval* | 60 s | 5{DASH}3600 |"),
        (f"| *Scan interval* | 30 s | 5{DASH}3600 |", f"| *Scan interval* | 30 s | 1{DASH}3600 |"),
        ("| *Sharing port* | 5020 |", "| *Poll faster* | 5020 |"),
        ("| *Port* | 502 |", "| *Port* | 8899 |"),
        ("| *Parity* | *None* |", "| *Parity* | *Even* |"),
        ("| *Baud rate* | 9600 | 1200, 2400,", "| *Baud rate* | 9600 | 2400,"),
        ("<!-- form: options.init -->\n", ""),
        ("| *Stop bits* | 1 | 1, 2 | as set on the device |\n", ""),
    ]:
        assert old in links, old
        assert check_forms(_doctored(links.replace(old, new, 1)), forms), new
    prose = _doctored("Set *Scan interval* (default 45 s) and *Pause between requests*.")
    assert check_forms(prose, forms) == ["doctored: *Scan interval* default '45': no form's"]


def test_a_made_up_name_port_function_or_action_is_caught() -> None:
    assert check_italics(_doctored("Turn *Turbo mode* on; *Grid power* is fine.")) == [
        "doctored: *Turbo mode*"
    ]
    assert check_italics(_doctored("*Potenza di rete* e *Grid power*", "it")) == [
        "doctored: *Grid power*"
    ]
    readme = PAGES[0].text
    for old, new in [
        ("| 55400, 55401, 55402 | 0x03, 0x10 |", "| 55400, 55401, 55402 | 0x03, 0x04, 0x10 |"),
        ("| Modbus TCP | 502 |", "| Modbus TCP | 5020 |"),
        ("| RS485 (serial port) |", "| RS232 (serial port) |"),
    ]:
        assert old in readme, old
        assert check_links(_doctored(readme.replace(old, new, 1))), new
    controls = (DOCS / "controls.md").read_text(encoding="utf-8")
    for old, new in [
        ("`zcs_azzurro.write_register` |", "`zcs_azzurro.write_coil` |"),
        (f"`count` (1{DASH}125, default 1)", f"`count` (1{DASH}250, default 1)"),
        (f"`count` (1{DASH}125, default 1)", f"`count` (1{DASH}125, default 8)"),
        ("`word_order` (`big` or `little`", "`byte_order` (`big` or `little`"),
        (f"| 0x1023{DASH}0x1024 |", "| 0x1023 |"),
        ("*EPS mode* |", "*Turbo mode* |"),
    ]:
        assert old in controls, old
        doctored = _doctored(controls.replace(old, new, 1))
        assert check_actions(doctored) + check_controls(doctored), new
    assert check_code_spans(_doctored("Fires `zcs_azzurro_exploded`; run `scripts/demo --fast`."))
    assert check_messages(_doctored("| Message |\n| --- |\n| The stick is on fire |\n"))
    assert check_links_resolve(_doctored("See [links](links.md#no-such-heading)."))
