"""Tables the cases service owns (its own database: concord_cases)."""
from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, DateTime, FetchedValue, ForeignKey, Integer, Text, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from concord_common.access.store import OwnedRecord
from concord_common.attachments.tables import attachment_tables


class Base(DeclarativeBase):
    pass


class CaseType(Base):
    """A business area cases are worked in (ASB, IOM …): data, so system admins add and change them."""
    __tablename__ = "case_types"
    code: Mapped[str] = mapped_column(Text, primary_key=True)
    label: Mapped[str] = mapped_column(Text, nullable=False)
    reference_prefix: Mapped[str] = mapped_column(Text, nullable=False, unique=True)    # ASB -> ASB-2026-000042
    participant_roles: Mapped[list] = mapped_column(ARRAY(Text), nullable=False)
    risk_templates: Mapped[list] = mapped_column(ARRAY(Text), nullable=False)
    review_days: Mapped[int] = mapped_column(Integer, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ReferenceCounter(Base):
    """The last number given per reference prefix and year; its row lock makes references unique and gapless."""
    __tablename__ = "case_reference_counters"
    prefix: Mapped[str] = mapped_column(Text, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, nullable=False)


class Case(OwnedRecord, Base):
    __tablename__ = "cases"
    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    reference: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    case_type: Mapped[str] = mapped_column(Text, ForeignKey("case_types.code"), nullable=False)
    title: Mapped[str] = mapped_column(Text, nullable=False)
    summary: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[str] = mapped_column(Text, nullable=False, default="medium")
    status: Mapped[str] = mapped_column(Text, nullable=False, default="open")
    outcome: Mapped[str | None] = mapped_column(Text)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    opened_by: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_by: Mapped[str | None] = mapped_column(Text)
    review_due: Mapped[date | None] = mapped_column(Date)
    review_notified_for: Mapped[date | None] = mapped_column(Date)     # the review date the lead team was told of
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class Participant(Base):
    """A profile (person or premises) on a case in a role, from added_at until ended_at (kept once ended)."""
    __tablename__ = "case_participants"
    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    case_id: Mapped[str] = mapped_column(UUID(as_uuid=False), ForeignKey("cases.id", ondelete="CASCADE"),
                                         nullable=False)
    profile_id: Mapped[str] = mapped_column(UUID(as_uuid=False), nullable=False)
    profile_kind: Mapped[str] = mapped_column(Text, nullable=False)            # person | premises
    display_name: Mapped[str] = mapped_column(Text, nullable=False)            # as the profile said when added
    role: Mapped[str] = mapped_column(Text, nullable=False)
    family_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False))         # added with this family …
    family_role: Mapped[str | None] = mapped_column(Text)                      # … in this role in it
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    added_by: Mapped[str | None] = mapped_column(Text)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_by: Mapped[str | None] = mapped_column(Text)


class Note(Base):
    """Never changed once written; a correction is a new note that `corrects` the old one."""
    __tablename__ = "case_notes"
    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    case_id: Mapped[str] = mapped_column(UUID(as_uuid=False), ForeignKey("cases.id", ondelete="CASCADE"),
                                         nullable=False)
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    author_id: Mapped[str | None] = mapped_column(Text)
    author_name: Mapped[str | None] = mapped_column(Text)
    author_organisation_id: Mapped[str | None] = mapped_column(Text)
    sensitive: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    corrects: Mapped[str | None] = mapped_column(UUID(as_uuid=False), ForeignKey("case_notes.id"))
    correction_reason: Mapped[str | None] = mapped_column(Text)


