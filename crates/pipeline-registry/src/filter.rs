//! The `pipeline runs --where` language and `--sort` keys: comparisons of run
//! fields, final metrics and resolved spec keys, combined with `and`, `or`,
//! `not` and parentheses, compiled to SQL with every value bound (never
//! spliced).
//!
//! ```text
//! val_loss < 3000 and status = completed
//! (test_r2 >= 0.4 or epochs < 50) and not experiment = scratch
//! optimizer.learning_rate > 0.005 and model.layers[0].units = 64
//! ```
//!
//! A word with a `.` or a `[` is a spec key, in the path syntax of `--set`
//! (brackets or dots, stored dotted): it is compared as a number with a
//! number and as the text the spec writes with a word or a quoted text
//! (`optimizer.algorithm = adam`), read from `run_params`.

use crate::sql::Sql;
use std::fmt;
use std::str::FromStr;

use crate::params::KeyUse;

/// Something about a run that can be compared or sorted on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    Status,
    Experiment,
    /// Epochs run.
    Epochs,
    BestEpoch,
    StartedAt,
    /// Matches when the run carries the tag (`tag = baseline`).
    Tag,
    /// Validation minus train loss at the best epoch.
    Gap,
    /// Test minus train loss of the kept model.
    TestGap,
    /// First epoch of overfitting (`onset = none` when it never began).
    Onset,
    /// The diagnosis' primary verdict (`verdict = underfitting`).
    Verdict,
    /// The run's name (`name = baseline`).
    Name,
    /// A final metric (at the best epoch): `val_loss` is split `validation`, metric `loss`.
    Metric {
        split: &'static str,
        metric: String,
    },
    /// A key of the resolved spec, dotted (`model.layers.0.units`).
    Param(String),
}

impl Field {
    /// Names that are not metrics, for messages.
    pub const NAMES: [&'static str; 11] = [
        "status",
        "experiment",
        "epochs",
        "best_epoch",
        "started_at",
        "tag",
        "gap",
        "test_gap",
        "onset",
        "verdict",
        "name",
    ];

    fn parse(word: &str) -> Option<Field> {
        if word.contains(['.', '[']) {
            return pipeline_spec::dotted_path(word).ok().map(Field::Param);
        }
        Some(match word {
            "status" => Field::Status,
            "experiment" => Field::Experiment,
            "epochs" => Field::Epochs,
            "best_epoch" => Field::BestEpoch,
            "started_at" => Field::StartedAt,
            "tag" => Field::Tag,
            "gap" => Field::Gap,
            "test_gap" => Field::TestGap,
            "onset" => Field::Onset,
            "verdict" => Field::Verdict,
            "name" => Field::Name,
            _ => {
                let (prefix, metric) = word.split_once('_')?;
                let split = match prefix {
                    "train" => "train",
                    "val" => "validation",
                    "test" => "test",
                    _ => return None,
                };
                let valid = !metric.is_empty()
                    && metric
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
                if !valid {
                    return None;
                }
                Field::Metric {
                    split,
                    metric: metric.to_string(),
                }
            }
        })
    }

    fn is_numeric(&self) -> bool {
        matches!(
            self,
            Field::Epochs
                | Field::BestEpoch
                | Field::Gap
                | Field::TestGap
                | Field::Onset
                | Field::Metric { .. }
        )
    }

    /// The SQL expression of the field, for a row of `runs`.
    fn push_sql(&self, sql: &mut Sql) {
        match self {
            Field::Status => {
                sql.push(crate::types::STATUS_SQL);
            }
            Field::Experiment => {
                sql.push("runs.experiment");
            }
            Field::Epochs => {
                sql.push("runs.epochs_run");
            }
            Field::BestEpoch => {
                sql.push("runs.best_epoch");
            }
            Field::StartedAt => {
                sql.push("runs.started_at");
            }
            Field::Tag => {
                // Only used through `Condition::push_sql`, which tests membership.
                sql.push("NULL");
            }
            Field::Gap => {
                sql.push("runs.gap_at_best");
            }
            Field::TestGap => {
                sql.push("runs.test_train_gap");
            }
            Field::Onset => {
                sql.push("runs.overfit_onset");
            }
            Field::Verdict => {
                sql.push("runs.verdict");
            }
            Field::Name => {
                sql.push("runs.name");
            }
            Field::Metric { split, metric } => {
                sql.push(
                    "(SELECT f.value FROM final_metrics f WHERE f.run_id = runs.id AND f.split = ",
                )
                .push_bind(*split)
                .push(" AND f.metric = ")
                .push_bind(metric.clone())
                .push(")");
            }
            Field::Param(key) => push_param(sql, key, "num"),
        }
    }
}

