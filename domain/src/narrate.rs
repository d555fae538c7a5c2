//! Events told as sentences, in Japanese, Simplified Chinese and English, for the audit log:
//! "Wang Fang revised the ACoS target for 2026-06 from 30% to 25%: “Prime Day budget
//! moved”". Every event of every aggregate has a sentence: the matches below are
//! exhaustive, so a new event does not compile without one.

use crate::access::EngagementRole;
use crate::engagement::{EngagementEvent, EngagementStatus};
use crate::ids::{KpiId, MemberId};
use crate::import::ImportEvent;
use crate::kpi::KpiEvent;
use crate::language::Language;
use crate::metrics::Unit;
use crate::plan::PlanEvent;
use crate::review::{Decision, ReviewEvent};
use crate::scoring::Levels;
use crate::series::{SeriesEvent, Source};
use crate::settlement::PayoutEvent;
use crate::text::Note;
use crate::user::UserEvent;
use rust_decimal::Decimal;

/// One decoded event of any aggregate.
#[derive(Debug, Clone, PartialEq)]
pub enum AnyEvent {
    Engagement(EngagementEvent),
    User(UserEvent),
    Kpi(KpiEvent),
    Series(SeriesEvent),
    Import(ImportEvent),
    Review(ReviewEvent),
    Plan(PlanEvent),
    Payout(PayoutEvent),
}

/// A KPI as sentences name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KpiLabel {
    /// The metric's name in the sentence's language.
    pub name: String,
    pub unit: Unit,
}

/// What a sentence needs beyond the event: names, as the reader may see them.
pub trait Names {
    /// Who made the change: a name, a pseudonym, or the system.
    fn actor(&self) -> String;
    /// A member: their name, or a pseudonym for readers who may not see names.
    fn member(&self, member: MemberId) -> String;
    /// The KPI an event's aggregate id (or a KPI id) names, in `language`.
    fn kpi(&self, kpi: &str, language: Language) -> Option<KpiLabel>;
    /// The period of the review an event's aggregate id names.
    fn review_period(&self, review: &str) -> Option<String>;
    /// The member and period of the payout an event's aggregate id names.
    fn payout(&self, payout: &str) -> Option<(MemberId, String)>;
    /// The engagement's reporting currency.
    fn currency(&self) -> String;
    /// Whether free text that may name people (findings, decisions) and members'
    /// personal figures (payout amounts and scores) may be shown.
    fn personal_details(&self) -> bool;
    /// The text of a note: an inline note's own text; a sealed one's as opened from the
    /// vault, or `None` where it was erased or not opened for this reader.
    fn text(&self, note: &Note) -> Option<String> {
        note.inline_text().map(str::to_string)
    }
}

fn pick(language: Language, en: String, ja: String, zh: String) -> String {
    match language {
        Language::En => en,
        Language::Ja => ja,
        Language::Zh => zh,
    }
}

/// Thousands separators, exact digits.
fn grouped(value: Decimal) -> String {
    let text = crate::scoring::normalised(value);
    let (sign, text) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest.to_string()),
        None => ("", text),
    };
    let (int, frac) = match text.split_once('.') {
        Some((i, f)) => (i.to_string(), Some(f.to_string())),
        None => (text, None),
    };
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{out}.{f}"),
        None => format!("{sign}{out}"),
    }
}

/// A value in its unit: ratios as exact percentages, money with its currency.
pub fn value(value: Decimal, unit: Option<Unit>, currency: &str) -> String {
    match unit {
        Some(Unit::Ratio) => format!(
            "{}%",
            crate::scoring::normalised(value * Decimal::ONE_HUNDRED)
        ),
        Some(Unit::Currency) if currency == "JPY" => match value.is_sign_negative() {
            true => format!("-¥{}", grouped(-value)),
            false => format!("¥{}", grouped(value)),
        },
        Some(Unit::Currency) => format!("{} {currency}", grouped(value)),
        _ => grouped(value),
    }
}

fn quoted(language: Language, text: &str) -> String {
    match language {
        Language::Ja => format!("「{text}」"),
        _ => format!("“{text}”"),
    }
}

/// ": “why”" in the sentence's language, or nothing.
fn because(language: Language, reason: Option<&str>) -> String {
    match reason.map(str::trim).filter(|r| !r.is_empty()) {
        None => String::new(),
        Some(r) => match language {
            Language::En => format!(": {}", quoted(language, r)),
            _ => format!("：{}", quoted(language, r)),
        },
    }
}

pub fn role(role: EngagementRole, language: Language) -> &'static str {
    use EngagementRole::*;
    match (role, language) {
        (Consultant, Language::En) => "consultant",
        (Consultant, Language::Ja) => "コンサルタント",
        (Consultant, Language::Zh) => "顾问",
        (ClientOwner, Language::En) => "client owner",
        (ClientOwner, Language::Ja) => "クライアント責任者",
        (ClientOwner, Language::Zh) => "客户负责人",
        (ClientViewer, Language::En) => "client viewer",
        (ClientViewer, Language::Ja) => "クライアント閲覧者",
        (ClientViewer, Language::Zh) => "客户查看者",
        (Member, Language::En) => "member",
        (Member, Language::Ja) => "メンバー",
        (Member, Language::Zh) => "成员",
    }
}

