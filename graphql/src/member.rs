//! Members of an engagement: who they are (names and emails only for those who may see
//! them, SPEC §1), and adding, changing and removing them.

use crate::access::{command_metadata, engagement_scope, ports, request, EngagementScope};
use crate::engagement::RoleGql;
use crate::error::{not_found, validation, PortResultExt};
use crate::ports::{MemberView, NewMemberRequest, PersonalData, PersonalDataReadView};
use crate::scalars::Date;
use async_graphql::{Context, Enum, InputObject, Object, Result};
use kpi_ledger_domain::access::{Capability, MemberVisibility};
use kpi_ledger_domain::engagement::EngagementCommand;
use kpi_ledger_domain::ids::{EngagementId, MemberId};
use kpi_ledger_domain::values::{DisplayName, Email};
use uuid::Uuid;

/// One person's membership of an engagement.
pub struct Member {
    view: MemberView,
    personal: Option<PersonalData>,
    is_viewer: bool,
}

#[Object]
impl Member {
    async fn id(&self) -> Uuid {
        self.view.member_id.as_uuid()
    }
    async fn role(&self) -> RoleGql {
        self.view.role.into()
    }
    /// Position key such as `advertising`.
    async fn position(&self) -> Option<&str> {
        self.view.position.as_deref()
    }
    async fn active_from(&self) -> Date {
        self.view.active_from.into()
    }
    async fn active_until(&self) -> Option<Date> {
        self.view.active_until.map(Date)
    }
    /// A stable stand-in for the name, for callers who may not see names.
    async fn pseudonym(&self) -> String {
        crate::ports::PersonView::member_pseudonym(self.view.member_id)
    }
    /// The member's name; null where the caller may not see it or it was erased.
    async fn display_name(&self) -> Option<&str> {
        match &self.personal {
            Some(PersonalData::Present(fields)) => Some(&fields.display_name),
            _ => None,
        }
    }
    /// The member's email; null where the caller may not see it or it was erased.
    async fn email(&self) -> Option<&str> {
        match &self.personal {
            Some(PersonalData::Present(fields)) => Some(&fields.email),
            _ => None,
        }
    }
    /// True when the member's personal data was erased.
    async fn erased(&self) -> bool {
        matches!(self.personal, Some(PersonalData::Erased))
    }
    /// True for the caller's own membership.
    async fn is_viewer(&self) -> bool {
        self.is_viewer
    }
}

/// What of a member's personal data was read.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum PersonalDataReadKind {
    /// Their name and email, shown to someone else.
    NameAndEmail,
    /// Their payout statement, downloaded.
    PayoutStatement,
}

/// Reads of a member's personal data by one reader on one day (SPEC §11): what a person's
/// access request is answered with.
pub struct PersonalDataRead {
    view: PersonalDataReadView,
    reader: Option<MemberView>,
    reader_name: Option<String>,
}

#[Object]
impl PersonalDataRead {
    /// In the engagement's time zone.
    async fn day(&self) -> Date {
        self.view.day.into()
    }
    async fn kind(&self) -> PersonalDataReadKind {
        match self.view.kind.as_str() {
            "payout_statement" => PersonalDataReadKind::PayoutStatement,
            _ => PersonalDataReadKind::NameAndEmail,
        }
    }
    /// How many times that day.
    async fn reads(&self) -> i64 {
        self.view.reads
    }
    /// The reader's role in the engagement.
    async fn reader_role(&self) -> Option<RoleGql> {
        self.reader.as_ref().map(|r| r.role.into())
    }
    /// The reader's stand-in name.
    async fn reader_pseudonym(&self) -> String {
        crate::ports::PersonView::member_pseudonym(self.view.reader_member_id)
    }
    /// The reader's name, for callers who see names.
    async fn reader_name(&self) -> Option<&str> {
        self.reader_name.as_deref()
    }
}

