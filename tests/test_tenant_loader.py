"""Tenant files: validated in full before anything is written, applied idempotently, clear errors."""

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from portal.accounts.tables import Membership, User
from portal.cli import main
from portal.core.security import verify_password
from portal.core.settings import PROJECT_ROOT
from portal.core.tenancy import TenantScope
from portal.cycles.tables import StageTemplateStep
from portal.panels.tables import Panel
from portal.tenants.loader import TenantFileError, load_tenants
from portal.tenants.tables import Tenant
from tests.support import everywhere

SHIPPED = PROJECT_ROOT / "tenants"

VALID = """\
slug = "{slug}"
name = "Gemeente {slug}"
kind = "municipality"

[theme]
primary_color = "#1f4e79"

[[stages]]
name = "Agendavorming"

[[panels]]
name = "Ouderpanel"
kind = "parents"
description = "{description}"

[[staff]]
email = "beheer@{slug}.example"
name = "Femke Bakker"
role = "tenant_admin"

[[demo.members]]
email = "ouder@{slug}.example"
name = "Lisa Visser"
display_name = "Moeder van twee"
role = "panel_member"
"""


def write(directory: Path, filename: str, slug: str = "alpha", description: str = "Ouders.", text=None):
    directory.mkdir(exist_ok=True)
    path = directory / filename
    path.write_text(text if text is not None else VALID.format(slug=slug, description=description))
    return path


def broken(original: str, new: str) -> str:
    text = VALID.format(slug="alpha", description="Ouders.")
    assert original in text
    return text.replace(original, new, 1)


async def test_shipped_tenants_load_and_reload_unchanged():
    report = await load_tenants(SHIPPED)
    assert "voorbeeldstad: created tenant 'Gemeente Voorbeeldstad'" in report
    assert "zuiderpolder: created tenant 'Jeugdregio Zuiderpolder'" in report
    assert await Tenant.count() == 2
    for slug, panels in (("voorbeeldstad", 3), ("zuiderpolder", 2)):
        scope = TenantScope(await Tenant.objects().get(Tenant.slug == slug))
        assert await scope.count(StageTemplateStep) == 5
        assert await scope.count(Panel) == panels
    assert await load_tenants(SHIPPED) == ["voorbeeldstad: unchanged", "zuiderpolder: unchanged"]


async def test_changed_panel_description_is_updated(tmp_path):
    directory = tmp_path / "tenants"
    write(directory, "alpha.toml", description="Ouders.")
    await load_tenants(directory)
    write(directory, "alpha.toml", description="Ouders met ervaring.")
    assert await load_tenants(directory) == ["alpha: updated panel 'Ouderpanel'"]
    panel = await everywhere(Panel).objects().first()
    assert panel.description == "Ouders met ervaring."
    assert await everywhere(Panel).count() == 1


async def test_changed_theme_updates_the_tenant(tmp_path):
    directory = tmp_path / "tenants"
    write(directory, "alpha.toml")
    await load_tenants(directory)
    write(directory, "alpha.toml", text=broken('"#1f4e79"', '"#00568b"'))
    assert await load_tenants(directory) == ["alpha: updated theme"]


@pytest.mark.parametrize(
    ("original", "new", "field", "problem"),
    [
        ('kind = "parents"', 'kind = "grandparents"', "panels[0].kind", "Choose one of: parents, youth, mixed. Got 'grandparents'."),
        ('primary_color = "#1f4e79"', 'primary_color = "#ffdd00"', "theme.primary_color", "at least 4.5:1"),
        ('primary_color = "#1f4e79"', 'primary_color = "blue"', "theme.primary_color", "a colour as # and six hexadecimal digits"),
        ('email = "beheer@alpha.example"', 'email = "beheer"', "staff[0].email", "is not an email address"),
        ('role = "tenant_admin"', 'role = "panel_member"', "staff[0].role", "Choose one of:"),
        ('slug = "alpha"', 'slug = "Alpha Stad"', "slug", "lowercase letters, digits and hyphens"),
        ('slug = "alpha"\n', "", "slug", "is required"),
        ('kind = "municipality"', 'kind = "province"', "kind", "Choose one of: municipality, region"),
        ('name = "Agendavorming"', 'name = ""', "stages[0].name", "Fill in this field"),
        ('[theme]', 'colour = "red"\n[theme]', "colour", "is not a known field"),
        ('kind = "parents"', 'kind = "parents"\narchived = "yes"', "panels[0].archived", "must be true or false"),
        ('[theme]', '[theme]\nlogo_file = "../logo.png"', "theme.logo_file", "in the same folder"),
        ('[theme]', '[theme]\nlogo_file = "missing.png"', "theme.logo_file", "cannot be read"),
        ('[theme]', '[theme]\nlogo = "a.svg"\nlogo_file = "a.png"', "theme.logo_file", "either logo or logo_file"),
    ],
)
async def test_invalid_file_names_path_field_and_problem(tmp_path, original, new, field, problem):
    path = write(tmp_path / "tenants", "alpha.toml", text=broken(original, new))
    with pytest.raises(TenantFileError) as error:
        await load_tenants(path.parent)
    message = str(error.value)
    assert message.startswith(f"{path}: {field}: ")
    assert problem in message


