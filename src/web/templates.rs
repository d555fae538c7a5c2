//! The page templates, compiled into the binary (minijinja; HTML auto-escaped).

use super::i18n;
use kpi_ledger_domain::language::Language;
use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, Error, ErrorKind, State};
use std::str::FromStr;

/// (name, source) of every template.
pub const SOURCES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("sign_in.html", include_str!("templates/sign_in.html")),
    (
        "set_password.html",
        include_str!("templates/set_password.html"),
    ),
    ("message.html", include_str!("templates/message.html")),
    ("portfolio.html", include_str!("templates/portfolio.html")),
    ("engagement.html", include_str!("templates/engagement.html")),
    ("member.html", include_str!("templates/member.html")),
    (
        "period_picker.html",
        include_str!("templates/period_picker.html"),
    ),
    ("scorecard.html", include_str!("templates/scorecard.html")),
    (
        "engagement_nav.html",
        include_str!("templates/engagement_nav.html"),
    ),
    ("kpis.html", include_str!("templates/kpis.html")),
    ("kpi.html", include_str!("templates/kpi.html")),
    ("reviews.html", include_str!("templates/reviews.html")),
    ("payouts.html", include_str!("templates/payouts.html")),
    ("changes.html", include_str!("templates/changes.html")),
    ("audit.html", include_str!("templates/audit.html")),
    ("trends.html", include_str!("templates/trends.html")),
    ("as_of.html", include_str!("templates/as_of.html")),
    ("people.html", include_str!("templates/people.html")),
    ("imports.html", include_str!("templates/imports.html")),
];

/// The language a template renders in (its `lang` variable).
fn language(state: &State) -> Language {
    state
        .lookup("lang")
        .and_then(|v| v.as_str().and_then(|s| Language::from_str(s).ok()))
        .unwrap_or(Language::En)
}

/// `t("key", name=value…)`: the message in the page's language.
fn t(state: &State, key: &str, kwargs: Kwargs) -> Result<String, Error> {
    let mut args = Vec::new();
    for name in kwargs.args() {
        let value: Value = kwargs.get(name)?;
        args.push((name, value.to_string()));
    }
    let known = i18n::has_key(key);
    if !known {
        return Err(Error::new(
            ErrorKind::UndefinedError,
            format!("message `{key}` is not in messages.toml"),
        ));
    }
    Ok(i18n::message(language(state), key, &args))
}

pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    for (name, source) in SOURCES {
        env.add_template(name, source)
            .unwrap_or_else(|e| panic!("template {name}: {e}"));
    }
    env.add_function("t", t);
    env
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_template_parses() {
        let _ = super::environment();
    }
}
