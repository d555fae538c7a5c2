//! Members of an engagement: who they are (names and emails only for those who may see
//! them, SPEC §1), and adding, changing and removing them.

use crate::access::{command_metadata, engagement_scope, ports, request, EngagementScope};
use crate::engagement::RoleGql;
use crate::error::{not_found, validation, PortResultExt};
use crate::ports::{MemberView, NewMemberRequest, PersonalData};
use crate::scalars::Date;
use async_graphql::{Context, InputObject, Object, Result};
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
    /// Why (the person's request, its date): recorded with the erasure.
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
        let metadata = command_metadata(ctx, input.reason)?;
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
        let metadata = command_metadata(ctx, input.reason)?;
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
        let metadata = command_metadata(ctx, input.reason)?;
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
        let metadata = command_metadata(ctx, input.reason)?;
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