/// The value of spec key `key` of a row of `runs`, from `run_params`'
/// `column` (`num` or `text`).
fn push_param(sql: &mut Sql, key: &str, column: &'static str) {
    sql.push(format!(
        "(SELECT p.{column} FROM run_params p WHERE p.run_id = runs.id AND p.key = "
    ))
    .push_bind(key.to_owned())
    .push(")");
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Field::Status => f.write_str("status"),
            Field::Experiment => f.write_str("experiment"),
            Field::Epochs => f.write_str("epochs"),
            Field::BestEpoch => f.write_str("best_epoch"),
            Field::StartedAt => f.write_str("started_at"),
            Field::Tag => f.write_str("tag"),
            Field::Gap => f.write_str("gap"),
            Field::TestGap => f.write_str("test_gap"),
            Field::Onset => f.write_str("onset"),
            Field::Verdict => f.write_str("verdict"),
            Field::Name => f.write_str("name"),
            Field::Metric { split, metric } => {
                let prefix = if *split == "validation" { "val" } else { split };
                write!(f, "{prefix}_{metric}")
            }
            Field::Param(key) => f.write_str(key),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    fn sql(self) -> &'static str {
        match self {
            Op::Eq => " = ",
            Op::Ne => " != ",
            Op::Lt => " < ",
            Op::Le => " <= ",
            Op::Gt => " > ",
            Op::Ge => " >= ",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Number(f64),
    Text(String),
    /// `none`: the field has no value (`onset = none`).
    Missing,
}

/// A parsed `--where` expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Compare { field: Field, op: Op, value: Value },
    And(Box<Condition>, Box<Condition>),
    Or(Box<Condition>, Box<Condition>),
    Not(Box<Condition>),
}

impl Condition {
    /// Appends the condition as a parenthesised SQL boolean expression.
    pub(crate) fn push_sql(&self, sql: &mut Sql) {
        self.push_sql_in(sql, false);
    }

    /// [`Condition::push_sql`]; `negated`: the condition is under a `not`,
    /// where a missing value must compare as NULL (not false) for `not` to
    /// leave the run out.
    fn push_sql_in(&self, sql: &mut Sql, negated: bool) {
        sql.push("(");
        match self {
            Condition::Compare {
                field: Field::Param(key),
                op,
                value,
            } => match value {
                Value::Missing => {
                    if *op == Op::Eq {
                        sql.push("NOT ");
                    }
                    sql.push("runs.id IN (SELECT run_id FROM run_params WHERE key = ")
                        .push_bind(key.clone())
                        .push(")");
                }
                Value::Number(n) => {
                    push_in_set(sql, &Set::Param(key, "num"), *op, negated, |sql| {
                        sql.push_bind(*n);
                    });
                }
                Value::Text(t) => {
                    push_in_set(sql, &Set::Param(key, "text"), *op, negated, |sql| {
                        sql.push_bind(t.clone());
                    });
                }
            },
            Condition::Compare {
                field: Field::Metric { split, metric },
                op,
                value: value @ (Value::Number(_) | Value::Text(_)),
            } => {
                push_in_set(
                    sql,
                    &Set::Metric(split, metric),
                    *op,
                    negated,
                    |sql| match value {
                        Value::Number(n) => {
                            sql.push_bind(*n);
                        }
                        Value::Text(t) => {
                            sql.push_bind(t.clone());
                        }
                        Value::Missing => {
                            sql.push("NULL");
                        }
                    },
                );
            }
            Condition::Compare {
                field: Field::Tag,
                op,
                value,
            } => {
                if *op == Op::Ne {
                    sql.push("NOT ");
                }
                sql.push("EXISTS (SELECT 1 FROM run_tags t WHERE t.run_id = runs.id AND t.tag = ");
                match value {
                    Value::Text(t) => sql.push_bind(t.clone()),
                    Value::Number(n) => sql.push_bind(n.to_string()),
                    Value::Missing => sql.push("NULL"),
                };
                sql.push(")");
            }
            Condition::Compare {
                field: Field::Status,
                op: op @ (Op::Eq | Op::Ne),
                value: Value::Text(status),
            } => {
                if *op == Op::Ne {
                    sql.push("NOT ");
                }
                push_status_is(sql, status);
            }
            Condition::Compare {
                field,
                op,
                value: Value::Missing,
            } => {
                field.push_sql(sql);
                sql.push(if *op == Op::Ne {
                    " IS NOT NULL"
                } else {
                    " IS NULL"
                });
            }
            Condition::Compare { field, op, value } => {
                field.push_sql(sql);
                sql.push(op.sql());
                match value {
                    Value::Number(n) => sql.push_bind(*n),
                    Value::Text(t) => sql.push_bind(t.clone()),
                    Value::Missing => sql.push("NULL"),
                };
            }
            Condition::And(a, b) | Condition::Or(a, b) => {
                a.push_sql_in(sql, negated);
                sql.push(if matches!(self, Condition::And(..)) {
                    " AND "
                } else {
                    " OR "
                });
                b.push_sql_in(sql, negated);
            }
            Condition::Not(inner) => {
                sql.push("NOT ");
                inner.push_sql_in(sql, true);
            }
        }
        sql.push(")");
    }
}