class Link(Base):
    """Two related cases; kept once each way so either side lists the other with one index lookup."""
    __tablename__ = "case_links"
    case_id: Mapped[str] = mapped_column(UUID(as_uuid=False), ForeignKey("cases.id", ondelete="CASCADE"),
                                         primary_key=True)
    linked_case_id: Mapped[str] = mapped_column(UUID(as_uuid=False), ForeignKey("cases.id", ondelete="CASCADE"),
                                                primary_key=True)
    linked_by: Mapped[str | None] = mapped_column(Text)
    linked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class TimelineEntry(Base):
    """One line of a case's chronology, written with the change it tells of. `sensitive`: lead team only."""
    __tablename__ = "case_timeline"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(UUID(as_uuid=False), ForeignKey("cases.id", ondelete="CASCADE"),
                                         nullable=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    summary: Mapped[str] = mapped_column(Text, nullable=False)
    by_id: Mapped[str | None] = mapped_column(Text)
    by_name: Mapped[str | None] = mapped_column(Text)
    ref: Mapped[dict | None] = mapped_column(JSONB)
    sensitive: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


# Documents on cases (0005): the attachment tables every record type shares (concord_common.attachments).
ATTACHMENT_TABLES = attachment_tables(Base.metadata, "case", "cases")


# Risk assessments (0008, services/cases/risk.py): templates are data; an assessment is part of its case's file.
class RiskTemplate(Base):
    """Questions with the points each answer is worth, how points make a score (`sum` or `product`), and the
    score range of each level."""
    __tablename__ = "risk_templates"
    code: Mapped[str] = mapped_column(Text, primary_key=True)
    label: Mapped[str] = mapped_column(Text, nullable=False)
    method: Mapped[str] = mapped_column(Text, nullable=False)
    questions: Mapped[list] = mapped_column(JSONB, nullable=False)      # [{code, text, answers: [{value, label, points}]}]
    thresholds: Mapped[list] = mapped_column(JSONB, nullable=False)     # [{level, min, max}]
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class RiskAssessment(Base):
    """Never changed once made, except to be signed off; a new assessment supersedes it."""
    __tablename__ = "case_risk_assessments"
    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    case_id: Mapped[str] = mapped_column(UUID(as_uuid=False), ForeignKey("cases.id", ondelete="CASCADE"),
                                         nullable=False)
    template: Mapped[str] = mapped_column(Text, ForeignKey("risk_templates.code"), nullable=False)
    subject_profile_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False))
    answers: Mapped[dict] = mapped_column(JSONB, nullable=False)
    factors: Mapped[list] = mapped_column(JSONB, nullable=False)        # [{code, answer, points}]
    score: Mapped[int] = mapped_column(Integer, nullable=False)
    computed_level: Mapped[str] = mapped_column(Text, nullable=False)
    level: Mapped[str] = mapped_column(Text, nullable=False)            # the override's where there is one
    override_reason: Mapped[str | None] = mapped_column(Text)           # set when (and only when) overridden
    assessed_by: Mapped[str | None] = mapped_column(Text)
    assessed_by_name: Mapped[str | None] = mapped_column(Text)
    assessed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    review_on: Mapped[date | None] = mapped_column(Date)
    signed_off_by: Mapped[str | None] = mapped_column(Text)
    signed_off_by_name: Mapped[str | None] = mapped_column(Text)
    signed_off_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# -- the ASB toolkit (0009; services/cases/powers.py, complaints.py, community_trigger.py) ----------------------
class Power(Base):
    """A power of the Anti-social Behaviour, Crime and Policing Act 2014 on a case, optionally against one of its
    participants; part of the case's file (its access list is the case's)."""
    __tablename__ = "case_powers"
    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    case_id: Mapped[str] = mapped_column(UUID(as_uuid=False), ForeignKey("cases.id", ondelete="CASCADE"),
                                         nullable=False)
    power: Mapped[str] = mapped_column(Text, nullable=False)
    profile_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False))
    subject_name: Mapped[str | None] = mapped_column(Text)                 # the participant's name when recorded
    status: Mapped[str] = mapped_column(Text, nullable=False)
    served_on: Mapped[date | None] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    conditions: Mapped[str | None] = mapped_column(Text)
    in_force_since: Mapped[date | None] = mapped_column(Date)             # first issued or granted (breachable)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    recorded_by: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class Breach(Base):
    __tablename__ = "case_power_breaches"
    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    power_id: Mapped[str] = mapped_column(UUID(as_uuid=False), ForeignKey("case_powers.id", ondelete="CASCADE"),
                                          nullable=False)
    occurred_on: Mapped[date] = mapped_column(Date, nullable=False)
    detail: Mapped[str] = mapped_column(Text, nullable=False)
    action_taken: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    recorded_by: Mapped[str | None] = mapped_column(Text)


