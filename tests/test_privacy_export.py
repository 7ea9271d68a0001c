"""Download my data: the readable page speaks the member's language (Dutch labels, dates written
out, statuses in words, yes or no) and shows no database id, stored value, ISO timestamp or JSON;
the JSON beside it stays complete, for a computer."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import date
from html.parser import HTMLParser

from babel.dates import format_date

from portal.advice.tables import AdoptionVote, AdviceVersion, HeardAnswer
from portal.agreements.tables import Claim, OwnershipAgreement
from portal.deliberation.tables import Post
from portal.panels.tables import Panel
from portal.privacy.tables import Consent
from tests.support import nl, post_form
from tests.test_privacy_selfservice import EMAIL, NAME, _member_with_a_history, advice_history

STORED_VALUES = ("volunteer_hourly", "27_plus", "hours_logged", "panel_member", "approval", "pseudonym",
                 "True", "False", "None")


class Cells(HTMLParser):
    """The text of every caption, header and data cell of the page's tables."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[tuple[str, str]] = []
        self._open: str | None = None

    def handle_starttag(self, tag, attrs):
        if tag in ("caption", "th", "td"):
            self._open = tag
            self.cells.append((tag, ""))

    def handle_endtag(self, tag):
        if tag == self._open:
            self._open = None

    def handle_data(self, data):
        if self._open:
            tag, text = self.cells[-1]
            self.cells[-1] = (tag, text + data)

    def texts(self, *tags: str) -> list[str]:
        return [text.strip() for tag, text in self.cells if tag in tags]


async def _download(client) -> tuple[dict, str]:
    response = await client.get("/t/alpha/privacy/download")
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    return json.loads(archive.read("mijn-gegevens.json")), archive.read("mijn-gegevens.html").decode()


async def _ids_of_the_member_rows(scope, member) -> set[str]:
    ids = {member.id}
    for table, column in ((Post, Post.author), (OwnershipAgreement, OwnershipAgreement.user),
                          (AdviceVersion, AdviceVersion.author), (AdoptionVote, AdoptionVote.user),
                          (HeardAnswer, HeardAnswer.user), (Consent, Consent.user)):
        ids |= {row["id"] for row in await scope.select(table, table.id).where(column == member.id)}
    ids |= {row["id"] for row in await scope.select(Claim, Claim.id)}
    ids |= {row["id"] for row in await scope.select(Panel, Panel.id)}
    return {str(value) for value in ids}


async def test_the_readable_page_is_in_plain_dutch_without_ids_stored_values_or_json(client):
    world = await _member_with_a_history(client)
    await advice_history(client, world)
    data, page = await _download(client)

    assert '<html lang="nl">' in page
    assert '<meta name="viewport"' in page and "<style>" in page and "<link" not in page and "<script" not in page
    assert "mijn-gegevens.json" in page
    for heading in ("Your account", "Your panels", "Your posts", "Your consents", "Your date of birth and benefit",
                    "Payment agreements", "Ownership agreements", "Hours and expenses",
                    "Advice you helped write", "Your votes on advice", "Do you feel heard?"):
        assert f">{nl(heading)}</h2>" in page, heading
    cells = Cells()
    cells.feed(page)
    values = cells.texts("td")
    # Labels, statuses and choices in words, from each feature's own label table.
    for label in ("Volunteer allowance per hour", "hours logged", "27 or older", "approved", "accepted",
                  "I confirm this advice", "Yes, I feel heard", "Published only after approval", "pseudonym",
                  "active", "Panel member"):
        assert nl(label) in page, label
    assert nl("Date of birth") in cells.texts("th") and nl("Payer") in cells.texts("th")
    assert nl("A UWV benefit (for example WW or Wajong)") in values
    assert {nl("yes"), nl("no")} <= set(values)  # review of edits, invoice with VAT
    # Dates written out in Dutch.
    assert format_date(date(1990, 3, 4), format="long", locale="nl") == "4 maart 1990"
    assert "4 maart 1990" in values
    assert any(format_date(date.today(), format="d MMM y", locale="nl") in value for value in values)
    # What the member wrote, as text.
    assert "Wat ik meemaakte met de wachtlijst." in values and "Ik voel me gehoord." in values
    advice_text = next(value for value in values if "Hooguit vier weken wachten." in value)
    assert advice_text.startswith("1. Kortere wachtlijst")
    # Nothing for a computer only.
    assert not re.search(r"\d{4}-\d{2}-\d{2}", page), "an ISO date or timestamp"
    for stored in STORED_VALUES:
        assert stored not in page, stored
    assert not [value for value in cells.texts("caption", "th", "td") if re.search(r"[{}\[\]]", value)]
    ids = await _ids_of_the_member_rows(world["scope"], world["member"])
    assert not ids & set(cells.texts("caption", "th", "td"))

    # The JSON beside it keeps everything, ids and stored values included.
    post = await world["scope"].objects(Post).first()
    assert data["account"] == {**data["account"], "email": EMAIL, "name": NAME}
    assert data["posts"][0]["id"] == post.id and data["posts"][0]["text"] == "Wat ik meemaakte met de wachtlijst."
    payment = data["agreements"]["payment_agreements"][0]
    assert payment["id"] == world["payment"].id and payment["basis"] == "volunteer_hourly"
    assert payment["status"] == "hours_logged" and payment["age_band"] == "27_plus" and payment["vat_invoice"] is False
    assert data["agreements"]["ownership_agreements"][0]["status"] == "accepted"
    assert data["agreements"]["hours_and_expenses"][0]["status"] == "approved"
    assert data["panels"][0]["age_band"] == "27_plus"
    assert {row["kind"] for row in data["consents"]} == {"account", "experience", "attribution"}
    assert data["personal_details"]["details"][0] == {"date_of_birth": "1990-03-04", "benefit": "uwv"}
    assert [row["number"] for row in data["advice"]["advice_versions"]] == [1, 2]
    assert data["advice"]["adoption_votes"][0]["choice"] == "confirm"
    assert data["advice"]["feel_heard"][0]["answer"] == "yes"
    assert re.match(r"\d{4}-\d{2}-\d{2}[T ]", data["posts"][0]["created_at"])


async def test_the_readable_page_is_in_the_members_language(client):
    await _member_with_a_history(client)
    await post_form(client, "/language", {"locale": "en", "next": "/"})
    _data, page = await _download(client)
    assert '<html lang="en">' in page
    assert ">Payment agreements</h2>" in page and "Volunteer allowance per hour" in page
    assert "March 4, 1990" in page