pub fn status(status: EngagementStatus, language: Language) -> &'static str {
    use EngagementStatus::*;
    match (status, language) {
        (Diagnosing, Language::En) => "diagnosing",
        (Diagnosing, Language::Ja) => "診断中",
        (Diagnosing, Language::Zh) => "诊断中",
        (Trial, Language::En) => "trial",
        (Trial, Language::Ja) => "トライアル",
        (Trial, Language::Zh) => "试行",
        (Active, Language::En) => "active",
        (Active, Language::Ja) => "本稼働",
        (Active, Language::Zh) => "正式运行",
        (Paused, Language::En) => "paused",
        (Paused, Language::Ja) => "一時停止",
        (Paused, Language::Zh) => "暂停",
        (Closed, Language::En) => "closed",
        (Closed, Language::Ja) => "終了",
        (Closed, Language::Zh) => "已结束",
    }
}

/// The event as one sentence in `language`. `aggregate_id` is the id of the event's
/// aggregate; `reason` the reason recorded with it, if any.
pub fn sentence(
    event: &AnyEvent,
    aggregate_id: &str,
    reason: Option<&Note>,
    names: &dyn Names,
    language: Language,
) -> String {
    let actor = names.actor();
    let reason = reason.and_then(|note| names.text(note));
    let reason = reason.as_deref();
    let why = because(language, reason);
    let l = language;
    let kpi_name = |id: &str| {
        names
            .kpi(id, l)
            .map(|k| k.name)
            .unwrap_or_else(|| pick(l, "a KPI".into(), "KPI".into(), "某KPI".into()))
    };
    let kpi_unit = |id: &str| names.kpi(id, l).map(|k| k.unit);
    let currency = names.currency();
    match event {
        AnyEvent::Engagement(e) => engagement(e, &actor, &why, names, l),
        AnyEvent::User(e) => match e {
            UserEvent::UserRegistered { .. } => pick(
                l,
                format!("{actor} registered a login account"),
                format!("{actor}がログインアカウントを登録しました"),
                format!("{actor}注册了登录账户"),
            ),
            UserEvent::UserGrantsChanged { .. } => pick(
                l,
                format!("{actor} changed a user's installation rights"),
                format!("{actor}がユーザーの権限を変更しました"),
                format!("{actor}更改了用户的系统权限"),
            ),
        },
        AnyEvent::Kpi(e) => match e {
            KpiEvent::KpiDefined { kpi_id, definition } => {
                let name = kpi_name(&kpi_id.to_string());
                let weight = grouped(definition.weight);
                pick(
                    l,
                    format!("{actor} defined the KPI {name} with weight {weight}{why}"),
                    format!("{actor}がKPI「{name}」をウェイト{weight}で設定しました{why}"),
                    format!("{actor}设定了KPI“{name}”，权重{weight}{why}"),
                )
            }
            KpiEvent::KpiWeightChanged { from, to } => {
                let name = kpi_name(aggregate_id);
                let (from, to) = (grouped(*from), grouped(*to));
                pick(
                    l,
                    format!("{actor} changed the weight of {name} from {from} to {to}{why}"),
                    format!("{actor}が{name}のウェイトを{from}から{to}に変更しました{why}"),
                    format!("{actor}将{name}的权重从{from}调整为{to}{why}"),
                )
            }
            KpiEvent::KpiRetired { from } => {
                let name = kpi_name(aggregate_id);
                pick(
                    l,
                    format!("{actor} retired the KPI {name} from {from}{why}"),
                    format!("{actor}がKPI「{name}」を{from}から廃止しました{why}"),
                    format!("{actor}自{from}起停用了KPI“{name}”{why}"),
                )
            }
            KpiEvent::TargetSet {
                period,
                levels,
                previous,
                reason: set_reason,
            } => {
                let name = kpi_name(aggregate_id);
                let unit = kpi_unit(aggregate_id);
                let set_reason = names.text(set_reason);
                let why = because(l, reason.or(set_reason.as_deref()));
                let shown = |lv: &Levels| value(lv.target, unit, &currency);
                let range = |lv: &Levels| {
                    let t0 = value(lv.threshold, unit, &currency);
                    match lv.stretch {
                        Some(t2) => format!("{t0} / {} / {}", shown(lv), value(t2, unit, &currency)),
                        None => format!("{t0} / {}", shown(lv)),
                    }
                };
                match previous {
                    Some(before) => pick(
                        l,
                        format!(
                            "{actor} revised the {name} target for {period} from {} to {} (levels {}){why}",
                            shown(before),
                            shown(levels),
                            range(levels)
                        ),
                        format!(
                            "{actor}が{period}の{name}の目標を{}から{}に変更しました（水準 {}）{why}",
                            shown(before),
                            shown(levels),
                            range(levels)
                        ),
                        format!(
                            "{actor}将{period}的{name}目标从{}调整为{}（水平 {}）{why}",
                            shown(before),
                            shown(levels),
                            range(levels)
                        ),
                    ),
                    None => pick(
                        l,
                        format!(
                            "{actor} set the {name} target for {period} to {} (levels {}){why}",
                            shown(levels),
                            range(levels)
                        ),
                        format!(
                            "{actor}が{period}の{name}の目標を{}に設定しました（水準 {}）{why}",
                            shown(levels),
                            range(levels)
                        ),
                        format!(
                            "{actor}将{period}的{name}目标设定为{}（水平 {}）{why}",
                            shown(levels),
                            range(levels)
                        ),
                    ),
                }
            }
        },
        AnyEvent::Series(e) => series(e, &actor, &why, names, l),
        AnyEvent::Import(e) => match e {
            ImportEvent::ImportStarted {
                format,
                platform,
                file_name,
                conversion,
                ..
            } => {
                let file = file_name.clone().unwrap_or_else(|| format.clone());
                let platform = platform.clone().unwrap_or_default();
                let rate = conversion
                    .as_ref()
                    .map(|c| {
                        pick(
                            l,
                            format!(" at {} {}→{} ({}, {})", c.rate, c.from, c.to, c.date, c.source),
                            format!("（{}→{} {}、{}、{}）", c.from, c.to, c.rate, c.date, c.source),
                            format!("（{}→{} {}，{}，{}）", c.from, c.to, c.rate, c.date, c.source),
                        )
                    })
                    .unwrap_or_default();
                pick(
                    l,
                    format!("{actor} imported {file} ({format}, {platform}){rate}"),
                    format!("{actor}が{file}（{format}、{platform}）を取り込みました{rate}"),
                    format!("{actor}导入了{file}（{format}，{platform}）{rate}"),
                )
            }
            ImportEvent::ImportCompleted {
                format,
                observations_recorded,
                observations_restated,
                series,
                ..
            } => pick(
                l,
                format!(
                    "{actor}'s {format} import completed: {observations_recorded} {} recorded in {series} series, {observations_restated} restated",
                    if *observations_recorded == 1 { "observation" } else { "observations" }
                ),
                format!(
                    "{actor}による{format}の取り込みが完了しました：{series}系列に{observations_recorded}件の観測値を記録（うち{observations_restated}件は修正）"
                ),
                format!(
                    "{actor}的{format}导入已完成：在{series}个序列中记录了{observations_recorded}条观测值（其中{observations_restated}条为重述）"
                ),
            ),
        },
        AnyEvent::Review(e) => review(e, aggregate_id, &actor, names, l),
        AnyEvent::Plan(e) => match e {
            PlanEvent::PlanDrafted { version, terms, .. } => pick(
                l,
                format!(
                    "{actor} drafted the incentive plan {} (version {version}, {} {}){why}",
                    quoted(l, &terms.name),
                    terms.participants.len(),
                    if terms.participants.len() == 1 { "participant" } else { "participants" }
                ),
                format!(
                    "{actor}がインセンティブプラン{}を起案しました（第{version}版、対象{}名）{why}",
                    quoted(l, &terms.name),
                    terms.participants.len()
                ),
                format!(
                    "{actor}起草了激励方案{}（第{version}版，{}名参与者）{why}",
                    quoted(l, &terms.name),
                    terms.participants.len()
                ),
            ),
            PlanEvent::PlanRevised { version, terms } => pick(
                l,
                format!(
                    "{actor} revised the incentive plan {} to version {version}{why}",
                    quoted(l, &terms.name)
                ),
                format!(
                    "{actor}がインセンティブプラン{}を第{version}版に改訂しました{why}",
                    quoted(l, &terms.name)
                ),
                format!(
                    "{actor}将激励方案{}修订为第{version}版{why}",
                    quoted(l, &terms.name)
                ),
            ),
            PlanEvent::PlanApproved { version, .. } => pick(
                l,
                format!("{actor} approved version {version} of the incentive plan{why}"),
                format!("{actor}がインセンティブプラン第{version}版を承認しました{why}"),
                format!("{actor}批准了激励方案第{version}版{why}"),
            ),
        },
        AnyEvent::Payout(e) => {
            let (whose, period) = match e {
                PayoutEvent::PayoutCalculated { calculation, .. } => (
                    names.member(calculation.member_id),
                    calculation.period.to_string(),
                ),
                _ => names
                    .payout(aggregate_id)
                    .map(|(m, p)| (names.member(m), p))
                    .unwrap_or_default(),
            };
            match e {
                // Amounts and scores are personal (SPEC §1, §11): only for those who see
                // names.
                PayoutEvent::PayoutCalculated { calculation, .. } if !names.personal_details() => pick(
                    l,
                    format!("{actor} calculated {whose}'s payout for {period} (lock version {})", calculation.lock_version),
                    format!("{actor}が{whose}の{period}の支給額を計算しました（ロック第{}版）", calculation.lock_version),
                    format!("{actor}计算了{whose}在{period}的支付金额（锁定第{}版）", calculation.lock_version),
                ),
                PayoutEvent::PayoutAdjusted { carry_into, .. } if !names.personal_details() => pick(
                    l,
                    format!("{actor} adjusted {whose}'s payout for {period}, carried into {carry_into}"),
                    format!("{actor}が{whose}の{period}の支給を調整し、{carry_into}に繰り越しました"),
                    format!("{actor}调整了{whose}在{period}的支付，计入{carry_into}"),
                ),
                PayoutEvent::PayoutCalculated { calculation, .. } => {
                    let amount = value(calculation.figures.amount, Some(Unit::Currency), &currency);
                    let score = crate::scoring::normalised(calculation.score);
                    pick(
                        l,
                        format!("{actor} calculated {whose}'s payout for {period}: {amount} (score {score}, lock version {})", calculation.lock_version),
                        format!("{actor}が{whose}の{period}の支給額を計算しました：{amount}（スコア{score}、ロック第{}版）", calculation.lock_version),
                        format!("{actor}计算了{whose}在{period}的支付金额：{amount}（得分{score}，锁定第{}版）", calculation.lock_version),
                    )
                }
                PayoutEvent::PayoutApproved { .. } => pick(
                    l,
                    format!("{actor} approved {whose}'s payout for {period}{why}"),
                    format!("{actor}が{whose}の{period}の支給を承認しました{why}"),
                    format!("{actor}批准了{whose}在{period}的支付{why}"),
                ),
                PayoutEvent::PayoutPaid { paid_on, .. } => pick(
                    l,
                    format!("{actor} recorded {whose}'s payout for {period} as paid on {paid_on}"),
                    format!("{actor}が{whose}の{period}の支給を{paid_on}に支払済みとしました"),
                    format!("{actor}记录{whose}在{period}的支付已于{paid_on}付讫"),
                ),
                PayoutEvent::PayoutAdjusted {
                    amount,
                    reason: adjusted,
                    carry_into,
                    ..
                } => {
                    let amount = value(*amount, Some(Unit::Currency), &currency);
                    let why = because(l, names.text(adjusted).as_deref());
                    pick(
                        l,
                        format!("{actor} adjusted {whose}'s payout for {period} by {amount}, carried into {carry_into}{why}"),
                        format!("{actor}が{whose}の{period}の支給を{amount}調整し、{carry_into}に繰り越しました{why}"),
                        format!("{actor}将{whose}在{period}的支付调整{amount}，计入{carry_into}{why}"),
                    )
                }
            }
        }
    }
}