/// `(the run's status is `status`)` on the stored column, which the
/// planner can estimate (the derived `pruned` status, a killed run with a
/// pruned epoch, hides the column inside a `CASE` it cannot see through).
pub(crate) fn push_status_is(sql: &mut Sql, status: &str) {
    match status {
        "pruned" => sql.push("(runs.status = 'killed' AND runs.pruned_epoch IS NOT NULL)"),
        "killed" => sql.push("(runs.status = 'killed' AND runs.pruned_epoch IS NULL)"),
        other => sql
            .push("(runs.status = ")
            .push_bind(other.to_owned())
            .push(")"),
    };
}

/// The rows a spec key's or a final metric's value is read from.
enum Set<'a> {
    /// `run_params` rows of the key, comparing the column (`num` or `text`).
    Param(&'a str, &'static str),
    /// `final_metrics` rows of the split and metric.
    Metric(&'a str, &'a str),
}

impl Set<'_> {
    /// `SELECT run_id FROM … WHERE <the rows> AND `: the column compared
    /// comes next.
    fn push_rows(&self, sql: &mut Sql) -> &'static str {
        match self {
            Set::Param(key, column) => {
                sql.push("SELECT run_id FROM run_params WHERE key = ")
                    .push_bind((*key).to_owned())
                    .push(" AND ");
                column
            }
            Set::Metric(split, metric) => {
                sql.push("SELECT run_id FROM final_metrics WHERE split = ")
                    .push_bind((*split).to_owned())
                    .push(" AND metric = ")
                    .push_bind((*metric).to_owned())
                    .push(" AND ");
                "value"
            }
        }
    }
}

/// `value(run) OP bound` for a value read from another table, as
/// uncorrelated `IN` sets that the database builds once (a hash, an index
/// range) instead of looking the value up run by run, which at 10,000
/// runs cost PostgreSQL 90 ms. Outside a `not`, a run without the value
/// may compare as false: `and`/`or` then select the same runs as with
/// SQL's NULL. Under a `not` (`negated`) it must stay NULL, so that `not`
/// leaves it out too: `CASE WHEN it has a value THEN the comparison END`.
fn push_in_set(sql: &mut Sql, set: &Set<'_>, op: Op, negated: bool, bound: impl FnOnce(&mut Sql)) {
    if negated {
        sql.push("CASE WHEN runs.id IN (");
        let column = set.push_rows(sql);
        sql.push(format!("{column} IS NOT NULL) THEN "));
    }
    sql.push("runs.id IN (");
    let column = set.push_rows(sql);
    sql.push(column).push(op.sql());
    bound(sql);
    sql.push(")");
    if negated {
        sql.push(" END");
    }
}

/// A rejected expression, with the character position it was rejected at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct FilterError {
    pub expression: String,
    pub position: usize,
    pub message: String,
}