class Complaint(Base):
    """A complaint of ASB on an ASB case by a complainant (a participant). Withdrawn ones are kept."""
    __tablename__ = "asb_complaints"
    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    case_id: Mapped[str] = mapped_column(UUID(as_uuid=False), ForeignKey("cases.id", ondelete="CASCADE"),
                                         nullable=False)
    complainant_profile_id: Mapped[str] = mapped_column(UUID(as_uuid=False), nullable=False)
    complainant_name: Mapped[str | None] = mapped_column(Text)
    received_on: Mapped[date] = mapped_column(Date, nullable=False)
    summary: Mapped[str] = mapped_column(Text, nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    recorded_by: Mapped[str | None] = mapped_column(Text)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    withdrawn_by: Mapped[str | None] = mapped_column(Text)
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)


class TriggerActivation(Base):
    """A Community Trigger activation: one complainant's complaints met the threshold (once per set)."""
    __tablename__ = "community_trigger_activations"
    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    complainant_profile_id: Mapped[str] = mapped_column(UUID(as_uuid=False), nullable=False)
    met_on: Mapped[date] = mapped_column(Date, nullable=False)
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    review_due: Mapped[date] = mapped_column(Date, nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False, default="open")
    area_organisation_id: Mapped[str | None] = mapped_column(Text)      # whose threshold applied
    threshold: Mapped[int] = mapped_column(Integer, nullable=False)
    window_months: Mapped[int] = mapped_column(Integer, nullable=False)


class TriggerComplaint(Base):
    """A complaint counted in an activation: each complaint counts towards one activation at most (the
    primary key on complaint_id), so two complaints arriving at once cannot both raise one."""
    __tablename__ = "community_trigger_complaints"
    complaint_id: Mapped[str] = mapped_column(UUID(as_uuid=False), ForeignKey("asb_complaints.id",
                                                                              ondelete="CASCADE"), primary_key=True)
    activation_id: Mapped[str] = mapped_column(UUID(as_uuid=False), ForeignKey(
        "community_trigger_activations.id", ondelete="CASCADE"), nullable=False)
    case_id: Mapped[str] = mapped_column(UUID(as_uuid=False), nullable=False)


class TriggerThreshold(Base):
    """A per-area override of the Community Trigger settings; the area is the lead organisation of the case."""
    __tablename__ = "community_trigger_thresholds"
    organisation_id: Mapped[str] = mapped_column(Text, primary_key=True)
    complaints: Mapped[int] = mapped_column(Integer, nullable=False)
    window_months: Mapped[int] = mapped_column(Integer, nullable=False)
    review_working_days: Mapped[int] = mapped_column(Integer, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_by: Mapped[str | None] = mapped_column(Text)


class Action(Base):
    """A task on a case for a team (or one person in a team) of any agency that can view the case (0007).

    Part of the case's file: whoever may view the case may see it; it has no access list of its own.
    `due_soon_told_for` / `overdue_told_for`: the due date the assignee was last reminded of (actions.py)."""
    __tablename__ = "case_actions"
    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    case_id: Mapped[str] = mapped_column(UUID(as_uuid=False), ForeignKey("cases.id", ondelete="CASCADE"),
                                         nullable=False)
    title: Mapped[str] = mapped_column(Text, nullable=False)
    detail: Mapped[str | None] = mapped_column(Text)
    assignee_team_id: Mapped[str] = mapped_column(Text, nullable=False)    # the user's team, for a user
    assignee_user_id: Mapped[str | None] = mapped_column(Text)
    assignee_organisation_id: Mapped[str] = mapped_column(Text, nullable=False)
    assignee_name: Mapped[str] = mapped_column(Text, nullable=False)        # as the directory said when set
    due: Mapped[date] = mapped_column(Date, nullable=False)
    priority: Mapped[str] = mapped_column(Text, nullable=False, default="medium")
    status: Mapped[str] = mapped_column(Text, nullable=False, default="open")
    status_note: Mapped[str | None] = mapped_column(Text)
    set_by: Mapped[str | None] = mapped_column(Text)
    set_by_name: Mapped[str | None] = mapped_column(Text)
    set_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_by: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))   # done or cancelled
    due_soon_told_for: Mapped[date | None] = mapped_column(Date)
    overdue_told_for: Mapped[date | None] = mapped_column(Date)
    # The case's lead team, written by database triggers only (0012): counts "my actions" without the case.
    case_owner_team_id: Mapped[str | None] = mapped_column(Text, server_default=FetchedValue(),
                                                           server_onupdate=FetchedValue())


