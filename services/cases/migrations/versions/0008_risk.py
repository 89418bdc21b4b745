"""cases: risk templates as data (seeded with matrix_5x5 and asb_vulnerability) and risk assessments on cases

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_LIKELIHOOD = ["Rare", "Unlikely", "Possible", "Likely", "Almost certain"]
_IMPACT = ["Negligible", "Minor", "Moderate", "Major", "Severe"]


def _scale(words):
    return [{"value": number, "label": f"{number} – {word}", "points": number}
            for number, word in enumerate(words, start=1)]


def _yes_no(code, text, weight):
    return {"code": code, "text": text, "answers": [{"value": "yes", "label": "Yes", "points": weight},
                                                    {"value": "no", "label": "No", "points": 0}]}


# Written for Concord: plain questions about how vulnerable the victim is and how much harm is being done.
# A "yes" adds the question's weight; the heavier weights are the signs of serious harm.
ASB_VULNERABILITY = [
    _yes_no("repeat_victim", "Has the victim reported anti-social behaviour to anyone in the last 12 months "
                             "before this report?", 3),
    _yes_no("targeted", "Does the victim feel singled out, for example because of who they are or where they "
                        "come from?", 3),
    _yes_no("health_condition", "Does the victim have a disability, a long-term illness or a mental health "
                                "condition?", 3),
    _yes_no("alone", "Does the victim live alone, or have nobody close by to support them?", 2),
    _yes_no("others_in_home", "Are there children or other vulnerable people living in the home?", 2),
    _yes_no("unsafe_at_home", "Does the victim feel unsafe in their own home?", 3),
    _yes_no("daily_life", "Has the behaviour stopped the victim doing everyday things, such as going out, "
                          "sleeping or going to work?", 2),
    _yes_no("health_worse", "Has the victim's physical or mental health got worse because of it?", 3),
    _yes_no("self_harm", "Has the victim talked about harming themselves or ending their life?", 5),
    _yes_no("violence", "Has there been violence, threats of violence or damage to the victim's property?", 4),
    _yes_no("escalating", "Is the behaviour happening more often, or getting more serious?", 3),
    _yes_no("moving_out", "Is the victim thinking of leaving their home because of it?", 1),
    _yes_no("let_down", "Does the victim feel that nobody has helped them so far?", 1),
]
TEMPLATES = [
    {"code": "matrix_5x5", "label": "Risk matrix (likelihood × impact)", "method": "product",
     "questions": [{"code": "likelihood", "text": "How likely is harm to happen?", "answers": _scale(_LIKELIHOOD)},
                   {"code": "impact", "text": "How serious would the harm be?", "answers": _scale(_IMPACT)}],
     "thresholds": [{"level": "low", "min": 1, "max": 4}, {"level": "medium", "min": 5, "max": 12},
                    {"level": "high", "min": 15, "max": 25}]},
    {"code": "asb_vulnerability", "label": "ASB victim vulnerability and harm", "method": "sum",
     "questions": ASB_VULNERABILITY,
     "thresholds": [{"level": "low", "min": 0, "max": 9}, {"level": "medium", "min": 10, "max": 17},
                    {"level": "high", "min": 18, "max": 35}]},
]


def upgrade():
    templates = op.create_table(
        "risk_templates",
        sa.Column("code", sa.Text, primary_key=True),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("method", sa.Text, nullable=False),
        sa.Column("questions", JSONB, nullable=False),
        sa.Column("thresholds", JSONB, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.CheckConstraint("method IN ('product', 'sum')", name="risk_templates_method"))
    op.bulk_insert(templates, TEMPLATES)
    op.create_table(
        "case_risk_assessments",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("case_id", UUID(as_uuid=False), sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
        sa.Column("template", sa.Text, sa.ForeignKey("risk_templates.code"), nullable=False),
        sa.Column("subject_profile_id", UUID(as_uuid=False)),
        sa.Column("answers", JSONB, nullable=False),
        sa.Column("factors", JSONB, nullable=False),
        sa.Column("score", sa.Integer, nullable=False),
        sa.Column("computed_level", sa.Text, nullable=False),
        sa.Column("level", sa.Text, nullable=False),
        sa.Column("override_reason", sa.Text),
        sa.Column("assessed_by", sa.Text),
        sa.Column("assessed_by_name", sa.Text),
        sa.Column("assessed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("review_on", sa.Date),
        sa.Column("signed_off_by", sa.Text),
        sa.Column("signed_off_by_name", sa.Text),
        sa.Column("signed_off_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("level IN ('low', 'medium', 'high') AND computed_level IN ('low', 'medium', 'high')",
                           name="case_risk_assessments_levels"),
        sa.CheckConstraint("(level = computed_level) OR override_reason IS NOT NULL",
                           name="case_risk_assessments_override_reason"))
    # A case's history newest first, and the newest of many cases at once (DISTINCT ON in lists).
    op.create_index("case_risk_assessments_case", "case_risk_assessments",
                    ["case_id", sa.text("assessed_at DESC"), sa.text("id DESC")])


def downgrade():
    op.drop_table("case_risk_assessments")
    op.drop_table("risk_templates")