fn engagement(
    e: &EngagementEvent,
    actor: &str,
    why: &str,
    names: &dyn Names,
    l: Language,
) -> String {
    match e {
        EngagementEvent::EngagementOpened { settings, .. } => pick(
            l,
            format!(
                "{actor} opened the engagement {} for {}{why}",
                quoted(l, &settings.name),
                settings.client_name
            ),
            format!(
                "{actor}が{}のエンゲージメント{}を開始しました{why}",
                settings.client_name,
                quoted(l, &settings.name)
            ),
            format!(
                "{actor}为{}开启了项目{}{why}",
                settings.client_name,
                quoted(l, &settings.name)
            ),
        ),
        EngagementEvent::MemberAdded {
            member_id,
            role: r,
            position,
            active_from,
            ..
        } => {
            let who = names.member(*member_id);
            let position = position
                .as_ref()
                .map(|p| format!(" ({p})"))
                .unwrap_or_default();
            pick(
                l,
                format!(
                    "{actor} added {who} as {}{position} from {active_from}{why}",
                    role(*r, l)
                ),
                format!(
                    "{actor}が{who}を{}{position}として追加しました（{active_from}から）{why}",
                    role(*r, l)
                ),
                format!(
                    "{actor}添加了{who}，角色为{}{position}（自{active_from}起）{why}",
                    role(*r, l)
                ),
            )
        }
        EngagementEvent::MemberRoleChanged {
            member_id,
            from,
            to,
        } => {
            let who = names.member(*member_id);
            pick(
                l,
                format!(
                    "{actor} changed {who}'s role from {} to {}{why}",
                    role(*from, l),
                    role(*to, l)
                ),
                format!(
                    "{actor}が{who}の役割を{}から{}に変更しました{why}",
                    role(*from, l),
                    role(*to, l)
                ),
                format!(
                    "{actor}将{who}的角色从{}改为{}{why}",
                    role(*from, l),
                    role(*to, l)
                ),
            )
        }
        EngagementEvent::MemberRemoved {
            member_id,
            active_until,
        } => {
            let who = names.member(*member_id);
            pick(
                l,
                format!("{actor} ended {who}'s membership after {active_until}{why}"),
                format!("{actor}が{who}の参加を{active_until}までとしました{why}"),
                format!("{actor}将{who}的成员资格截止于{active_until}{why}"),
            )
        }
        EngagementEvent::MemberPersonalDataErased { member_id } => {
            let who = names.member(*member_id);
            pick(
                l,
                format!("{actor} erased the name and email of {who}{why}"),
                format!("{actor}が{who}の氏名とメールアドレスを消去しました{why}"),
                format!("{actor}删除了{who}的姓名和邮箱{why}"),
            )
        }
        EngagementEvent::EngagementStatusChanged { from, to } => pick(
            l,
            format!(
                "{actor} moved the engagement from {} to {}{why}",
                status(*from, l),
                status(*to, l)
            ),
            format!(
                "{actor}がエンゲージメントを{}から{}に移しました{why}",
                status(*from, l),
                status(*to, l)
            ),
            format!(
                "{actor}将项目状态从{}改为{}{why}",
                status(*from, l),
                status(*to, l)
            ),
        ),
        EngagementEvent::MetricDefined { metric } => pick(
            l,
            format!(
                "{actor} added the custom metric {} ({}){why}",
                quoted(l, &metric.label),
                metric.key
            ),
            format!(
                "{actor}がカスタム指標{}（{}）を追加しました{why}",
                quoted(l, &metric.label),
                metric.key
            ),
            format!(
                "{actor}添加了自定义指标{}（{}）{why}",
                quoted(l, &metric.label),
                metric.key
            ),
        ),
    }
}