# -- meetings and panels (0010, services/cases/meetings.py) ----------------------------------------------------
class Meeting(Base):
    """A partnership meeting (ASB panel, MARAC …): chaired by a team, attended by teams and organisations.
    Not an owned record: who may see it is its chair team and attendees (meeting_attendees)."""
    __tablename__ = "meetings"
    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    kind: Mapped[str] = mapped_column(Text, nullable=False)
    title: Mapped[str] = mapped_column(Text, nullable=False)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    location: Mapped[str | None] = mapped_column(Text)
    online_link: Mapped[str | None] = mapped_column(Text)
    chair_team_id: Mapped[str] = mapped_column(Text, nullable=False)
    chair_organisation_id: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(Text, nullable=False, default="scheduled")     # scheduled | cancelled
    created_by: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_by: Mapped[str | None] = mapped_column(Text)


class MeetingAttendee(Base):
    """A team, or a whole organisation, invited to a meeting (`organisation_id`: the team's organisation)."""
    __tablename__ = "meeting_attendees"
    meeting_id: Mapped[str] = mapped_column(UUID(as_uuid=False), ForeignKey("meetings.id", ondelete="CASCADE"),
                                            primary_key=True)
    attendee_type: Mapped[str] = mapped_column(Text, primary_key=True)              # team | organisation
    attendee_id: Mapped[str] = mapped_column(Text, primary_key=True)
    organisation_id: Mapped[str] = mapped_column(Text, nullable=False)


class AgendaItem(Base):
    """A case on a meeting's agenda, put there by its lead team; `removed_at` once taken off (kept)."""
    __tablename__ = "meeting_agenda_items"
    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    meeting_id: Mapped[str] = mapped_column(UUID(as_uuid=False), ForeignKey("meetings.id", ondelete="CASCADE"),
                                            nullable=False)
    case_id: Mapped[str] = mapped_column(UUID(as_uuid=False), ForeignKey("cases.id", ondelete="CASCADE"),
                                         nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    lawful_basis: Mapped[str] = mapped_column(Text, nullable=False)
    added_by: Mapped[str | None] = mapped_column(Text)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    removed_by: Mapped[str | None] = mapped_column(Text)


class Minutes(Base):
    """What was said about one agenda item, by a member of the chair team; never changed once written."""
    __tablename__ = "meeting_minutes"
    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    agenda_item_id: Mapped[str] = mapped_column(UUID(as_uuid=False), ForeignKey("meeting_agenda_items.id",
                                                                                ondelete="CASCADE"), nullable=False)
    discussion: Mapped[str] = mapped_column(Text, nullable=False)
    recorded_by: Mapped[str | None] = mapped_column(Text)
    recorded_by_name: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class Decision(Base):
    """One decision in the minutes, in order; `action_id`: the action it set on the case, if any."""
    __tablename__ = "meeting_decisions"
    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    minutes_id: Mapped[str] = mapped_column(UUID(as_uuid=False), ForeignKey("meeting_minutes.id",
                                                                           ondelete="CASCADE"), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    action_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False))


