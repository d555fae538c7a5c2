//! Who is asking, and what they may touch.
//!
//! The server authenticates the bearer token and puts a [`Viewer`] into the request. Every
//! resolver that touches an engagement first calls [`engagement_scope`], which answers
//! "not found" for engagements the viewer does not belong to, exactly as for engagements
//! that do not exist. The [`EngagementScope`] it returns is the only key the
//! [`Ports`](crate::ports::Ports) accept for engagement data, and a [`CommandPermit`] (made
//! from a scope by [`EngagementScope::permit`], or by [`open_permit`]) the only key for
//! changes: the check cannot be forgotten, because without it there is nothing to call.

use crate::error::{coded, not_found, PortResultExt, FORBIDDEN, UNAUTHENTICATED};
use crate::ports::{MembershipView, Ports};
use async_graphql::{Context, Result};
use chrono::{DateTime, NaiveDate, Utc};
use kpi_ledger_domain::access::{Capability, EngagementRole};
use kpi_ledger_domain::ids::{EngagementId, MemberId, UserId};
use kpi_ledger_domain::metadata::CommandMetadata;
use kpi_ledger_domain::user::Grants;
use uuid::Uuid;

/// The authenticated caller of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewer {
    pub user_id: UserId,
    pub grants: Grants,
}

/// Facts about the request taken at the edge: the correlation id and the instant it
/// arrived (from which "today" in an engagement's time zone is derived).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestContext {
    pub correlation_id: Uuid,
    pub received_at: DateTime<Utc>,
}

impl RequestContext {
    /// The calendar date of the request in `time_zone` (UTC if it does not parse).
    pub fn today_in(&self, time_zone: &str) -> NaiveDate {
        match kpi_ledger_domain::period::time_zone(time_zone) {
            Ok(tz) => self.received_at.with_timezone(&tz).date_naive(),
            Err(_) => self.received_at.date_naive(),
        }
    }
}

/// The viewer's standing in one engagement. Only [`engagement_scope`] and
/// [`visible_engagements`] make these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngagementScope {
    engagement_id: EngagementId,
    member_id: MemberId,
    user_id: UserId,
    role: EngagementRole,
    time_zone: String,
    opened_position: i64,
}

impl EngagementScope {
    pub fn engagement_id(&self) -> EngagementId {
        self.engagement_id
    }
    /// The viewer's own membership.
    pub fn member_id(&self) -> MemberId {
        self.member_id
    }
    pub fn user_id(&self) -> UserId {
        self.user_id
    }
    pub fn role(&self) -> EngagementRole {
        self.role
    }
    /// A user id as this caller may see it: client viewers get a stand-in, the same for
    /// one person throughout this engagement but different in every other, so an id never
    /// tells them who someone is or links them across engagements (SPEC §1). `system`
    /// and other non-ids pass unchanged.
    pub fn shown_user_id(&self, actor: &str) -> String {
        match (self.role, actor.parse::<Uuid>()) {
            (EngagementRole::ClientViewer, Ok(user)) => {
                Uuid::new_v5(&self.engagement_id.as_uuid(), user.as_bytes()).to_string()
            }
            _ => actor.to_string(),
        }
    }
    pub fn time_zone(&self) -> &str {
        &self.time_zone
    }
    pub fn opened_position(&self) -> i64 {
        self.opened_position
    }

    /// A period as this engagement writes it: campaign windows in its time zone.
    pub fn normalise(
        &self,
        period: kpi_ledger_domain::period::Period,
    ) -> kpi_ledger_domain::period::Period {
        match kpi_ledger_domain::period::time_zone(&self.time_zone) {
            Ok(tz) => period.in_time_zone(tz),
            Err(_) => period,
        }
    }

    pub fn allows(&self, capability: Capability) -> bool {
        self.role.allows(capability)
    }

    /// Fails with FORBIDDEN (the viewer already knows the engagement exists) unless the
    /// viewer's role allows `capability`.
    pub fn require(&self, capability: Capability) -> Result<()> {
        if self.allows(capability) {
            Ok(())
        } else {
            Err(coded(
                FORBIDDEN,
                format!(
                    "your role in this engagement ({}) does not allow this",
                    self.role
                ),
            ))
        }
    }

    /// Permission to change this engagement in a way `capability` covers.
    pub fn permit(&self, capability: Capability) -> Result<CommandPermit> {
        self.require(capability)?;
        Ok(CommandPermit {
            engagement_id: self.engagement_id,
            actor: self.user_id,
        })
    }
}

/// Proof that the actor may change one engagement; the ports take nothing less.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandPermit {
    engagement_id: EngagementId,
    actor: UserId,
}

impl CommandPermit {
    pub fn engagement_id(&self) -> EngagementId {
        self.engagement_id
    }
    pub fn actor(&self) -> UserId {
        self.actor
    }
}

pub fn viewer(ctx: &Context<'_>) -> Result<Viewer> {
    ctx.data_opt::<Viewer>()
        .copied()
        .ok_or_else(|| coded(UNAUTHENTICATED, "a bearer token is required"))
}