impl fmt::Display for FilterError {
    /// The expression is quoted whole only when short; a long one (thousands of
    /// parentheses) is named by its length, since the command line already shows it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let length = self.expression.chars().count();
        if length <= QUOTED_EXPRESSION {
            write!(
                f,
                "{} (at character {} of {:?})",
                self.message, self.position, self.expression
            )
        } else {
            write!(
                f,
                "{} (at character {} of a {length}-character expression)",
                self.message, self.position
            )
        }
    }
}

/// The longest expression a message quotes whole.
const QUOTED_EXPRESSION: usize = 200;

/// How deeply parentheses and `not` may nest: the parser recurses once per level.
pub const MAX_DEPTH: usize = 32;

/// How many comparisons one expression may hold: SQLite refuses an expression
/// tree deeper than 1,000, and an `or` chain is as deep as it is long.
pub const MAX_COMPARISONS: usize = 100;

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Quoted(String),
    Number(f64),
    Op(Op),
    Open,
    Close,
}

fn tokenize(text: &str) -> Result<Vec<(usize, Token)>, (usize, String)> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        match c {
            ' ' | '\t' | '\n' => {
                i += 1;
                continue;
            }
            '(' => tokens.push((start, Token::Open)),
            ')' => tokens.push((start, Token::Close)),
            '=' => {
                if chars.get(i + 1) == Some(&'=') {
                    i += 1;
                }
                tokens.push((start, Token::Op(Op::Eq)));
            }
            '!' | '<' | '>' => {
                let eq = chars.get(i + 1) == Some(&'=');
                let op = match (c, eq) {
                    ('!', true) => Op::Ne,
                    ('<', true) => Op::Le,
                    ('<', false) if chars.get(i + 1) == Some(&'>') => {
                        i += 1;
                        Op::Ne
                    }
                    ('<', false) => Op::Lt,
                    ('>', true) => Op::Ge,
                    ('>', false) => Op::Gt,
                    _ => return Err((start, "`!` must be followed by `=`".into())),
                };
                if eq {
                    i += 1;
                }
                tokens.push((start, Token::Op(op)));
            }
            '"' | '\'' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|&d| d == c)
                    .ok_or((start, "unterminated quote".to_string()))?;
                tokens.push((
                    start,
                    Token::Quoted(chars[i + 1..i + 1 + end].iter().collect()),
                ));
                i += end + 1;
            }
            _ => {
                let end = chars[i..]
                    .iter()
                    .position(|d| d.is_whitespace() || "()=!<>\"'".contains(*d))
                    .map_or(chars.len(), |p| i + p);
                let word: String = chars[i..end].iter().collect();
                let token = match word.parse::<f64>() {
                    Ok(n) if n.is_finite() => Token::Number(n),
                    _ => Token::Word(word),
                };
                tokens.push((start, token));
                i = end;
                continue;
            }
        }
        i += 1;
    }
    Ok(tokens)
}

struct Parser<'a> {
    tokens: &'a [(usize, Token)],
    next: usize,
    end: usize,
    /// Parentheses and `not` open around the current token.
    depth: usize,
    /// Comparisons parsed so far.
    comparisons: usize,
}

