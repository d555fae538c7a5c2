//! The languages kpi-ledger speaks (Japanese, Simplified Chinese, English) and the names of
//! the built-in metrics in each. Pure data: statements, the API and the web pages all take
//! their metric names from here.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A language of the product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// 日本語
    Ja,
    /// 简体中文
    Zh,
    /// English
    En,
}

impl Language {
    pub const ALL: [Language; 3] = [Language::Ja, Language::Zh, Language::En];

    /// The BCP 47 tag (`ja`, `zh-CN`, `en`).
    pub fn tag(self) -> &'static str {
        match self {
            Language::Ja => "ja",
            Language::Zh => "zh-CN",
            Language::En => "en",
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

impl FromStr for Language {
    type Err = String;
    /// Accepts a language tag or its primary subtag: `ja`, `ja-JP`, `zh`, `zh-CN`,
    /// `zh-Hans`, `en`, `en-US`, in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let primary = s
            .trim()
            .split(['-', '_'])
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match primary.as_str() {
            "ja" => Ok(Language::Ja),
            "zh" => Ok(Language::Zh),
            "en" => Ok(Language::En),
            _ => Err(format!("`{s}` is not ja, zh or en")),
        }
    }
}

/// (key, 日本語, 简体中文) for every built-in metric; English names are the catalogue's
/// labels.
const METRIC_NAMES: &[(&str, &str, &str)] = &[
    ("gmv", "流通総額（GMV）", "商品交易总额（GMV）"),
    ("orders", "注文数", "订单数"),
    ("units_ordered", "注文点数", "订购件数"),
    ("sessions", "セッション数", "访问次数"),
    ("page_views", "ページビュー数", "页面浏览量"),
    ("conversion_rate", "転換率（CVR）", "转化率"),
    ("ad_spend", "広告費", "广告花费"),
    ("ad_sales", "広告経由売上", "广告销售额"),
    (
        "acos",
        "ACoS（広告費 ÷ 広告経由売上）",
        "ACoS（广告花费 ÷ 广告销售额）",
    ),
    (
        "roas",
        "ROAS（広告経由売上 ÷ 広告費）",
        "ROAS（广告销售额 ÷ 广告花费）",
    ),
    (
        "tacos",
        "TACoS（広告費 ÷ 流通総額）",
        "TACoS（广告花费 ÷ GMV）",
    ),
    ("impressions", "インプレッション数", "展示次数"),
    ("clicks", "クリック数", "点击次数"),
    ("ctr", "クリック率（CTR）", "点击率（CTR）"),
    ("cpc", "クリック単価（CPC）", "单次点击成本（CPC）"),
    ("units_returned", "返品数", "退货件数"),
    ("units_shipped", "出荷数", "发货件数"),
    ("return_rate", "返品率", "退货率"),
    (
        "inquiries_answered_24h",
        "24時間以内の回答数",
        "24小时内回复的咨询数",
    ),
    ("inquiries", "問い合わせ数", "咨询数"),
    ("cs_response_rate", "問い合わせ回答率", "客服响应率"),
    (
        "orders_shipped_48h",
        "48時間以内の出荷数",
        "48小时内发货订单数",
    ),
    ("orders_to_ship", "出荷対象の注文数", "待发货订单数"),
    ("on_time_ship_rate", "期限内出荷率", "准时发货率"),
    ("units_on_hand", "在庫数", "库存数量"),
    ("sell_through_rate", "売上消化率", "动销率"),
    ("in_stock_sku_days", "在庫ありSKU日数", "有货SKU天数"),
    ("sku_days", "SKU日数", "SKU天数"),
    ("in_stock_rate", "在庫率", "有货率"),
    ("gross_profit", "粗利", "毛利"),
    ("gross_margin", "粗利率", "毛利率"),
    (
        "reply_hours_total",
        "レビュー返信時間の合計",
        "评价回复时长合计",
    ),
    ("replies", "レビュー返信数", "评价回复数"),
    (
        "review_reply_hours",
        "レビュー返信時間（時間）",
        "评价回复时长（小时）",
    ),
    ("defective_orders", "不良注文数", "缺陷订单数"),
    ("order_defect_rate", "注文不良率", "订单缺陷率"),
    ("new_listings", "新規出品数", "新上架商品数"),
    ("store_rating", "ストア評価", "店铺评分"),
];

/// The name of a built-in metric in `language`; `None` for custom metrics (their own
/// label is their name in every language) and for English (the catalogue's label).
pub fn builtin_metric_name(key: &str, language: Language) -> Option<&'static str> {
    let (_, ja, zh) = METRIC_NAMES.iter().find(|(k, _, _)| *k == key)?;
    match language {
        Language::Ja => Some(ja),
        Language::Zh => Some(zh),
        Language::En => None,
    }
}

/// The name of `metric` in `language`.
pub fn metric_name(metric: &crate::metrics::MetricDefinition, language: Language) -> String {
    builtin_metric_name(&metric.key, language)
        .map(str::to_string)
        .unwrap_or_else(|| metric.label.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::builtin_catalogue;

    #[test]
    fn every_built_in_metric_has_a_japanese_and_a_chinese_name() {
        for metric in builtin_catalogue() {
            for language in [Language::Ja, Language::Zh] {
                assert!(
                    builtin_metric_name(&metric.key, language).is_some(),
                    "{} has no {language} name",
                    metric.key
                );
            }
        }
        assert_eq!(
            METRIC_NAMES.len(),
            builtin_catalogue().len(),
            "no stray names"
        );
    }

    #[test]
    fn languages_parse_from_their_tags() {
        assert_eq!("ja-JP".parse(), Ok(Language::Ja));
        assert_eq!("zh-Hans-CN".parse(), Ok(Language::Zh));
        assert_eq!("EN".parse(), Ok(Language::En));
        assert!("fr".parse::<Language>().is_err());
    }
}
