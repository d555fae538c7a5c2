//! Statements as data: a projection turns an event into [`Statement`]s, which the
//! projector runs on either database inside its transaction.

use sqlx::query::Query;
use sqlx::{Database, Encode, Type};

/// One bound value.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    Text(Option<String>),
    Int(Option<i64>),
}

impl From<String> for SqlValue {
    fn from(value: String) -> Self {
        SqlValue::Text(Some(value))
    }
}

impl From<&str> for SqlValue {
    fn from(value: &str) -> Self {
        SqlValue::Text(Some(value.to_string()))
    }
}

impl From<Option<String>> for SqlValue {
    fn from(value: Option<String>) -> Self {
        SqlValue::Text(value)
    }
}

impl From<i64> for SqlValue {
    fn from(value: i64) -> Self {
        SqlValue::Int(Some(value))
    }
}

/// One SQL statement with `$n` parameters and their values.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub sql: std::borrow::Cow<'static, str>,
    pub params: Vec<SqlValue>,
}

impl Statement {
    pub fn new(sql: &'static str, params: Vec<SqlValue>) -> Self {
        Self {
            sql: std::borrow::Cow::Borrowed(sql),
            params,
        }
    }

    /// A statement whose text is built at run time (multi-row inserts).
    pub fn owned(sql: String, params: Vec<SqlValue>) -> Self {
        Self {
            sql: std::borrow::Cow::Owned(sql),
            params,
        }
    }
}

/// Statements at least this wide are rewritten with anonymous `?` for SQLite.
const WIDE: usize = 16;

impl Statement {
    /// The statement as SQLite binds it fastest: see [`positional`]. Narrow statements are
    /// returned as they are.
    pub fn for_sqlite(self) -> Self {
        if self.params.len() < WIDE {
            return self;
        }
        match positional(&self.sql) {
            Some(sql) => Statement::owned(sql, self.params),
            None => self,
        }
    }
}

/// `sql` with anonymous `?` for `$1 … $n` when each appears once, in that order; `None`
/// otherwise. SQLite finds a numbered parameter's name by walking a list, once per
/// parameter — quadratic in the statement's width (a 2,200-parameter multi-row upsert spent
/// most of its time there); anonymous parameters are bound by position.
pub fn positional(sql: &str) -> Option<String> {
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut expected = 1usize;
    let (mut copied, mut i) = (0, 0);
    while i < bytes.len() {
        if bytes[i] == b'$' {
            let start = i + 1;
            let mut end = start;
            while end < bytes.len() && bytes[end].is_ascii_digit() {
                end += 1;
            }
            if end > start {
                if sql[start..end].parse::<usize>().ok()? != expected {
                    return None;
                }
                expected += 1;
                out.push_str(&sql[copied..i]);
                out.push('?');
                copied = end;
                i = end;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&sql[copied..]);
    Some(out)
}

/// `prefix ($1, $2, …), (…) suffix` for `rows` rows of `columns` parameters.
pub fn values_sql(prefix: &str, columns: usize, rows: usize, suffix: &str) -> String {
    let mut sql = String::with_capacity(prefix.len() + suffix.len() + rows * columns * 5);
    sql.push_str(prefix);
    for row in 0..rows {
        if row > 0 {
            sql.push(',');
        }
        sql.push('(');
        for column in 0..columns {
            if column > 0 {
                sql.push(',');
            }
            sql.push('$');
            sql.push_str(&(row * columns + column + 1).to_string());
        }
        sql.push(')');
    }
    sql.push_str(suffix);
    sql
}

/// Binds a statement's values to a query of any backend.
pub fn bind<'q, DB>(statement: &'q Statement) -> Query<'q, DB, <DB as Database>::Arguments<'q>>
where
    DB: Database,
    Option<String>: Encode<'q, DB> + Type<DB>,
    Option<i64>: Encode<'q, DB> + Type<DB>,
{
    let mut query = sqlx::query::<DB>(&statement.sql);
    for value in &statement.params {
        query = match value {
            SqlValue::Text(text) => query.bind(text.clone()),
            SqlValue::Int(int) => query.bind(*int),
        };
    }
    query
}

#[cfg(test)]
mod tests {
    use super::{positional, values_sql};

    #[test]
    fn parameters_in_order_become_anonymous_and_others_stay_numbered() {
        assert_eq!(
            positional("V ($1,$2),($3,$4) X").as_deref(),
            Some("V (?,?),(?,?) X")
        );
        assert_eq!(positional("SET a = $2 WHERE b = $1"), None);
        assert_eq!(positional("a = $1 OR b = $1"), None);
        assert_eq!(
            positional("no parameters").as_deref(),
            Some("no parameters")
        );
    }

    #[test]
    fn values_placeholders_number_every_parameter() {
        assert_eq!(values_sql("V ", 2, 2, " X"), "V ($1,$2),($3,$4) X");
    }
}
