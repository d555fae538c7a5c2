//! Engagements and their members: the engagement commands, and the two flows that add a
//! person (opening an engagement, adding a member) with their personal data kept in the
//! vault, never in events.

use super::support::{internal, Recorder};
use crate::accounts::Accounts;
use crate::read_models::engagements;
use crate::store::events::Cqrs;
use crate::store::Db;
use crate::texts::Texts;
use crate::vault::{MemberPersonal, Sealed, Vault};
use async_trait::async_trait;
use chrono::NaiveDate;
use kpi_ledger_domain::access::EngagementRole;
use kpi_ledger_domain::engagement::{Engagement, EngagementCommand, EngagementSettings, NewMember};
use kpi_ledger_domain::ids::MemberId;
use kpi_ledger_domain::metadata::CommandMetadata;
use kpi_ledger_domain::metrics::MetricDefinition;
use kpi_ledger_domain::user::Grants;
use kpi_ledger_domain::ErrorKind;
use kpi_ledger_graphql::access::{CommandPermit, EngagementScope};
use kpi_ledger_graphql::ports::{
    EngagementPort, EngagementView, MemberView, NewMemberRequest, PersonalData,
    PersonalDataReadView, PersonalFields, PortError,
};
use std::collections::HashMap;

pub struct EngagementService {
    db: Db,
    cqrs: Cqrs<Engagement>,
    accounts: Accounts,
    vault: Vault,
    texts: Texts,
    recorder: Recorder,
}

impl EngagementService {
    pub fn new(db: Db, accounts: Accounts, vault: Vault, texts: Texts, recorder: Recorder) -> Self {
        Self {
            cqrs: Cqrs::new(&db),
            db,
            accounts,
            vault,
            texts,
            recorder,
        }
    }

    async fn record(
        &self,
        permit: &CommandPermit,
        command: EngagementCommand,
        metadata: &CommandMetadata,
    ) -> Result<(), PortError> {
        let id = permit.engagement_id().to_string();
        self.recorder
            .record(&self.cqrs, permit, &id, command, metadata)
            .await
    }

    /// Seals a member's personal fields, records `command`, and removes the fields again if
    /// the command is refused.
    async fn with_personal_data(
        &self,
        permit: &CommandPermit,
        member_id: MemberId,
        fields: MemberPersonal,
        command: EngagementCommand,
        metadata: &CommandMetadata,
    ) -> Result<(), PortError> {
        let engagement = permit.engagement_id();
        self.vault.seal(engagement, member_id, &fields).await?;
        if let Err(error) = self.record(permit, command, metadata).await {
            self.vault.discard(engagement, member_id).await?;
            return Err(error);
        }
        Ok(())
    }
}

#[async_trait]
impl EngagementPort for EngagementService {
    async fn engagement(&self, scope: &EngagementScope) -> Result<EngagementView, PortError> {
        engagements::engagement(&self.db, scope.engagement_id())
            .await?
            .ok_or_else(|| PortError::not_found("engagement"))
    }

    async fn engagements(
        &self,
        scopes: &[EngagementScope],
    ) -> Result<Vec<EngagementView>, PortError> {
        let ids: Vec<_> = scopes.iter().map(|s| s.engagement_id()).collect();
        let mut found = engagements::engagements(&self.db, &ids).await?;
        ids.iter()
            .map(|id| {
                let at = found
                    .iter()
                    .position(|view| view.id == *id)
                    .ok_or_else(|| PortError::not_found("engagement"))?;
                Ok(found.swap_remove(at))
            })
            .collect()
    }

    async fn members(&self, scope: &EngagementScope) -> Result<Vec<MemberView>, PortError> {
        Ok(engagements::members(&self.db, scope.engagement_id()).await?)
    }

    async fn member_personal_data(
        &self,
        scope: &EngagementScope,
        members: &[MemberId],
    ) -> Result<HashMap<MemberId, PersonalData>, PortError> {
        let opened = self.vault.open_for(scope, members).await?;
        Ok(opened
            .into_iter()
            .map(|(id, sealed)| {
                let data = match sealed {
                    Sealed::Present(p) => PersonalData::Present(PersonalFields {
                        display_name: p.display_name,
                        email: p.email,
                    }),
                    Sealed::Erased => PersonalData::Erased,
                };
                (id, data)
            })
            .collect())
    }