impl Parser<'_> {
    fn position(&self) -> usize {
        self.tokens.get(self.next).map_or(self.end, |(p, _)| *p)
    }

    fn peek_word(&self, keyword: &str) -> bool {
        matches!(self.tokens.get(self.next), Some((_, Token::Word(w))) if w.eq_ignore_ascii_case(keyword))
    }

    fn or(&mut self) -> Result<Condition, (usize, String)> {
        let mut left = self.and()?;
        while self.peek_word("or") {
            self.next += 1;
            left = Condition::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Condition, (usize, String)> {
        let mut left = self.unary()?;
        while self.peek_word("and") {
            self.next += 1;
            left = Condition::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    /// Enters a parenthesis or `not`, refusing to nest deeper than [`MAX_DEPTH`].
    fn descend(&mut self) -> Result<(), (usize, String)> {
        if self.depth == MAX_DEPTH {
            return Err((
                self.position(),
                format!(
                    "parentheses and `not` nest deeper than {MAX_DEPTH} levels; \
                     write the condition with fewer levels"
                ),
            ));
        }
        self.depth += 1;
        self.next += 1;
        Ok(())
    }

    fn unary(&mut self) -> Result<Condition, (usize, String)> {
        if self.peek_word("not") {
            self.descend()?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Condition::Not(Box::new(inner)));
        }
        if matches!(self.tokens.get(self.next), Some((_, Token::Open))) {
            self.descend()?;
            let inner = self.or()?;
            self.depth -= 1;
            return match self.tokens.get(self.next) {
                Some((_, Token::Close)) => {
                    self.next += 1;
                    Ok(inner)
                }
                _ => Err((self.position(), "expected `)`".into())),
            };
        }
        self.comparison()
    }

    /// One `field op value` comparison, its value checked against the field
    /// (see [`checked_comparison`]).
    fn comparison(&mut self) -> Result<Condition, (usize, String)> {
        self.count_comparison()?;
        let field = self.field()?;
        let op = self.operator(&field)?;
        let at = self.position();
        let value = self.value(&field)?;
        checked_comparison(field, op, value, at)
    }

    /// Counts the comparison about to be parsed, refusing more than
    /// [`MAX_COMPARISONS`] in one expression.
    fn count_comparison(&mut self) -> Result<(), (usize, String)> {
        if self.comparisons == MAX_COMPARISONS {
            return Err((
                self.position(),
                format!(
                    "more than {MAX_COMPARISONS} comparisons in one expression; \
                     narrow the runs with fewer (--tag, --experiment or a range of a metric)"
                ),
            ));
        }
        self.comparisons += 1;
        Ok(())
    }

    /// The field a comparison starts with: a known field or metric name.
    fn field(&mut self) -> Result<Field, (usize, String)> {
        let at = self.position();
        let field = match self.tokens.get(self.next) {
            Some((_, Token::Word(w))) => Field::parse(w).ok_or_else(|| {
                (
                    at,
                    format!(
                        "unknown field `{w}`; use {}, a metric such as val_loss, test_r2 \
                         or a spec key such as optimizer.learning_rate",
                        Field::NAMES.join(", ")
                    ),
                )
            })?,
            _ => {
                return Err((
                    at,
                    "expected a field name such as val_loss or status".into(),
                ));
            }
        };
        self.next += 1;
        Ok(field)
    }

    /// The comparison operator after `field`.
    fn operator(&mut self, field: &Field) -> Result<Op, (usize, String)> {
        let op = match self.tokens.get(self.next) {
            Some((_, Token::Op(op))) => *op,
            _ => {
                return Err((
                    self.position(),
                    format!("expected a comparison (=, !=, <, <=, >, >=) after `{field}`"),
                ));
            }
        };
        self.next += 1;
        Ok(op)
    }

    /// The value `field` is compared with, as written: a number, a word or
    /// a quoted text (not yet checked against the field).
    fn value(&mut self, field: &Field) -> Result<Value, (usize, String)> {
        let value = match self.tokens.get(self.next) {
            Some((_, Token::Number(n))) => Value::Number(*n),
            Some((_, Token::Word(w) | Token::Quoted(w))) => Value::Text(w.clone()),
            _ => {
                return Err((
                    self.position(),
                    format!("expected a value to compare `{field}` with"),
                ));
            }
        };
        self.next += 1;
        Ok(value)
    }
}

/// `field op value` once the value (written at `at`) suits the field:
/// `none` or `null` is a missing number (by `=` or `!=` only), `tag` is
/// compared by equality, a numeric field takes a number, a text field takes
/// text (a bare number only for `started_at` and `tag`, as text), and
/// `status` one of the known statuses.
fn checked_comparison(
    field: Field,
    op: Op,
    value: Value,
    at: usize,
) -> Result<Condition, (usize, String)> {
    // A spec key takes a number, a text or `none` (the key is absent); the
    // registry checks the key and its kind of value before the query runs.
    if let Field::Param(key) = &field {
        let none = matches!(&value, Value::Text(t)
            if t.eq_ignore_ascii_case("none") || t.eq_ignore_ascii_case("null"));
        return match (none, op) {
            (false, _) => Ok(Condition::Compare { field, op, value }),
            (true, Op::Eq | Op::Ne) => Ok(Condition::Compare {
                field,
                op,
                value: Value::Missing,
            }),
            (true, _) => Err((
                at,
                format!("`{key}` can only be compared with none by = or !="),
            )),
        };
    }
    if let Value::Text(t) = &value
        && field.is_numeric()
        && (t.eq_ignore_ascii_case("none") || t.eq_ignore_ascii_case("null"))
    {
        return match op {
            Op::Eq | Op::Ne => Ok(Condition::Compare {
                field,
                op,
                value: Value::Missing,
            }),
            _ => Err((
                at,
                format!("`{field}` can only be compared with none by = or !="),
            )),
        };
    }
    if field == Field::Tag && !matches!(op, Op::Eq | Op::Ne) {
        return Err((at, "`tag` is compared with = or != (tag = baseline)".into()));
    }
    match (&value, field.is_numeric()) {
        (Value::Text(t), true) => Err((at, format!("`{field}` is a number; {t:?} is not"))),
        (Value::Number(n), false) if !matches!(field, Field::StartedAt | Field::Tag) => Err((
            at,
            format!("`{field}` is text; quote the value if you mean \"{n}\""),
        )),
        (Value::Number(n), false) => Ok(Condition::Compare {
            field,
            op,
            value: Value::Text(n.to_string()),
        }),
        _ => {
            known_status(&field, &value, at)?;
            Ok(Condition::Compare { field, op, value })
        }
    }
}

/// Refuses a `status` compared with a status no run can have.
fn known_status(field: &Field, value: &Value, at: usize) -> Result<(), (usize, String)> {
    if *field == Field::Status
        && let Value::Text(t) = value
        && ![
            "queued",
            "running",
            "completed",
            "failed",
            "killed",
            "crashed",
            "pruned",
        ]
        .contains(&t.as_str())
    {
        return Err((
            at,
            format!(
                "unknown status {t:?}; one of queued, running, completed, failed, killed, crashed, pruned"
            ),
        ));
    }
    Ok(())
}

impl FromStr for Condition {
    type Err = FilterError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let fail = |(position, message): (usize, String)| FilterError {
            expression: text.to_string(),
            position: position + 1,
            message,
        };
        let tokens = tokenize(text).map_err(fail)?;
        let mut parser = Parser {
            tokens: &tokens,
            next: 0,
            end: text.chars().count(),
            depth: 0,
            comparisons: 0,
        };
        let condition = parser.or().map_err(fail)?;
        if parser.next < tokens.len() {
            return Err(fail((
                parser.position(),
                "expected `and`, `or` or the end".into(),
            )));
        }
        Ok(condition)
    }
}

/// `--sort KEY`: a field, ascending unless `descending`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortKey {
    pub field: Field,
    pub descending: bool,
}