fn metric_name(key: &str, l: Language) -> String {
    crate::language::builtin_metric_name(key, l)
        .map(str::to_string)
        .or_else(|| {
            crate::metrics::builtin_catalogue()
                .into_iter()
                .find(|m| m.key == key)
                .map(|m| m.label)
        })
        .unwrap_or_else(|| key.to_string())
}

fn metric_unit(key: &str) -> Option<Unit> {
    crate::metrics::builtin_catalogue()
        .into_iter()
        .find(|m| m.key == key)
        .map(|m| m.unit)
}

fn series(e: &SeriesEvent, actor: &str, why: &str, names: &dyn Names, l: Language) -> String {
    let currency = &names.currency();
    match e {
        SeriesEvent::ObservationRecorded {
            key,
            range,
            value: v,
            source,
            restates,
        } => {
            let metric = metric_name(&key.metric, l);
            let shown = value(*v, metric_unit(&key.metric), currency);
            let days = days(range);
            let scope = key
                .scope
                .as_ref()
                .map(|s| format!(" [{s}]"))
                .unwrap_or_default();
            let origin = match source {
                Source::Manual => String::new(),
                Source::Import { format, .. } => format!(" ({format})"),
            };
            let restated = restates
                .map(|old| {
                    let old = value(old, metric_unit(&key.metric), currency);
                    pick(
                        l,
                        format!(", restating {old}"),
                        format!("（{old}を修正）"),
                        format!("（重述{old}）"),
                    )
                })
                .unwrap_or_default();
            pick(
                l,
                format!(
                    "{actor} recorded {metric} on {}{scope} for {days}: {shown}{restated}{origin}{why}",
                    key.platform
                ),
                format!(
                    "{actor}が{}{scope}の{days}の{metric}を{shown}と記録しました{restated}{origin}{why}",
                    key.platform
                ),
                format!(
                    "{actor}记录了{}{scope}在{days}的{metric}：{shown}{restated}{origin}{why}",
                    key.platform
                ),
            )
        }
        SeriesEvent::ObservationCorrected {
            key,
            range,
            value: v,
            previous,
            reason,
        } => {
            let metric = metric_name(&key.metric, l);
            let unit = metric_unit(&key.metric);
            let days = days(range);
            let why = because(l, names.text(reason).as_deref());
            pick(
                l,
                format!(
                    "{actor} corrected {metric} on {} for {days} from {} to {}{why}",
                    key.platform,
                    value(*previous, unit, currency),
                    value(*v, unit, currency)
                ),
                format!(
                    "{actor}が{}の{days}の{metric}を{}から{}に訂正しました{why}",
                    key.platform,
                    value(*previous, unit, currency),
                    value(*v, unit, currency)
                ),
                format!(
                    "{actor}将{}在{days}的{metric}从{}更正为{}{why}",
                    key.platform,
                    value(*previous, unit, currency),
                    value(*v, unit, currency)
                ),
            )
        }
        SeriesEvent::ObservationsImported {
            key,
            format,
            observations,
            ..
        } => {
            let metric = metric_name(&key.metric, l);
            let n = observations.len();
            let restated = observations.iter().filter(|o| o.restates.is_some()).count();
            let span = match (
                observations.iter().map(|o| o.range.start).min(),
                observations.iter().map(|o| o.range.end).max(),
            ) {
                (Some(a), Some(b)) if a == b => a.to_string(),
                (Some(a), Some(b)) => format!("{a}..{b}"),
                _ => String::new(),
            };
            let scope = key
                .scope
                .as_ref()
                .map(|s| format!(" [{s}]"))
                .unwrap_or_default();
            let noun = if n == 1 {
                "observation"
            } else {
                "observations"
            };
            let restated_en = match restated {
                0 => String::new(),
                r => format!(", {r} of them restating earlier values"),
            };
            pick(
                l,
                format!(
                    "{actor} imported {n} {noun} of {metric} on {}{scope} for {span} from {format}{restated_en}",
                    key.platform
                ),
                format!(
                    "{actor}が{}{scope}の{metric}の観測値{n}件（{span}）を{format}から取り込みました{}",
                    key.platform,
                    match restated {
                        0 => String::new(),
                        r => format!("（うち{r}件は修正）"),
                    }
                ),
                format!(
                    "{actor}从{format}导入了{}{scope}的{metric}观测值{n}条（{span}{}）",
                    key.platform,
                    match restated {
                        0 => String::new(),
                        r => format!("，其中{r}条为重述"),
                    }
                ),
            )
        }
    }
}