async def test_second_panel_with_bad_kind_names_index_1(tmp_path):
    text = broken("[[staff]]", '[[panels]]\nname = "Jongeren"\nkind = "teens"\n\n[[staff]]')
    path = write(tmp_path / "tenants", "alpha.toml", text=text)
    with pytest.raises(TenantFileError, match=re.escape(f"{path}: panels[1].kind: Choose one of")):
        await load_tenants(path.parent)


async def test_invalid_file_beside_a_valid_one_changes_nothing(tmp_path):
    directory = tmp_path / "tenants"
    write(directory, "a-valid.toml", slug="alpha")
    write(directory, "b-invalid.toml", text=broken('kind = "parents"', 'kind = "nobody"').replace("alpha", "beta"))
    tenants_before, users_before = await Tenant.count(), await User.count()
    with pytest.raises(TenantFileError, match="b-invalid.toml: panels\\[0\\].kind"):
        await load_tenants(directory)
    assert await Tenant.count() == tenants_before == 0
    assert await User.count() == users_before == 0
    assert await everywhere(Panel).count() == 0


async def test_duplicate_slug_across_files_is_refused(tmp_path):
    directory = tmp_path / "tenants"
    first = write(directory, "a.toml", slug="alpha")
    second = write(directory, "b.toml", slug="alpha")
    with pytest.raises(TenantFileError) as error:
        await load_tenants(directory)
    assert str(error.value) == f"{second}: slug: 'alpha' is also used by {first}"
    assert await Tenant.count() == 0


async def test_broken_toml_syntax_is_refused(tmp_path):
    path = write(tmp_path / "tenants", "alpha.toml", text='slug = "alpha\nname = ')
    with pytest.raises(TenantFileError, match=re.escape(f"{path}: (file): is not valid TOML")):
        await load_tenants(path.parent)


async def test_empty_directory_is_refused(tmp_path):
    with pytest.raises(TenantFileError, match="contains no .toml files"):
        await load_tenants(tmp_path)


async def test_without_demo_password_staff_get_no_login_and_demo_members_are_skipped(tmp_path):
    directory = tmp_path / "tenants"
    write(directory, "alpha.toml")
    await load_tenants(directory)
    admin = await User.objects().get(User.email == "beheer@alpha.example")
    assert admin.password_hash is None
    assert not await User.exists().where(User.email == "ouder@alpha.example")


async def test_demo_password_creates_logins_for_staff_and_demo_members(tmp_path):
    directory = tmp_path / "tenants"
    write(directory, "alpha.toml")
    await load_tenants(directory, demo_password="Demo-wachtwoord-2026")
    for email in ("beheer@alpha.example", "ouder@alpha.example"):
        user = await User.objects().get(User.email == email)
        assert verify_password(user.password_hash, "Demo-wachtwoord-2026")
    member = await everywhere(Membership).objects().where(Membership.role == "panel_member").first()
    assert member.display_name == "Moeder van twee"


def test_cli_load_prints_the_report(tmp_path):
    directory = tmp_path / "tenants"
    write(directory, "alpha.toml")
    result = CliRunner().invoke(main, ["tenants", "load", str(directory)])
    assert result.exit_code == 0, result.output
    assert "alpha: created tenant 'Gemeente alpha'" in result.output
    assert "alpha: created panel 'Ouderpanel'" in result.output
    again = CliRunner().invoke(main, ["tenants", "load", str(directory)])
    assert again.output.strip() == "alpha: unchanged"