# -- MASH (0011; services/cases/mash.py, docs/mash.md): referrals led by the MASH team, not a shared record type ----
class Referral(Base):
    """A safeguarding referral to the MASH: received, triaged (RAG), researched with other agencies, decided."""
    __tablename__ = "mash_referrals"
    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    reference: Mapped[str] = mapped_column(Text, nullable=False, unique=True)         # MASH-2026-000001
    status: Mapped[str] = mapped_column(Text, nullable=False, default="received")   # received | triaged | decided
    category: Mapped[str] = mapped_column(Text, nullable=False)                     # child | adult
    concerns: Mapped[str] = mapped_column(Text, nullable=False)
    subject_profile_id: Mapped[str] = mapped_column(UUID(as_uuid=False), nullable=False)
    subject_name: Mapped[str] = mapped_column(Text, nullable=False)                 # as the profile said when linked
    subject_kind: Mapped[str] = mapped_column(Text, nullable=False)
    subject_linked: Mapped[str] = mapped_column(Text, nullable=False)                # given | matched | created
    referrer: Mapped[dict] = mapped_column(JSONB, nullable=False)                   # {name, organisation, contact}
    referred_by_kind: Mapped[str] = mapped_column(Text, nullable=False)             # user | client
    referred_by_id: Mapped[str | None] = mapped_column(Text)
    referred_by_organisation_id: Mapped[str | None] = mapped_column(Text)
    referred_by_team_ids: Mapped[list] = mapped_column(ARRAY(Text), nullable=False)  # told the outcome
    mash_team_id: Mapped[str] = mapped_column(Text, nullable=False)
    mash_organisation_id: Mapped[str] = mapped_column(Text, nullable=False)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    rag: Mapped[str | None] = mapped_column(Text)
    rag_rationale: Mapped[str | None] = mapped_column(Text)
    triaged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    respond_by: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str | None] = mapped_column(Text)
    outcome_rationale: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(Text)
    decided_by_name: Mapped[str | None] = mapped_column(Text)
    case_id: Mapped[str | None] = mapped_column(UUID(as_uuid=False), ForeignKey("cases.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class Triage(Base):
    """Each RAG given to a referral, kept when it is triaged again."""
    __tablename__ = "mash_triages"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    referral_id: Mapped[str] = mapped_column(UUID(as_uuid=False), ForeignKey("mash_referrals.id", ondelete="CASCADE"),
                                             nullable=False)
    rag: Mapped[str] = mapped_column(Text, nullable=False)
    rationale: Mapped[str] = mapped_column(Text, nullable=False)
    respond_by: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    triaged_by: Mapped[str | None] = mapped_column(Text)
    triaged_by_name: Mapped[str | None] = mapped_column(Text)
    triaged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class ResearchRequest(Base):
    """A question to another agency's team about a referral's subject; answered once."""
    __tablename__ = "mash_research_requests"
    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    referral_id: Mapped[str] = mapped_column(UUID(as_uuid=False), ForeignKey("mash_referrals.id", ondelete="CASCADE"),
                                             nullable=False)
    team_id: Mapped[str] = mapped_column(Text, nullable=False)
    team_name: Mapped[str] = mapped_column(Text, nullable=False)
    organisation_id: Mapped[str] = mapped_column(Text, nullable=False)
    question: Mapped[str] = mapped_column(Text, nullable=False)
    due: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    asked_by: Mapped[str | None] = mapped_column(Text)
    asked_by_name: Mapped[str | None] = mapped_column(Text)
    asked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    answer: Mapped[str | None] = mapped_column(Text)               # information | nothing_known
    information: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(Text)
    answered_by_name: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    mash_team_id: Mapped[str] = mapped_column(Text, nullable=False)       # the referral's MASH team (0013)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))   # decided before it was answered
    due_soon_told_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # mash_reminders.py (0014)
    overdue_told_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
