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
    use super::values_sql;

    #[test]
    fn values_placeholders_number_every_parameter() {
        assert_eq!(values_sql("V ", 2, 2, " X"), "V ($1,$2),($3,$4) X");
    }
}