def test_cli_load_of_a_bad_file_exits_non_zero_and_says_nothing_changed(tmp_path):
    path = write(tmp_path / "tenants", "alpha.toml", text=broken('"#1f4e79"', '"#ffdd00"'))
    result = CliRunner().invoke(main, ["tenants", "load", str(path.parent)])
    assert result.exit_code != 0
    assert f"{path}: theme.primary_color: #ffdd00 contrasts" in result.output
    assert "Nothing was changed." in result.output
    assert Tenant.count().run_sync() == 0


async def test_demo_members_join_their_panel_once_with_their_support_contact():
    from portal.cli import DEMO_PASSWORD
    from portal.panels.tables import PanelMembership

    await load_tenants(PROJECT_ROOT / "tenants", demo_password=DEMO_PASSWORD)
    report = await load_tenants(PROJECT_ROOT / "tenants", demo_password=DEMO_PASSWORD)
    assert not [line for line in report if "added" in line]
    tenant = await Tenant.objects().where(Tenant.slug == "voorbeeldstad").first()
    rows = await TenantScope(tenant).select(
        PanelMembership,
        PanelMembership.panel.name, PanelMembership.user.email, PanelMembership.status,
        PanelMembership.support_contact.email,
    ).where(PanelMembership.user.email == "ouder@voorbeeldstad.example")
    assert rows == [{
        "panel.name": "Ouderpanel Jeugdhulp", "user.email": "ouder@voorbeeldstad.example",
        "status": "active", "support_contact.email": "begeleiding@voorbeeldstad.example",
    }]


@pytest.mark.parametrize(
    ("addition", "field"),
    [
        ('panel = "No such panel"', "demo.members[0].panel"),
        ('support_contact = "beleid@alpha.example"', "demo.members[0].support_contact"),
        ('age_band = "ancient"', "demo.members[0].age_band"),
    ],
)
async def test_demo_member_panel_fields_are_checked(tmp_path, addition, field):
    path = write(tmp_path, "alpha.toml")
    path.write_text(path.read_text() + addition + "\n")  # joins the last [[demo.members]]
    with pytest.raises(TenantFileError, match=re.escape(field)):
        await load_tenants(tmp_path)


async def test_settings_are_loaded_and_checked(tmp_path):
    from portal.tenants.settings import tenant_setting

    path = write(tmp_path, "alpha.toml")
    text = path.read_text().replace("[theme]", "[settings]\nreport_hide_threshold = 5\n\n[theme]")
    path.write_text(text)
    await load_tenants(tmp_path)
    tenant = await Tenant.objects().where(Tenant.slug == "alpha").first()
    assert tenant_setting(tenant, "report_hide_threshold") == 5
    assert tenant_setting(tenant, "post_edit_minutes") == 30
    path.write_text(text.replace("report_hide_threshold = 5", "report_hide_treshold = 5"))
    with pytest.raises(TenantFileError, match=r"settings\.report_hide_treshold.*not a setting"):
        await load_tenants(tmp_path)


@pytest.mark.parametrize(("line", "problem"), [
    ('advice_confirmation_rule = "most"', r'settings\.advice_confirmation_rule.*one of: "majority", "all"'),
    ("advice_confirmation_rule = 1", r"settings\.advice_confirmation_rule.*one of"),
    ('public_advice_ledger = "yes"', r"settings\.public_advice_ledger.*one of: true, false"),
    ("public_advice_ledger = 1", r"settings\.public_advice_ledger.*one of: true, false"),
    ("advice_response_weeks = 0", r"settings\.advice_response_weeks.*whole number"),
])
async def test_advice_settings_are_checked(tmp_path, line, problem):
    path = write(tmp_path, "alpha.toml")
    path.write_text(path.read_text().replace("[theme]", f"[settings]\n{line}\n\n[theme]"))
    with pytest.raises(TenantFileError, match=problem):
        await load_tenants(tmp_path)


async def test_advice_settings_are_loaded(tmp_path):
    from portal.tenants.settings import tenant_setting

    path = write(tmp_path, "alpha.toml")
    path.write_text(path.read_text().replace("[theme]", '[settings]\nadvice_confirmation_rule = "all"\n'
                                             "advice_response_weeks = 4\npublic_advice_ledger = true\n\n[theme]"))
    await load_tenants(tmp_path)
    tenant = await Tenant.objects().where(Tenant.slug == "alpha").first()
    assert [tenant_setting(tenant, key) for key in ("advice_confirmation_rule", "advice_response_weeks",
                                                    "public_advice_ledger")] == ["all", 4, True]