pub fn request(ctx: &Context<'_>) -> RequestContext {
    ctx.data_opt::<RequestContext>()
        .copied()
        .unwrap_or(RequestContext {
            correlation_id: Uuid::new_v4(),
            received_at: Utc::now(),
        })
}

pub fn ports<'a>(ctx: &Context<'a>) -> &'a Ports {
    ctx.data_unchecked::<Ports>()
}

/// Metadata for a command the viewer runs in this request.
pub async fn command_metadata(
    ctx: &Context<'_>,
    permit: &CommandPermit,
    reason: Option<String>,
) -> Result<CommandMetadata> {
    let viewer = viewer(ctx)?;
    let request = request(ctx);
    let reason = crate::texts::seal_optional(ctx, permit, reason.as_deref()).await?;
    Ok(CommandMetadata::new(Some(viewer.user_id), request.correlation_id).with_note(reason))
}

/// Everything a mutation on an existing engagement needs: the caller's scope, the permit
/// for `capability`, and the command metadata.
pub struct Change {
    pub scope: EngagementScope,
    pub permit: CommandPermit,
    pub metadata: CommandMetadata,
    /// The engagement as the checks read it (before the change).
    pub engagement: crate::ports::EngagementView,
}

/// The reason of a change as its event holds it: the sealed note, or a blank one (which
/// the domain refuses where a reason is required).
pub fn reason_note(metadata: &CommandMetadata) -> kpi_ledger_domain::text::Note {
    metadata
        .reason
        .clone()
        .unwrap_or_else(|| kpi_ledger_domain::text::Note::inline(""))
}

/// The checks every change to an engagement starts with, in order: the caller belongs to
/// it (NOT_FOUND otherwise), their role allows `capability` (FORBIDDEN), and the
/// engagement is not closed (LOCKED).
pub async fn change(
    ctx: &Context<'_>,
    engagement_id: Uuid,
    capability: Capability,
    reason: Option<String>,
) -> Result<Change> {
    let scope = engagement_scope(ctx, EngagementId(engagement_id)).await?;
    let permit = scope.permit(capability)?;
    let view = ports(ctx).engagements()?.engagement(&scope).await.gql()?;
    if view.status == kpi_ledger_domain::engagement::EngagementStatus::Closed {
        return Err(coded(
            "LOCKED",
            "the engagement is closed; it accepts no changes",
        ));
    }
    let metadata = command_metadata(ctx, &permit, reason).await?;
    Ok(Change {
        scope,
        permit,
        metadata,
        engagement: view,
    })
}

/// Permission to open a new engagement: only users with the consultant grant.
pub fn open_permit(ctx: &Context<'_>, engagement_id: EngagementId) -> Result<CommandPermit> {
    let viewer = viewer(ctx)?;
    if !viewer.grants.consultant {
        return Err(coded(
            FORBIDDEN,
            "only users with the consultant grant may open engagements",
        ));
    }
    Ok(CommandPermit {
        engagement_id,
        actor: viewer.user_id,
    })
}

/// A membership counts while it has no active-until date, or until the end of that day
/// in the engagement's time zone.
fn is_current(membership: &MembershipView, request: &RequestContext) -> bool {
    match membership.active_until {
        None => true,
        Some(until) => until >= request.today_in(&membership.time_zone),
    }
}

fn scope_of(viewer: &Viewer, membership: MembershipView) -> EngagementScope {
    EngagementScope {
        engagement_id: membership.engagement_id,
        member_id: membership.member_id,
        user_id: viewer.user_id,
        role: membership.role,
        time_zone: membership.time_zone,
        opened_position: membership.opened_position,
    }
}

/// Every engagement the viewer currently belongs to, newest first.
pub async fn visible_engagements(ctx: &Context<'_>) -> Result<Vec<EngagementScope>> {
    let viewer = viewer(ctx)?;
    let request = request(ctx);
    let mut scopes: Vec<EngagementScope> = ports(ctx)
        .identity()?
        .memberships(viewer.user_id)
        .await
        .gql()?
        .into_iter()
        .filter(|m| is_current(m, &request))
        .map(|m| scope_of(&viewer, m))
        .collect();
    // Newest engagement first; within one engagement the newest membership (the ports
    // return memberships newest first, and the sort is stable) is the one that counts.
    scopes.sort_by_key(|s| std::cmp::Reverse(s.opened_position));
    scopes.dedup_by_key(|s| s.engagement_id);
    Ok(scopes)
}

/// The viewer's scope in one engagement, or NOT_FOUND when the engagement does not exist
/// or the viewer does not (or no longer) belong to it. The two cases are indistinguishable.
pub async fn engagement_scope(
    ctx: &Context<'_>,
    engagement_id: EngagementId,
) -> Result<EngagementScope> {
    visible_engagements(ctx)
        .await?
        .into_iter()
        .find(|s| s.engagement_id == engagement_id)
        .ok_or_else(|| not_found("engagement"))
}