impl FromStr for SortKey {
    type Err = FilterError;

    /// `val_loss` sorts ascending; `val_r2:desc` descending.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (name, descending) = match text.rsplit_once(':') {
            Some((name, "desc")) => (name, true),
            Some((name, "asc")) => (name, false),
            Some(_) => {
                return Err(FilterError {
                    expression: text.into(),
                    position: text.find(':').map_or(1, |p| p + 2),
                    message: "the direction after `:` must be `asc` or `desc`".into(),
                });
            }
            None => (text, false),
        };
        let field = Field::parse(name.trim()).ok_or_else(|| FilterError {
            expression: text.into(),
            position: 1,
            message: format!(
                "unknown field `{name}`; use {}, a metric such as val_loss \
                 or a spec key such as optimizer.learning_rate",
                Field::NAMES.join(", ")
            ),
        })?;
        if field == Field::Tag {
            return Err(FilterError {
                expression: text.into(),
                position: 1,
                message: "runs cannot be sorted by tag; filter with --tag or --where \"tag = …\""
                    .into(),
            });
        }
        Ok(SortKey { field, descending })
    }
}

impl SortKey {
    /// The join a sort on a spec key reads its value through (after
    /// `FROM runs`); nothing for other fields.
    pub(crate) fn push_join(&self, sql: &mut Sql) {
        match &self.field {
            Field::Param(key) => {
                sql.push(
                    " LEFT JOIN run_params sort_param \
                     ON sort_param.run_id = runs.id AND sort_param.key = ",
                )
                .push_bind(key.clone());
            }
            Field::Metric { split, metric } => {
                sql.push(
                    " LEFT JOIN final_metrics sort_metric \
                     ON sort_metric.run_id = runs.id AND sort_metric.split = ",
                )
                .push_bind(*split)
                .push(" AND sort_metric.metric = ")
                .push_bind(metric.clone());
            }
            _ => {}
        }
    }

