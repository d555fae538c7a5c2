use crate::access::{ports, viewer};
use crate::error::{not_found, PortResultExt};
use async_graphql::{Context, Object, Result, SimpleObject};
use uuid::Uuid;

/// The authenticated caller.
#[derive(SimpleObject)]
pub struct ViewerInfo {
    /// The caller's user id.
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    /// May open engagements.
    pub consultant: bool,
    /// May manage users and tokens of the installation.
    pub admin: bool,
}

#[derive(Default)]
pub struct ViewerQuery;

#[Object]
impl ViewerQuery {
    /// Who the bearer token belongs to.
    async fn viewer(&self, ctx: &Context<'_>) -> Result<ViewerInfo> {
        let viewer = viewer(ctx)?;
        let account = ports(ctx)
            .identity()?
            .account(viewer.user_id)
            .await
            .gql()?
            .ok_or_else(|| not_found("user"))?;
        Ok(ViewerInfo {
            id: account.user_id.as_uuid(),
            email: account.email,
            display_name: account.display_name,
            consultant: viewer.grants.consultant,
            admin: viewer.grants.admin,
        })
    }
}