fn days(range: &crate::period::DateRange) -> String {
    if range.start == range.end {
        range.start.to_string()
    } else {
        format!("{}..{}", range.start, range.end)
    }
}

fn review(
    e: &ReviewEvent,
    aggregate_id: &str,
    actor: &str,
    names: &dyn Names,
    l: Language,
) -> String {
    let period = names.review_period(aggregate_id).unwrap_or_default();
    let kpi = |id: &KpiId| {
        names
            .kpi(&id.to_string(), l)
            .map(|k| k.name)
            .unwrap_or_else(|| pick(l, "a KPI".into(), "KPI".into(), "某KPI".into()))
    };
    let text =
        |t: &Note| -> Option<String> { names.personal_details().then(|| names.text(t)).flatten() };
    match e {
        ReviewEvent::ReviewOpened { period, .. } => pick(
            l,
            format!("{actor} opened the review of {period}"),
            format!("{actor}が{period}のレビューを開始しました"),
            format!("{actor}开启了{period}的评审"),
        ),
        ReviewEvent::FindingRecorded {
            kpi_id,
            deviation,
            cause,
            ..
        } => {
            let on = kpi_id.as_ref().map(kpi);
            let detail = match (text(deviation), text(cause)) {
                (Some(d), Some(c)) => pick(
                    l,
                    format!(": {d} — cause: {c}"),
                    format!("：{d}（原因：{c}）"),
                    format!("：{d}（原因：{c}）"),
                ),
                _ => String::new(),
            };
            match on {
                Some(k) => pick(
                    l,
                    format!("{actor} recorded a finding on {k} for {period}{detail}"),
                    format!("{actor}が{period}の{k}について所見を記録しました{detail}"),
                    format!("{actor}就{period}的{k}记录了发现{detail}"),
                ),
                None => pick(
                    l,
                    format!("{actor} recorded a finding for {period}{detail}"),
                    format!("{actor}が{period}の所見を記録しました{detail}"),
                    format!("{actor}记录了{period}的发现{detail}"),
                ),
            }
        }
        ReviewEvent::DecisionRecorded { decision } => {
            decision_sentence(decision, actor, &period, names, l, &kpi, &text)
        }
        ReviewEvent::SignedOff { role: r, .. } => pick(
            l,
            format!(
                "{actor} signed off the review of {period} as {}",
                role(*r, l)
            ),
            format!(
                "{actor}が{}として{period}のレビューに署名しました",
                role(*r, l)
            ),
            format!("{actor}以{}身份签署了{period}的评审", role(*r, l)),
        ),
        ReviewEvent::PeriodLocked { version, .. } => pick(
            l,
            format!("{period} was locked (version {version})"),
            format!("{period}がロックされました（第{version}版）"),
            format!("{period}已锁定（第{version}版）"),
        ),
        ReviewEvent::PeriodReopened {
            version, reason, ..
        } => {
            let why = text(reason)
                .map(|r| because(l, Some(&r)))
                .unwrap_or_default();
            pick(
                l,
                format!("{period} was reopened (version {version} no longer stands){why}"),
                format!("{period}が再オープンされました（第{version}版は無効）{why}"),
                format!("{period}已重新开放（第{version}版不再有效）{why}"),
            )
        }
    }
}