/// Who read `member`'s personal data: the member themself may ask, and those who may read
/// personal data (consultants and client owners answer access requests). A member asking
/// about another is told it does not exist.
pub(crate) async fn personal_data_reads(
    ctx: &Context<'_>,
    scope: &EngagementScope,
    member: MemberId,
) -> Result<Vec<PersonalDataRead>> {
    if member != scope.member_id() {
        if scope.role().member_visibility() == MemberVisibility::SelfOnly {
            return Err(not_found("member"));
        }
        scope.require(Capability::ReadPersonalData)?;
    }
    let engagements = ports(ctx).engagements()?;
    let members = engagements.members(scope).await.gql()?;
    if !members.iter().any(|m| m.member_id == member) {
        return Err(not_found("member"));
    }
    let views = engagements.personal_data_reads(scope, member).await.gql()?;
    let full = scope.role().member_visibility() == MemberVisibility::Full;
    let readers: Vec<MemberId> = views.iter().map(|v| v.reader_member_id).collect();
    let names = if full && !readers.is_empty() {
        engagements
            .member_personal_data(scope, &readers)
            .await
            .gql()?
    } else {
        Default::default()
    };
    Ok(views
        .into_iter()
        .map(|view| {
            let reader_name = match names.get(&view.reader_member_id) {
                Some(PersonalData::Present(p)) => Some(p.display_name.clone()),
                _ => None,
            };
            PersonalDataRead {
                reader: members
                    .iter()
                    .find(|m| m.member_id == view.reader_member_id)
                    .cloned(),
                reader_name,
                view,
            }
        })
        .collect())
}

/// Applies the caller's member visibility and attaches the personal fields they may see.
pub(crate) async fn present_members(
    ctx: &Context<'_>,
    scope: &EngagementScope,
    members: Vec<MemberView>,
) -> Result<Vec<Member>> {
    let visibility = scope.role().member_visibility();
    let members: Vec<MemberView> = match visibility {
        MemberVisibility::SelfOnly => members
            .into_iter()
            .filter(|m| m.member_id == scope.member_id())
            .collect(),
        MemberVisibility::Full | MemberVisibility::Pseudonymous => members,
    };
    let readable: Vec<MemberId> = members
        .iter()
        .filter(|m| visibility.shows_name_of(scope.member_id(), m.member_id))
        .map(|m| m.member_id)
        .collect();
    let mut personal = if readable.is_empty() {
        Default::default()
    } else {
        ports(ctx)
            .engagements()?
            .member_personal_data(scope, &readable)
            .await
            .gql()?
    };
    Ok(members
        .into_iter()
        .map(|view| Member {
            personal: personal.remove(&view.member_id),
            is_viewer: view.member_id == scope.member_id(),
            view,
        })
        .collect())
}

pub(crate) async fn load_member(
    ctx: &Context<'_>,
    scope: &EngagementScope,
    member_id: MemberId,
) -> Result<Member> {
    let view = ports(ctx)
        .engagements()?
        .members(scope)
        .await
        .gql()?
        .into_iter()
        .find(|m| m.member_id == member_id)
        .ok_or_else(|| not_found("member"))?;
    present_members(ctx, scope, vec![view])
        .await?
        .pop()
        .ok_or_else(|| not_found("member"))
}

#[derive(InputObject)]
pub struct AddMemberInput {
    pub engagement_id: Uuid,
    pub display_name: String,
    /// The person's login email; an account is created for it when none exists.
    pub email: String,
    pub role: RoleGql,
    /// Position key such as `advertising`, `operations`, `customer_service`.
    pub position: Option<String>,
    /// First active day; default today in the engagement's time zone.
    pub active_from: Option<Date>,
    pub reason: Option<String>,
}

#[derive(InputObject)]
pub struct ChangeMemberRoleInput {
    pub engagement_id: Uuid,
    pub member_id: Uuid,
    pub role: RoleGql,
    pub reason: Option<String>,
}

#[derive(InputObject)]
pub struct RemoveMemberInput {
    pub engagement_id: Uuid,
    pub member_id: Uuid,
    /// Last active day (inclusive); bonus proration uses it.
    pub active_until: Date,
    pub reason: Option<String>,
}