    /// ` ORDER BY …`, runs without the value last; a spec key's numbers
    /// in numeric order, then its texts.
    pub(crate) fn push_sql(&self, sql: &mut Sql) {
        if let Field::Param(_) = &self.field {
            let direction = if self.descending { " DESC" } else { " ASC" };
            sql.push(format!(
                " ORDER BY sort_param.run_id IS NULL, sort_param.num IS NULL, \
                 sort_param.num{direction}, sort_param.text{direction}, \
                 runs.started_at DESC, runs.id DESC"
            ));
            return;
        }
        if let Field::Metric { .. } = &self.field {
            let direction = if self.descending { " DESC" } else { " ASC" };
            sql.push(format!(
                " ORDER BY sort_metric.value IS NULL, sort_metric.value{direction}, \
                 runs.started_at DESC, runs.id DESC"
            ));
            return;
        }
        sql.push(" ORDER BY (");
        self.field.push_sql(sql);
        sql.push(") IS NULL, (");
        self.field.push_sql(sql);
        sql.push(if self.descending { ") DESC" } else { ") ASC" });
        sql.push(", runs.started_at DESC, runs.id DESC");
    }
}

/// The spec keys a condition and a sort use, each with what it is
/// compared with, for [`crate::Registry::check_spec_keys`].
pub(crate) fn spec_key_uses(
    condition: Option<&Condition>,
    sort: Option<&SortKey>,
) -> Vec<(String, KeyUse)> {
    fn walk(condition: &Condition, out: &mut Vec<(String, KeyUse)>) {
        match condition {
            Condition::Compare {
                field: Field::Param(key),
                value,
                ..
            } => out.push((
                key.clone(),
                match value {
                    Value::Number(_) => KeyUse::Number,
                    Value::Text(_) => KeyUse::Text,
                    Value::Missing => KeyUse::Any,
                },
            )),
            Condition::Compare { .. } => {}
            Condition::And(a, b) | Condition::Or(a, b) => {
                walk(a, out);
                walk(b, out);
            }
            Condition::Not(inner) => walk(inner, out),
        }
    }
    let mut out = Vec::new();
    if let Some(condition) = condition {
        walk(condition, &mut out);
    }
    if let Some(SortKey {
        field: Field::Param(key),
        ..
    }) = sort
    {
        out.push((key.clone(), KeyUse::Any));
    }
    out
}