fn decision_sentence(
    decision: &Decision,
    actor: &str,
    period: &str,
    names: &dyn Names,
    l: Language,
    kpi: &dyn Fn(&KpiId) -> String,
    text: &dyn Fn(&Note) -> Option<String>,
) -> String {
    let why = |reason: &Note| {
        text(reason)
            .map(|r| because(l, Some(&r)))
            .unwrap_or_default()
    };
    let whom = |member: &Option<MemberId>| {
        member
            .map(|m| {
                let who = names.member(m);
                pick(
                    l,
                    format!(" for {who}"),
                    format!("（{who}）"),
                    format!("（{who}）"),
                )
            })
            .unwrap_or_default()
    };
    match decision {
        Decision::Accept => pick(
            l,
            format!("{actor} accepted the result of {period}"),
            format!("{actor}が{period}の結果を承認しました"),
            format!("{actor}接受了{period}的结果"),
        ),
        Decision::ExcuseKpi {
            kpi_id,
            member_id,
            reason,
        } => pick(
            l,
            format!(
                "{actor} excused {}{} for {period}{}",
                kpi(kpi_id),
                whom(member_id),
                why(reason)
            ),
            format!(
                "{actor}が{period}の{}{}を免除しました{}",
                kpi(kpi_id),
                whom(member_id),
                why(reason)
            ),
            format!(
                "{actor}豁免了{period}的{}{}{}",
                kpi(kpi_id),
                whom(member_id),
                why(reason)
            ),
        ),
        Decision::OverrideScore {
            kpi_id,
            member_id,
            score,
            reason,
        } => {
            let score = crate::scoring::normalised(*score);
            pick(
                l,
                format!(
                    "{actor} set the score of {}{} for {period} to {score}{}",
                    kpi(kpi_id),
                    whom(member_id),
                    why(reason)
                ),
                format!(
                    "{actor}が{period}の{}{}のスコアを{score}にしました{}",
                    kpi(kpi_id),
                    whom(member_id),
                    why(reason)
                ),
                format!(
                    "{actor}将{period}的{}{}得分设为{score}{}",
                    kpi(kpi_id),
                    whom(member_id),
                    why(reason)
                ),
            )
        }
        Decision::AcceptDataGap { platform, reason } => pick(
            l,
            format!(
                "{actor} accepted {platform}'s data for {period} as complete{}",
                why(reason)
            ),
            format!(
                "{actor}が{period}の{platform}のデータを完了扱いとしました{}",
                why(reason)
            ),
            format!("{actor}认可{period}的{platform}数据为完整{}", why(reason)),
        ),
        Decision::ReviseFutureTarget {
            kpi_id,
            period: future,
            note,
        } => pick(
            l,
            format!(
                "{actor} decided to revise the {} target for {future}{}",
                kpi(kpi_id),
                why(note)
            ),
            format!(
                "{actor}が{future}の{}の目標を見直すと決定しました{}",
                kpi(kpi_id),
                why(note)
            ),
            format!("{actor}决定修订{future}的{}目标{}", kpi(kpi_id), why(note)),
        ),
        Decision::ActionItem {
            owner,
            due,
            description,
            ..
        } => match (text(owner), text(description)) {
            (Some(owner), Some(what)) => pick(
                l,
                format!(
                    "{actor} assigned an action to {owner}, due {due}: {}",
                    quoted(l, &what)
                ),
                format!(
                    "{actor}が{owner}にアクションを割り当てました（期限{due}）：{}",
                    quoted(l, &what)
                ),
                format!(
                    "{actor}给{owner}分配了行动项（截止{due}）：{}",
                    quoted(l, &what)
                ),
            ),
            _ => pick(
                l,
                format!("{actor} assigned an action item, due {due}"),
                format!("{actor}がアクションを割り当てました（期限{due}）"),
                format!("{actor}分配了一个行动项（截止{due}）"),
            ),
        },
        Decision::ActionItemDone { .. } => pick(
            l,
            format!("{actor} marked an action item done"),
            format!("{actor}がアクションを完了としました"),
            format!("{actor}将一个行动项标记为完成"),
        ),
        Decision::Reopen { reason } => pick(
            l,
            format!("{actor} decided to reopen {period}{}", why(reason)),
            format!("{actor}が{period}の再オープンを決定しました{}", why(reason)),
            format!("{actor}决定重新开放{period}{}", why(reason)),
        ),
    }
}

