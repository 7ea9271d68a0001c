"""`portal tenants export`: the file it writes is one `portal tenants load` accepts unchanged, and a
configuration goes through a fresh database and back without a difference."""

from __future__ import annotations

import shutil
import tomllib

from click.testing import CliRunner

from portal.cli import main
from portal.core.settings import PROJECT_ROOT, get_settings
from portal.core.tenancy import TenantScope
from portal.cycles import template
from portal.cycles.tables import StageTemplateStep
from portal.panels import service as panels
from portal.panels.tables import Panel
from portal.tenants import setup
from portal.tenants.tables import Tenant
from portal.tenants.theme import theme_of
from tests.conftest import empty_database
from tests.support import make_user, run_sync

SHIPPED = PROJECT_ROOT / "tenants"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))


def portal(*args: str):
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result


def load_shipped(tmp_path, slug: str = "voorbeeldstad"):
    source = tmp_path / "source"
    source.mkdir()
    shutil.copy(SHIPPED / f"{slug}.toml", source)
    portal("tenants", "load", str(source))


def export_to(directory, slug: str = "voorbeeldstad"):
    directory.mkdir()
    output = directory / f"{slug}.toml"
    portal("tenants", "export", slug, "--output", str(output))
    return output


def assert_round_trip(tmp_path, first) -> None:
    """Loading the export again changes nothing; loaded into a fresh database and exported again,
    it gives the same file (and the same logo file)."""
    again = portal("tenants", "load", str(first.parent))
    assert again.output.strip() == "voorbeeldstad: unchanged"
    (tmp_path / "fresh").mkdir()
    empty_database(tmp_path / "fresh")
    assert Tenant.count().run_sync() == 0
    portal("tenants", "load", str(first.parent))
    second = export_to(tmp_path / "second")
    assert second.read_text() == first.read_text()
    assert sorted(path.name for path in second.parent.iterdir()) == sorted(path.name for path in first.parent.iterdir())
    for path in first.parent.iterdir():
        assert (second.parent / path.name).read_bytes() == path.read_bytes()


def test_example_municipality_round_trips(tmp_path):
    load_shipped(tmp_path)
    first = export_to(tmp_path / "first")
    data = tomllib.loads(first.read_text())
    original = tomllib.loads((SHIPPED / "voorbeeldstad.toml").read_text())
    assert {key: data[key] for key in ("slug", "name", "kind", "locale", "settings", "theme", "stages", "panels")} == {
        key: original[key] for key in ("slug", "name", "kind", "locale", "settings", "theme", "stages", "panels")
    }
    # The configuration, not the people: no staff, no demo members, no addresses.
    assert "staff" not in data and "demo" not in data
    assert "@" not in first.read_text()
    assert_round_trip(tmp_path, first)


def test_changes_made_in_the_browser_round_trip_with_the_uploaded_logo(tmp_path):
    load_shipped(tmp_path)

    async def change_in_the_browser():
        tenant = await Tenant.objects().get(Tenant.slug == "voorbeeldstad")
        scope = TenantScope(tenant)
        admin = await make_user("beheer@example.nl", tenant=tenant, roles=("tenant_admin",))
        await setup.update_theme(scope, actor=admin, colours={"primary_color": "#0b6e4f", "link_color": ""},
                                 logo=PNG, upload_dir=get_settings().upload_dir)
        await setup.update_settings(scope, actor=admin, values={"report_hide_threshold": 5})
        step = await template.add_step(scope, actor=admin, name="Nazorg", name_en="", participation_form="informeren")
        await template.move_step(scope, step, "up", actor=admin)
        first_step = await scope.objects(StageTemplateStep).where(StageTemplateStep.position == 0).first()
        await template.remove_step(scope, first_step, actor=admin)
        panel = await scope.objects(Panel).where(Panel.name == "Jongerenpanel").first()
        await panels.archive_panel(scope, panel, actor=admin)

    run_sync(change_in_the_browser())
    first = export_to(tmp_path / "first")
    data = tomllib.loads(first.read_text())
    assert data["theme"] == {"logo_file": "voorbeeldstad-logo.png", "primary_color": "#0b6e4f"}
    assert (first.parent / "voorbeeldstad-logo.png").read_bytes() == PNG
    assert data["settings"]["report_hide_threshold"] == 5
    assert [stage["name"] for stage in data["stages"]] == [
        "Beleidsvoorbereiding", "Besluitvorming", "Uitvoering & inkoop", "Nazorg", "Evaluatie & terugkoppeling"]
    assert [panel.get("archived", False) for panel in data["panels"]] == [False, True, False]
    assert_round_trip(tmp_path, first)
    tenant = Tenant.objects().get(Tenant.slug == "voorbeeldstad").run_sync()
    assert theme_of(tenant)["uploaded_logo"]["content_type"] == "image/png"


def test_export_without_output_prints_the_file(tmp_path):
    load_shipped(tmp_path, "zuiderpolder")
    result = portal("tenants", "export", "zuiderpolder")
    assert tomllib.loads(result.output)["name"] == "Jeugdregio Zuiderpolder"


def test_export_of_an_unknown_tenant_or_a_logo_without_output_is_refused(tmp_path):
    result = CliRunner().invoke(main, ["tenants", "export", "nowhere"])
    assert result.exit_code != 0 and "no tenant with the slug 'nowhere'" in result.output
    load_shipped(tmp_path)

    async def upload_logo():
        tenant = await Tenant.objects().get(Tenant.slug == "voorbeeldstad")
        admin = await make_user("beheer@example.nl", tenant=tenant, roles=("tenant_admin",))
        await setup.update_theme(TenantScope(tenant), actor=admin, colours={}, logo=PNG,
                                 upload_dir=get_settings().upload_dir)

    run_sync(upload_logo())
    result = CliRunner().invoke(main, ["tenants", "export", "voorbeeldstad"])
    assert result.exit_code != 0 and "--output" in result.output


def test_a_logo_file_that_is_not_a_png_or_jpeg_is_refused(tmp_path):
    directory = tmp_path / "tenants"
    directory.mkdir()
    text = (SHIPPED / "zuiderpolder.toml").read_text().replace('logo = "zuiderpolder.svg"', 'logo_file = "logo.png"')
    (directory / "zuiderpolder.toml").write_text(text)
    (directory / "logo.png").write_bytes(b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>")
    result = CliRunner().invoke(main, ["tenants", "load", str(directory)])
    assert result.exit_code != 0
    assert "theme.logo_file: Upload the logo as a PNG or JPEG picture." in result.output
    assert Tenant.count().run_sync() == 0
