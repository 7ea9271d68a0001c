"""The one Piccolo app. Its migrations live in the top-level ``migrations/`` folder."""

from piccolo.conf.apps import AppConfig

from portal.accounts.tables import Membership, PasswordResetToken, User
from portal.advice.tables import (
    AdoptionVote,
    Advice,
    AdviceItem,
    AdviceVersion,
    CouncilQuestion,
    Decision,
    DecisionLink,
    HeardAnswer,
    OutcomeUpdate,
    ResponseVersion,
)
from portal.agreements.tables import (
    Claim,
    OwnershipAgreement,
    PaymentAgreement,
    RestrictedPayee,
    RoundTerms,
)
from portal.core.audit import AuditEntry
from portal.core.mail import OutboxMessage
from portal.core.settings import PROJECT_ROOT
from portal.cycles.tables import PolicyCycle, Stage, StageTemplateStep
from portal.deliberation.tables import (
    DigestItem,
    NotificationSetting,
    Poll,
    PollOption,
    PollVote,
    Post,
    PostReport,
    PostRevision,
    Reaction,
    Thread,
    ThreadRead,
)
from portal.invitations.tables import Invitation
from portal.panels.tables import Panel, PanelMembership
from portal.privacy.tables import Consent, GuardianRequest, PersonalDetails
from portal.rounds.tables import ConsultationRound, RoundDocument, RoundPanel
from portal.tenants.tables import Tenant

TABLES = [
    Tenant,
    User,
    Membership,
    PasswordResetToken,
    Invitation,
    Panel,
    StageTemplateStep,
    PolicyCycle,
    Stage,
    PanelMembership,
    ConsultationRound,
    RoundPanel,
    RoundDocument,
    Thread,
    Post,
    PostRevision,
    Reaction,
    PostReport,
    Poll,
    PollOption,
    PollVote,
    ThreadRead,
    NotificationSetting,
    DigestItem,
    AuditEntry,
    OutboxMessage,
    RestrictedPayee,
    RoundTerms,
    PaymentAgreement,
    OwnershipAgreement,
    Claim,
    PersonalDetails,
    Consent,
    GuardianRequest,
    Advice,
    AdviceItem,
    AdviceVersion,
    AdoptionVote,
    ResponseVersion,
    Decision,
    DecisionLink,
    OutcomeUpdate,
    HeardAnswer,
    CouncilQuestion,
]

APP_CONFIG = AppConfig(
    app_name="portal",
    migrations_folder_path=str(PROJECT_ROOT / "migrations"),
    table_classes=TABLES,
    migration_dependencies=[],
    commands=[],
)