/// Every event kind of every aggregate: what the audit log's kind filter accepts.
pub const EVENT_KINDS: &[&str] = &[
    "EngagementOpened",
    "MemberAdded",
    "MemberRoleChanged",
    "MemberRemoved",
    "EngagementStatusChanged",
    "MetricDefined",
    "UserRegistered",
    "UserGrantsChanged",
    "KpiDefined",
    "KpiWeightChanged",
    "KpiRetired",
    "TargetSet",
    "ObservationRecorded",
    "ObservationCorrected",
    "ObservationsImported",
    "ImportStarted",
    "ImportCompleted",
    "ReviewOpened",
    "FindingRecorded",
    "DecisionRecorded",
    "SignedOff",
    "PeriodLocked",
    "PeriodReopened",
    "PlanDrafted",
    "PlanRevised",
    "PlanApproved",
    "PayoutCalculated",
    "PayoutApproved",
    "PayoutPaid",
    "PayoutAdjusted",
];

impl AnyEvent {
    /// The free-text notes the event holds (reasons, findings, decisions, action items).
    pub fn notes(&self) -> Vec<Note> {
        let value = match self {
            AnyEvent::Kpi(e @ KpiEvent::TargetSet { .. }) => serde_json::to_value(e),
            AnyEvent::Series(e @ SeriesEvent::ObservationCorrected { .. }) => {
                serde_json::to_value(e)
            }
            AnyEvent::Review(e) => serde_json::to_value(e),
            AnyEvent::Payout(e @ PayoutEvent::PayoutAdjusted { .. }) => serde_json::to_value(e),
            _ => return Vec::new(),
        };
        value.map(|v| crate::text::notes_in(&v)).unwrap_or_default()
    }

    /// The event's kind, as stored (`TargetSet`).
    pub fn kind(&self) -> String {
        use cqrs_es::DomainEvent;
        match self {
            AnyEvent::Engagement(e) => e.event_type(),
            AnyEvent::User(e) => e.event_type(),
            AnyEvent::Kpi(e) => e.event_type(),
            AnyEvent::Series(e) => e.event_type(),
            AnyEvent::Import(e) => e.event_type(),
            AnyEvent::Review(e) => e.event_type(),
            AnyEvent::Plan(e) => e.event_type(),
            AnyEvent::Payout(e) => e.event_type(),
        }
    }

    /// Decodes a stored event of any aggregate, after the upcasters; `None` for an
    /// aggregate type this version does not know.
    pub fn decode(
        aggregate_type: &str,
        event_type: &str,
        version: &str,
        payload: &serde_json::Value,
    ) -> Result<Option<Self>, crate::upcast::DecodeError> {
        use crate::upcast::decode;
        Ok(Some(match aggregate_type {
            "engagement" => {
                AnyEvent::Engagement(decode(aggregate_type, event_type, version, payload)?)
            }
            "user" => AnyEvent::User(decode(aggregate_type, event_type, version, payload)?),
            "kpi" => AnyEvent::Kpi(decode(aggregate_type, event_type, version, payload)?),
            crate::series::SERIES_AGGREGATE => {
                AnyEvent::Series(decode(aggregate_type, event_type, version, payload)?)
            }
            crate::import::IMPORT_AGGREGATE => {
                AnyEvent::Import(decode(aggregate_type, event_type, version, payload)?)
            }
            "review" => AnyEvent::Review(decode(aggregate_type, event_type, version, payload)?),
            "plan" => AnyEvent::Plan(decode(aggregate_type, event_type, version, payload)?),
            "payout" => AnyEvent::Payout(decode(aggregate_type, event_type, version, payload)?),
            _ => return Ok(None),
        }))
    }

    /// Whether the event concerns the KPI `kpi` (whose metric and, for a ratio, its
    /// components are `metrics`): its definition, weight and targets, the observations of
    /// its metrics, and review findings and decisions about it.
    pub fn concerns_kpi(&self, aggregate_id: &str, kpi: KpiId, metrics: &[&str]) -> bool {
        match self {
            AnyEvent::Kpi(KpiEvent::KpiDefined { kpi_id, .. }) => *kpi_id == kpi,
            AnyEvent::Kpi(_) => aggregate_id == kpi.to_string(),
            AnyEvent::Series(e) => {
                let key = match e {
                    SeriesEvent::ObservationRecorded { key, .. }
                    | SeriesEvent::ObservationCorrected { key, .. }
                    | SeriesEvent::ObservationsImported { key, .. } => key,
                };
                metrics.contains(&key.metric.as_str())
            }
            AnyEvent::Review(ReviewEvent::FindingRecorded { kpi_id, .. }) => *kpi_id == Some(kpi),
            AnyEvent::Review(ReviewEvent::DecisionRecorded {
                decision:
                    Decision::ExcuseKpi { kpi_id, .. }
                    | Decision::OverrideScore { kpi_id, .. }
                    | Decision::ReviseFutureTarget { kpi_id, .. },
            }) => *kpi_id == kpi,
            _ => false,
        }
    }