#[derive(InputObject)]
pub struct EraseMemberPersonalDataInput {
    pub engagement_id: Uuid,
    pub member_id: Uuid,
    /// A reference to the request (its date, a ticket number), recorded with the erasure
    /// in the audit trail for good: never the person's name or email.
    pub reason: Option<String>,
}

#[derive(Default)]
pub struct MemberMutation;

#[Object]
impl MemberMutation {
    /// Adds a person to an engagement with one role. Consultants only.
    async fn add_member(&self, ctx: &Context<'_>, input: AddMemberInput) -> Result<Member> {
        let scope = engagement_scope(ctx, EngagementId(input.engagement_id)).await?;
        let permit = scope.permit(Capability::ManageMembers)?;
        let metadata = command_metadata(ctx, &permit, input.reason).await?;
        let member = NewMemberRequest {
            display_name: DisplayName::parse(&input.display_name)
                .map_err(|e| validation(e.to_string()))?,
            email: Email::parse(&input.email).map_err(|e| validation(e.to_string()))?,
            role: input.role.into(),
            position: input.position,
            active_from: input
                .active_from
                .map(|d| d.0)
                .unwrap_or_else(|| request(ctx).today_in(scope.time_zone())),
        };
        let member_id = ports(ctx)
            .engagements()?
            .add_member(&permit, member, &metadata)
            .await
            .gql()?;
        load_member(ctx, &scope, member_id).await
    }

    /// Gives a member another role. Consultants only; the last consultant keeps theirs.
    async fn change_member_role(
        &self,
        ctx: &Context<'_>,
        input: ChangeMemberRoleInput,
    ) -> Result<Member> {
        let scope = engagement_scope(ctx, EngagementId(input.engagement_id)).await?;
        let permit = scope.permit(Capability::ManageMembers)?;
        let metadata = command_metadata(ctx, &permit, input.reason).await?;
        let member_id = MemberId(input.member_id);
        let command = EngagementCommand::ChangeMemberRole {
            member_id,
            role: input.role.into(),
        };
        ports(ctx)
            .engagements()?
            .execute_engagement(&permit, command, &metadata)
            .await
            .gql()?;
        load_member(ctx, &scope, member_id).await
    }

    /// Erases a member's name and email (APPI, SPEC §11): their key is destroyed, so both
    /// read as erased everywhere, for good; ids, roles, dates, scores, payouts and the
    /// audit chain stay and still verify. Their login account is erased too when no other
    /// engagement needs it. Client owners only; allowed on a closed engagement and for
    /// former members. A second request answers CONFLICT.
    async fn erase_member_personal_data(
        &self,
        ctx: &Context<'_>,
        input: EraseMemberPersonalDataInput,
    ) -> Result<Member> {
        let scope = engagement_scope(ctx, EngagementId(input.engagement_id)).await?;
        let permit = scope.permit(Capability::ErasePersonalData)?;
        let metadata = command_metadata(ctx, &permit, input.reason).await?;
        let member_id = MemberId(input.member_id);
        ports(ctx)
            .engagements()?
            .erase_personal_data(&permit, member_id, &metadata)
            .await
            .gql()?;
        load_member(ctx, &scope, member_id).await
    }

    /// Ends a membership on `activeUntil` (inclusive). Consultants only.
    async fn remove_member(&self, ctx: &Context<'_>, input: RemoveMemberInput) -> Result<Member> {
        let scope = engagement_scope(ctx, EngagementId(input.engagement_id)).await?;
        let permit = scope.permit(Capability::ManageMembers)?;
        let metadata = command_metadata(ctx, &permit, input.reason).await?;
        let member_id = MemberId(input.member_id);
        let command = EngagementCommand::RemoveMember {
            member_id,
            active_until: input.active_until.0,
        };
        ports(ctx)
            .engagements()?
            .execute_engagement(&permit, command, &metadata)
            .await
            .gql()?;
        load_member(ctx, &scope, member_id).await
    }
}