    async fn metric_catalogue(
        &self,
        scope: &EngagementScope,
    ) -> Result<Vec<MetricDefinition>, PortError> {
        Ok(engagements::catalogue(&self.db, scope.engagement_id()).await?)
    }

    async fn open_engagement(
        &self,
        permit: &CommandPermit,
        settings: EngagementSettings,
        founded_on: NaiveDate,
        metadata: &CommandMetadata,
    ) -> Result<(), PortError> {
        let account = self
            .accounts
            .by_id(permit.actor())
            .await?
            .ok_or_else(|| PortError::not_found("user"))?;
        let founder = NewMember {
            member_id: MemberId::new_random(),
            user_id: permit.actor(),
            role: EngagementRole::Consultant,
            position: None,
            active_from: founded_on,
        };
        let fields = MemberPersonal {
            display_name: account.display_name,
            email: account.email,
        };
        let member_id = founder.member_id;
        let command = EngagementCommand::Open {
            engagement_id: permit.engagement_id(),
            settings,
            founder,
        };
        self.with_personal_data(permit, member_id, fields, command, metadata)
            .await
    }

    async fn add_member(
        &self,
        permit: &CommandPermit,
        member: NewMemberRequest,
        metadata: &CommandMetadata,
    ) -> Result<MemberId, PortError> {
        let (user_id, created) = self
            .accounts
            .ensure(member.email.as_str(), member.display_name.as_str())
            .await?;
        let member_id = MemberId::new_random();
        let fields = MemberPersonal {
            display_name: member.display_name.as_str().to_string(),
            email: member.email.as_str().to_string(),
        };
        let command = EngagementCommand::AddMember(NewMember {
            member_id,
            user_id,
            role: member.role,
            position: member.position,
            active_from: member.active_from,
        });
        let added = self
            .with_personal_data(permit, member_id, fields, command, metadata)
            .await;
        if created {
            match &added {
                // Nothing of a failed change may remain: not even the account it created.
                Err(_) => self.accounts.discard(user_id).await?,
                Ok(()) => self
                    .accounts
                    .register(user_id, Grants::default(), metadata)
                    .await
                    .map_err(internal)?,
            }
        }
        added.map(|()| member_id)
    }

    async fn personal_data_reads(
        &self,
        scope: &EngagementScope,
        member: MemberId,
    ) -> Result<Vec<PersonalDataReadView>, PortError> {
        Ok(self.vault.reads().of_member(scope, member).await?)
    }

    async fn erase_personal_data(
        &self,
        permit: &CommandPermit,
        member_id: MemberId,
        metadata: &CommandMetadata,
    ) -> Result<(), PortError> {
        let engagement = permit.engagement_id();
        // Free text naming the member goes first, while their name can still be read:
        // a retry after a failure below finds whatever is left.
        if let Some(Sealed::Present(personal)) = self
            .vault
            .open(engagement, &[member_id])
            .await?
            .remove(&member_id)
        {
            let erased = self
                .texts
                .erase_naming(
                    engagement,
                    &personal.display_name,
                    &personal.email,
                    &chrono::Utc::now().to_rfc3339(),
                )
                .await?;
            tracing::info!(%engagement, %member_id, texts = erased, "erased free text naming the member");
        }
        let command = EngagementCommand::ErasePersonalData { member_id };
        let recorded = self.record(permit, command, metadata).await;
        match &recorded {
            Ok(()) => {}
            // Already erased: finish what an interrupted earlier request may have left.
            Err(PortError::Domain {
                kind: ErrorKind::Conflict,
                ..
            }) => {}
            Err(_) => return recorded,
        }
        let user = engagements::members(&self.db, engagement)
            .await?
            .into_iter()
            .find(|m| m.member_id == member_id)
            .map(|m| m.user_id)
            .ok_or_else(|| PortError::not_found("member"))?;
        self.accounts.erase_if_unneeded(user).await?;
        if !self.db.compact_personal_data().await? {
            tracing::warn!(
                %engagement,
                %member_id,
                "personal data erased, but deleted rows stay in the database files until \
                 `kpi-ledger compact` runs as the tables' owner"
            );
        }
        recorded
    }

    async fn execute_engagement(
        &self,
        permit: &CommandPermit,
        command: EngagementCommand,
        metadata: &CommandMetadata,
    ) -> Result<(), PortError> {
        self.record(permit, command, metadata).await
    }
}
