"""The words people read for the codes services store: one table, one `words` filter, used by every template.

A page never shows a code such as `org_admin`, `spoc` or `youth_offending`: `{{ value|words }}` gives its
words, and a code nobody has described yet still reads as words ("Youth offending"), never as a code.
`{{ values|words_list }}` joins several. Add new codes here, not in templates (tests/unit/test_brand.py
checks the templates for raw codes).
"""
import re

WORDS = {
    # people's roles in a team, and roles of their own
    "practitioner": "Practitioner",
    "spoc": "Single point of contact (SPOC)",
    "supervisor": "Supervisor",
    "org_admin": "Organisation administrator",
    "system_admin": "System administrator",
    # kinds of organisation (and of team)
    "police": "Police",
    "council": "Council",
    "housing": "Housing",
    "education": "Education",
    "health": "Health",
    "fire": "Fire and rescue",
    "probation": "Probation",
    "youth_offending": "Youth offending",
    "youth_justice": "Youth justice",
    "social_care": "Social care",
    "childrens_services": "Children's services",
    "adult_services": "Adult services",
    "antisocial_behaviour": "Antisocial behaviour",
    "safeguarding_hub": "Safeguarding hub",
    "neighbourhood": "Neighbourhood",
    "charity": "Charity",
    "other": "Other",
    # access, requests and transfers
    "view": "View",
    "edit": "View and change",
    "pending": "Waiting for a decision",
    "approved": "Approved",
    "denied": "Refused",
    "withdrawn": "Withdrawn",
    "accepted": "Accepted",
    "rejected": "Rejected",
    "cancelled": "Cancelled",
    "superseded": "Replaced by a later transfer",
    "break_glass": "Emergency access",
    "access_request": "Asked for access",
    "share": "Shared",
    # cases
    "open": "Open",
    "closed": "Closed",
    # lawful bases (UK GDPR Article 6 and the DPA 2018 conditions most used in partnership work)
    "public_task": "Public task (UK GDPR Article 6(1)(e))",
    "legal_obligation": "Legal obligation (UK GDPR Article 6(1)(c))",
    "vital_interests": "Vital interests (UK GDPR Article 6(1)(d))",
    "consent": "Consent (UK GDPR Article 6(1)(a))",
    "safeguarding": "Safeguarding of children and individuals at risk (DPA 2018 Schedule 1, paragraph 18)",
    "law_enforcement": "Law enforcement purposes (DPA 2018 Part 3)",
    # how a person prefers to be contacted
    "phone": "Phone",
    "mobile": "Mobile",
    "email": "Email",
    "letter": "Letter",
    # record types
    "profile": "Profile",
    "family": "Family",
    "case": "Case",
    # what a notification is about
    "access_request.requested": "Request for access",
    "access_request.approved": "Access approved",
    "access_request.denied": "Access refused",
    "record.transfer_requested": "Transfer to your team",
    "record.transferred": "Transfer accepted",
    "record.transfer_rejected": "Transfer rejected",
    "case.shared": "Case shared",
    "case.owner_changed": "Case transferred",
    "case.review_due": "Case review due",
    "team.member_added": "Team membership",
    "team.own_membership_refused": "Team membership",
    "profile.break_glass": "Emergency access",
    "case.break_glass": "Emergency access",
    # MASH referrals (issue 15, gateway/web/mash_pages.py)
    "red": "Red", "amber": "Amber", "green": "Green", "child": "Child", "adult": "Adult",
    "received": "Awaiting triage", "triaged": "Triaged", "decided": "Decided",
    "strategy_discussion": "Strategy discussion", "s47_enquiry": "Section 47 enquiry",
    "child_in_need": "Child in need", "early_help": "Early help",
    "adult_safeguarding_enquiry": "Adult safeguarding enquiry (section 42)",
    "universal_services": "Universal services", "no_further_action": "No further action",
    "nothing_known": "Nothing known", "information": "Information given",
    "mash.referral_received": "New MASH referral", "mash.research_requested": "MASH research request",
    "mash.research_answered": "MASH research answered", "mash.decided": "MASH referral decided",
}


_CODE = re.compile(r"[a-z][a-z0-9]*(?:[_.][a-z0-9]+)*")      # "youth_offending", "case.review_due"


def words(code) -> str:
    """The words for a stored code; an unknown code reads as words ("youth_offending" → "Youth offending").
    What is not a code (a person's own words, such as a lawful basis typed into a form) is left as written."""
    if code is None or code == "":
        return ""
    code = str(code)
    if code in WORDS:
        return WORDS[code]
    if not _CODE.fullmatch(code):
        return code
    return re.sub(r"[_.]+", " ", code).strip().capitalize()


def words_list(codes, empty: str = "None") -> str:
    return ", ".join(words(code) for code in codes or ()) or empty


# An API path a service wrote into a sentence (a notification's body), for a person: "this case".
_API_PATH = re.compile(r"/api/v1/([a-z_-]+)/[0-9a-fA-F-]{36}")
_SINGULAR = {"profiles": "this profile", "families": "this family", "cases": "this case"}


def readable(text: str | None) -> str:
    """A sentence with any record's API path replaced by words (the page links the record itself)."""
    return _API_PATH.sub(lambda match: _SINGULAR.get(match.group(1), "this record"), text or "")


def install(environment) -> None:
    """Adds the filters to a Jinja environment (both of the gateway's: pages.py and profile_views.py)."""
    environment.filters.update(words=words, words_list=words_list, readable=readable)