    /// Whether the event concerns `period` (whose days are `days`): its targets, the
    /// observations and imports of its days, its review and its payouts, members joining
    /// or leaving within it, KPIs retired within it.
    pub fn concerns_period(
        &self,
        aggregate_id: &str,
        period: &crate::period::Period,
        days: &crate::period::DateRange,
        names: &dyn Names,
    ) -> bool {
        let text = period.to_string();
        let within = |day: &chrono::NaiveDate| days.start <= *day && *day <= days.end;
        match self {
            AnyEvent::Engagement(EngagementEvent::MemberAdded { active_from, .. }) => {
                within(active_from)
            }
            AnyEvent::Engagement(EngagementEvent::MemberRemoved { active_until, .. }) => {
                within(active_until)
            }
            AnyEvent::Engagement(_) | AnyEvent::User(_) | AnyEvent::Plan(_) => false,
            AnyEvent::Kpi(KpiEvent::TargetSet { period: p, .. }) => *p == *period,
            AnyEvent::Kpi(KpiEvent::KpiRetired { from }) => within(from),
            AnyEvent::Kpi(_) => false,
            AnyEvent::Series(e) => match e {
                SeriesEvent::ObservationRecorded { range, .. }
                | SeriesEvent::ObservationCorrected { range, .. } => days.overlaps(range),
                SeriesEvent::ObservationsImported { observations, .. } => {
                    observations.iter().any(|o| days.overlaps(&o.range))
                }
            },
            AnyEvent::Import(ImportEvent::ImportStarted { range, .. }) => {
                range.as_ref().is_some_and(|r| days.overlaps(r))
            }
            AnyEvent::Import(ImportEvent::ImportCompleted { watermarks, .. }) => {
                watermarks.iter().any(|w| within(&w.through))
            }
            AnyEvent::Review(ReviewEvent::ReviewOpened { period: p, .. }) => *p == *period,
            AnyEvent::Review(ReviewEvent::DecisionRecorded {
                decision: Decision::ReviseFutureTarget { period: p, .. },
            }) if *p == *period => true,
            AnyEvent::Review(_) => names.review_period(aggregate_id).as_deref() == Some(&text),
            AnyEvent::Payout(PayoutEvent::PayoutAdjusted { carry_into, .. })
                if *carry_into == *period =>
            {
                true
            }
            AnyEvent::Payout(_) => names.payout(aggregate_id).is_some_and(|(_, p)| p == text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed;
    impl Names for Fixed {
        fn actor(&self) -> String {
            "Wang Fang".into()
        }
        fn member(&self, _: MemberId) -> String {
            "Li Wei".into()
        }
        fn kpi(&self, _: &str, language: Language) -> Option<KpiLabel> {
            Some(KpiLabel {
                name: crate::language::builtin_metric_name("acos", language)
                    .unwrap_or("ACoS")
                    .into(),
                unit: Unit::Ratio,
            })
        }
        fn review_period(&self, _: &str) -> Option<String> {
            Some("2026-06".into())
        }
        fn payout(&self, _: &str) -> Option<(MemberId, String)> {
            Some((MemberId(uuid::Uuid::nil()), "2026-06".into()))
        }
        fn currency(&self) -> String {
            "JPY".into()
        }
        fn personal_details(&self) -> bool {
            true
        }
    }

    fn levels(target: &str) -> Levels {
        Levels {
            threshold: "0.35".parse().unwrap(),
            target: target.parse().unwrap(),
            stretch: None,
        }
    }

    #[test]
    fn a_target_revision_reads_as_the_spec_says() {
        let event = AnyEvent::Kpi(KpiEvent::TargetSet {
            period: "2026-06".parse().unwrap(),
            levels: levels("0.25"),
            previous: Some(levels("0.30")),
            reason: "Prime Day budget moved".into(),
        });
        let en = sentence(
            &event,
            "k",
            Some(&"Prime Day budget moved".into()),
            &Fixed,
            Language::En,
        );
        assert!(
            en.starts_with("Wang Fang revised the ACoS (ad spend ÷ ad sales) target for 2026-06 from 30% to 25%")
                || en.starts_with("Wang Fang revised the ACoS"),
            "{en}"
        );
        assert!(en.ends_with(": “Prime Day budget moved”"), "{en}");
        let ja = sentence(
            &event,
            "k",
            Some(&"Prime Day budget moved".into()),
            &Fixed,
            Language::Ja,
        );
        assert!(ja.contains("30%から25%に変更しました"), "{ja}");
        let zh = sentence(
            &event,
            "k",
            Some(&"Prime Day budget moved".into()),
            &Fixed,
            Language::Zh,
        );
        assert!(zh.contains("从30%调整为25%"), "{zh}");
    }

    #[test]
    fn money_and_counts_are_grouped_and_exact() {
        assert_eq!(
            value("131667".parse().unwrap(), Some(Unit::Currency), "JPY"),
            "¥131,667"
        );
        assert_eq!(
            value("1234567.5".parse().unwrap(), Some(Unit::Count), "JPY"),
            "1,234,567.5"
        );
        assert_eq!(
            value("0.00375".parse().unwrap(), Some(Unit::Ratio), "JPY"),
            "0.375%"
        );
        assert_eq!(
            value("-5000".parse().unwrap(), Some(Unit::Currency), "JPY"),
            "-¥5,000"
        );
    }
}