impl Condition {
    /// The spec keys the condition compares, dotted, in order of appearance.
    pub fn spec_keys(&self) -> Vec<String> {
        spec_key_uses(Some(self), None)
            .into_iter()
            .map(|(key, _)| key)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn cmp(field: Field, op: Op, value: Value) -> Condition {
        Condition::Compare { field, op, value }
    }

    fn val_loss() -> Field {
        Field::Metric {
            split: "validation",
            metric: "loss".into(),
        }
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let c: Condition = "val_loss < 3000 or epochs >= 10 and status = completed"
            .parse()
            .unwrap();
        assert_eq!(
            c,
            Condition::Or(
                Box::new(cmp(val_loss(), Op::Lt, Value::Number(3000.0))),
                Box::new(Condition::And(
                    Box::new(cmp(Field::Epochs, Op::Ge, Value::Number(10.0))),
                    Box::new(cmp(Field::Status, Op::Eq, Value::Text("completed".into()))),
                )),
            )
        );
    }

    #[test]
    fn parentheses_and_not() {
        let c: Condition = "not (test_r2 > 0.4 OR experiment = 'a b')".parse().unwrap();
        let Condition::Not(inner) = c else {
            unreachable!()
        };
        assert!(matches!(*inner, Condition::Or(..)));
    }

    #[test]
    fn errors_say_where() {
        let e = "val_loss < ".parse::<Condition>().unwrap_err();
        assert_eq!(e.position, 12);
        assert!(e.message.contains("expected a value"), "{e}");
        let e = "vall_loss < 3".parse::<Condition>().unwrap_err();
        assert!(e.message.contains("unknown field `vall_loss`"), "{e}");
        let e = "val_loss < high".parse::<Condition>().unwrap_err();
        assert!(e.message.contains("is a number"), "{e}");
        let e = "status = done".parse::<Condition>().unwrap_err();
        assert!(e.message.contains("unknown status"), "{e}");
        let e = "(epochs > 1".parse::<Condition>().unwrap_err();
        assert!(e.message.contains("expected `)`"), "{e}");
        let e = "epochs > 1 epochs".parse::<Condition>().unwrap_err();
        assert!(e.message.contains("expected `and`"), "{e}");
    }

    /// Issue 18: 10,000 nested parentheses overflowed the stack (exit 134) and an
    /// `or` chain of 1,000 terms reached SQLite as "Expression tree is too large".
    #[test]
    fn depth_and_size_are_limited() {
        let deep = format!("{}epochs > 1{}", "(".repeat(10_000), ")".repeat(10_000));
        let e = deep.parse::<Condition>().unwrap_err();
        assert!(e.message.contains("nest deeper than 32"), "{e}");
        assert_eq!(e.position, MAX_DEPTH + 1);
        assert!(
            e.to_string().contains("of a 20010-character expression"),
            "{e}"
        );
        let nots = format!("{}epochs > 1", "not ".repeat(10_000));
        assert!(nots.parse::<Condition>().is_err());

        let chain = |n: usize| vec!["epochs > 1"; n].join(" or ");
        let e = chain(1_000).parse::<Condition>().unwrap_err();
        assert!(e.message.contains("more than 100 comparisons"), "{e}");
        assert!(chain(MAX_COMPARISONS).parse::<Condition>().is_ok());
        let nested = format!(
            "{}epochs > 1{}",
            "(".repeat(MAX_DEPTH),
            ")".repeat(MAX_DEPTH)
        );
        assert!(nested.parse::<Condition>().is_ok());
    }

    #[test]
    fn tags_and_missing_values() {
        let c: Condition = "tag = baseline and onset = none".parse().unwrap();
        assert_eq!(
            c,
            Condition::And(
                Box::new(cmp(Field::Tag, Op::Eq, Value::Text("baseline".into()))),
                Box::new(cmp(Field::Onset, Op::Eq, Value::Missing)),
            )
        );
        assert!("tag < a".parse::<Condition>().is_err());
        assert!("gap > none".parse::<Condition>().is_err());
        assert!("tag".parse::<SortKey>().is_err());
        assert!("test_gap:desc".parse::<SortKey>().unwrap().descending);
    }

    /// Issue 21: a word with a `.` or brackets is a spec key, dotted.
    #[test]
    fn spec_keys_take_dots_or_brackets() {
        let key = |k: &str| Field::Param(k.into());
        let c: Condition = "optimizer.learning_rate > 0.005 and model.layers[0].units = 64"
            .parse()
            .unwrap();
        assert_eq!(
            c,
            Condition::And(
                Box::new(cmp(
                    key("optimizer.learning_rate"),
                    Op::Gt,
                    Value::Number(0.005)
                )),
                Box::new(cmp(
                    key("model.layers.0.units"),
                    Op::Eq,
                    Value::Number(64.0)
                )),
            )
        );
        assert_eq!(
            c.spec_keys(),
            ["optimizer.learning_rate", "model.layers.0.units"]
        );
        let c: Condition = "optimizer.type = adam".parse().unwrap();
        assert_eq!(
            c,
            cmp(key("optimizer.type"), Op::Eq, Value::Text("adam".into()))
        );
        let c: Condition = "model.layers.2.rate = none".parse().unwrap();
        assert_eq!(c, cmp(key("model.layers.2.rate"), Op::Eq, Value::Missing));
        assert!("model.layers.2.rate > none".parse::<Condition>().is_err());
        let e = "model.layers[x].units > 1"
            .parse::<Condition>()
            .unwrap_err();
        assert!(e.message.contains("unknown field"), "{e}");
        assert_eq!(
            "model.layers[1].units:desc".parse::<SortKey>().unwrap(),
            SortKey {
                field: key("model.layers.1.units"),
                descending: true
            }
        );
        assert_eq!(key("a.b").to_string(), "a.b");
    }

    #[test]
    fn sort_keys() {
        assert_eq!(
            "val_loss".parse::<SortKey>().unwrap(),
            SortKey {
                field: val_loss(),
                descending: false
            }
        );
        assert!("test_r2:desc".parse::<SortKey>().unwrap().descending);
        assert!("test_r2:down".parse::<SortKey>().is_err());
        assert!("nope".parse::<SortKey>().is_err());
    }
}
