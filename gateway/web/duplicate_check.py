"""The duplicate check before a new person is saved (issue 16).

POST /profiles/new first asks the profiles service's `check_duplicates` (the matching that fills a create's
`possible_duplicates`, run on the unsaved details, writing nothing). If it finds likely matches the user sees
them before anything is written: a profile they may open links to it, a signpost shows who holds it and offers
to ask for access; "Create anyway" posts the same details again with `create_anyway=1`, "Change the details"
brings back the form as typed. A form the service refuses goes on to the create, which reports every field.
"""
from concord_common.errors import ValidationFailed
from gateway.directory_names import NAMES
from gateway.web.profile_views import render

KEPT = ("given_name", "family_name", "gender", "nhs_number", "address_line1", "address_town", "address_postcode",
        "owner_team_id")


class DuplicateCheckPages:
    def _dc_matches_page(self, principal, payload, form, parts):
        """The page of likely matches, or None when there are none (or the details do not pass)."""
        try:
            matches = self.remote.call("profiles", "check_duplicates", payload)["items"]
        except ValidationFailed:
            return None
        if not matches:
            return None
        organisations = {}
        if any(match["profile"]["access"] == "signpost" for match in matches):
            organisations = NAMES.organisation_names(self.remote)
        name = f"{form.get('given_name', '')} {form.get('family_name', '')}".strip()
        kept = [(key, form[key]) for key in KEPT if form.get(key)] + \
            [(f"date_of_birth-{part}", value) for part, value in parts.items() if value]
        return render("profiles_new_matches.html", 200, title=f"Is {name} already known? – Create a person profile",
                      nav="new", name=name, matches=matches, organisations=organisations, kept=kept,
                      here="/profiles", csrf_token=principal.get("csrf_token"))
