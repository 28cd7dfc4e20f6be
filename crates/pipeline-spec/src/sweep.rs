//! `[sweep]`: a spec that is a space of specs. Its parameters are spec key
//! paths (as `--set` takes them) with the values each may take; a trial is
//! the spec without `[sweep]` and with one value per parameter, applied
//! exactly as `--set` applies it ([`crate::LoadedSpec::trial`]).
//!
//! Every parameter is checked when the spec loads: its path and domain,
//! and each of its corners (each listed value, or a range's low and high)
//! applied alone to the spec and validated, so that an unknown path, a
//! value of the wrong type or out of range is an error at the parameter,
//! not at trial 17.

use std::fmt;
use std::num::NonZeroU32;
use std::ops::Range;

use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::defaults;
use crate::metric::{Direction, MetricRef};
use crate::overrides::set;
use crate::path::path_segments;
use crate::raw::{PrunerType, RawDomain, RawPruner, RawSweep};
use crate::selection::Selection;
use crate::spec::parse_text;
use crate::task::Task;
use crate::validate::{Checked, Validator};

/// How a sweep picks its trials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SweepMethod {
    /// Every point of the space once (every parameter a list of `values`).
    Grid,
    /// Independent draws; the same seed gives the same trials.
    Random,
    /// Tree-structured Parzen estimator: after random start-up trials, draws
    /// near the best trials so far.
    Tpe,
}

impl SweepMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            SweepMethod::Grid => "grid",
            SweepMethod::Random => "random",
            SweepMethod::Tpe => "tpe",
        }
    }
}

impl fmt::Display for SweepMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[sweep]`, validated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepSpec {
    pub method: SweepMethod,
    /// The budget of a random or tpe sweep; `None` for a grid (every point once).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trials: Option<NonZeroU32>,
    /// Trials at a time.
    pub jobs: NonZeroU32,
    /// The sampler's seed (the spec's seed unless given).
    pub seed: u64,
    /// The metric optimized, written into each trial's `[selection]`;
    /// `None`: the spec's `selection.metric`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<MetricRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    /// In the order the spec writes them (a grid's first parameter varies slowest).
    #[serde(serialize_with = "parameters_table")]
    pub parameters: Vec<SweepParameter>,
    pub pruner: PrunerSpec,
}

/// One swept key.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepParameter {
    /// The canonical dotted path (`model.layers.0.units`).
    pub key: String,
    pub domain: Domain,
}

/// The values a parameter may take.
#[derive(Debug, Clone, PartialEq)]
pub enum Domain {
    /// One of these (in this order for a grid).
    Values(Vec<toml::Value>),
    /// Evenly between `low` and `high`; whole numbers when both bounds are
    /// written as whole numbers.
    Uniform { low: f64, high: f64, integer: bool },
    /// Evenly in the logarithm between `low` (> 0) and `high`.
    LogUniform { low: f64, high: f64, integer: bool },
}

/// When to stop a hopeless trial early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum PrunerSpec {
    None,
    /// Stop a trial whose best so far is worse than the median of the other
    /// trials' at the same epoch, from `min_epochs` on, once `min_trials`
    /// other trials reached that epoch.
    Median {
        min_epochs: u32,
        min_trials: u32,
    },
    /// Asynchronous successive halving: at the rungs `min_epochs ×
    /// reduction^k`, only the best `1/reduction` of the trials go on.
    Asha {
        min_epochs: u32,
        reduction: u32,
    },
}

impl SweepSpec {
    /// Points of the grid (the product of the parameters' value counts);
    /// `None` when a parameter is continuous.
    pub fn grid_size(&self) -> Option<u64> {
        self.parameters
            .iter()
            .try_fold(1u64, |size, p| Some(size.saturating_mul(p.domain.size()?)))
    }

    /// Trials the sweep runs: every grid point, else `trials`.
    pub fn budget(&self) -> u32 {
        match (self.method, self.trials) {
            (_, Some(trials)) => trials.get(),
            (_, None) => self
                .grid_size()
                .map_or(0, |size| u32::try_from(size).unwrap_or(u32::MAX)),
        }
    }
}

impl Domain {
    /// How many values it holds; `None` for a range.
    pub fn size(&self) -> Option<u64> {
        match self {
            Domain::Values(values) => Some(values.len() as u64),
            _ => None,
        }
    }

    /// Its key in the spec: `values`, `uniform` or `log_uniform`.
    pub fn kind(&self) -> &'static str {
        match self {
            Domain::Values(_) => "values",
            Domain::Uniform { .. } => "uniform",
            Domain::LogUniform { .. } => "log_uniform",
        }
    }

    /// Its extremes: the first and last of its values, or its low and
    /// high (one value when they are the same).
    pub fn corners(&self) -> Vec<toml::Value> {
        let mut corners = match self {
            Domain::Values(values) => values
                .first()
                .into_iter()
                .chain(values.last())
                .cloned()
                .collect(),
            Domain::Uniform { low, high, integer } | Domain::LogUniform { low, high, integer } => {
                vec![bound(*low, *integer), bound(*high, *integer)]
            }
        };
        corners.dedup();
        corners
    }

    /// As the spec writes it: the values, or `[low, high]`.
    fn listed(&self) -> Vec<toml::Value> {
        match self {
            Domain::Values(values) => values.clone(),
            Domain::Uniform { low, high, integer } | Domain::LogUniform { low, high, integer } => {
                vec![bound(*low, *integer), bound(*high, *integer)]
            }
        }
    }
}

/// A range's bound as a TOML value: a whole number for an integer range.
fn bound(value: f64, integer: bool) -> toml::Value {
    if integer {
        // Whole-number bounds were read from i64s.
        toml::Value::Integer(value as i64)
    } else {
        toml::Value::Float(value)
    }
}

impl fmt::Display for Domain {
    /// `values [16, 32, 64]`, `log_uniform [0.0001, 0.1]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind(), toml::Value::Array(self.listed()))
    }
}

impl Serialize for Domain {
    /// `{ values = [...] }`, `{ uniform = [low, high] }`: as the spec writes it.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry(self.kind(), &self.listed())?;
        map.end()
    }
}

fn parameters_table<S: Serializer>(
    parameters: &[SweepParameter],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(Some(parameters.len()))?;
    for parameter in parameters {
        map.serialize_entry(&parameter.key, &parameter.domain)?;
    }
    map.end()
}

impl fmt::Display for PrunerSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrunerSpec::None => f.write_str("none"),
            PrunerSpec::Median {
                min_epochs,
                min_trials,
            } => write!(
                f,
                "median (from epoch {min_epochs}, once {min_trials} trials reached the epoch)"
            ),
            PrunerSpec::Asha {
                min_epochs,
                reduction,
            } => write!(
                f,
                "asha (first rung at epoch {min_epochs}, the best 1/{reduction} go on)"
            ),
        }
    }
}

fn pruner_name(kind: PrunerType) -> &'static str {
    match kind {
        PrunerType::None => "none",
        PrunerType::Median => "median",
        PrunerType::Asha => "asha",
    }
}

/// The most trials a grid may hold.
const MAX_GRID: u64 = u32::MAX as u64;

/// A parameter as read, with the positions its errors point at.
struct Entry {
    name: String,
    segments: Vec<String>,
    key_span: Range<usize>,
    domain: Domain,
    domain_span: Range<usize>,
    /// Each value to check alone against the spec, with its position.
    checked: Vec<(toml::Value, Range<usize>)>,
}

impl Validator<'_> {
    /// `[sweep]`: `selection` is the spec's (the default metric), `seed` the
    /// spec's (the default seed).
    pub(crate) fn sweep(
        &self,
        raw: Spanned<RawSweep>,
        selection: &Selection,
        task: Task,
        seed: u64,
    ) -> Checked<SweepSpec> {
        let raw = raw.into_inner();
        let method_span = raw.method.span();
        let method = *raw.method.get_ref();
        let trials = match (method, raw.trials) {
            (SweepMethod::Grid, Some(trials)) => {
                return Err(self.fail(
                    trials.span(),
                    "sweep.trials",
                    "`trials` does not apply to a grid sweep: it runs every point of the space once".into(),
                    Some("remove `trials`, or choose method = \"random\" or \"tpe\" for a budget of trials"),
                ));
            }
            (SweepMethod::Grid, None) => None,
            (_, None) => {
                return Err(self.fail(
                    method_span,
                    "sweep.trials",
                    format!("a {method} sweep needs `trials`, its budget of trials"),
                    Some("add for example `trials = 40` to [sweep]"),
                ));
            }
            (_, Some(trials)) => NonZeroU32::new(self.count(Some(trials), "sweep.trials", 1)?),
        };
        let jobs =
            NonZeroU32::new(self.count(raw.jobs, "sweep.jobs", defaults::SWEEP_JOBS.get())?)
                .unwrap_or(defaults::SWEEP_JOBS);
        let seed = match raw.seed {
            None => seed,
            Some(s) => u64::try_from(*s.get_ref()).map_err(|_| {
                self.fail(
                    s.span(),
                    "sweep.seed",
                    "`sweep.seed` must be 0 or more".into(),
                    None,
                )
            })?,
        };
        let metric = raw
            .metric
            .map(|m| self.metric(m, "sweep.metric", task))
            .transpose()?;
        let direction = raw
            .direction
            .map(|d| self.direction(metric.unwrap_or(selection.metric), d, "sweep.direction"))
            .transpose()?;
        let pruner = self.pruner(raw.pruner)?;
        let parameters_span = raw.parameters.span();
        let mut raw_parameters: Vec<_> = raw.parameters.into_inner().into_iter().collect();
        raw_parameters.sort_by_key(|(key, _)| key.span().start);
        let mut entries: Vec<Entry> = Vec::with_capacity(raw_parameters.len());
        for (key, domain) in raw_parameters {
            let entry = self.parameter(key, domain, &entries)?;
            if method == SweepMethod::Grid && entry.domain.size().is_none() {
                return Err(self.fail(
                    entry.domain_span,
                    "sweep.parameters",
                    format!(
                        "a grid sweep runs every point, but `{}` is a continuous {}",
                        entry.name,
                        entry.domain.kind()
                    ),
                    Some("list the points to try: { values = [...] }, or choose method = \"random\" or \"tpe\""),
                ));
            }
            entries.push(entry);
        }
        if entries.is_empty() {
            return Err(self.fail(
                parameters_span,
                "sweep.parameters",
                "`[sweep.parameters]` is empty: there is nothing to search".into(),
                Some("add a spec key and its values, e.g. \"optimizer.learning_rate\" = { log_uniform = [1e-4, 1e-1] }"),
            ));
        }
        self.corners(&entries)?;
        let sweep = SweepSpec {
            method,
            trials,
            jobs,
            seed,
            metric,
            direction,
            parameters: entries
                .into_iter()
                .map(|e| SweepParameter {
                    key: e.segments.join("."),
                    domain: e.domain,
                })
                .collect(),
            pruner,
        };
        if method == SweepMethod::Grid
            && let Some(size) = sweep.grid_size()
            && size > MAX_GRID
        {
            return Err(self.fail(
                parameters_span,
                "sweep.parameters",
                format!("the grid holds {size} points, more than the {MAX_GRID} a sweep runs"),
                Some("list fewer values, or choose method = \"random\" or \"tpe\" with a budget of trials"),
            ));
        }
        Ok(sweep)
    }

    /// One `[sweep.parameters]` entry; `before`: the entries read so far.
    fn parameter(
        &self,
        key: Spanned<String>,
        domain: Spanned<RawDomain>,
        before: &[Entry],
    ) -> Checked<Entry> {
        let key_span = key.span();
        let name = key.into_inner();
        let at_key = |message: String, hint: &str| {
            self.fail(key_span.clone(), "sweep.parameters", message, Some(hint))
        };
        let segments = path_segments(&name).map_err(|message| {
            at_key(
                message,
                "write a spec key path as --set takes it, e.g. \"model.layers.0.units\"",
            )
        })?;
        if let Some(first @ ("sweep" | "name")) = segments.first().map(String::as_str) {
            return Err(at_key(
                format!("`{name}` cannot be swept: every trial keeps the spec's `{first}`"),
                "sweep keys of data, model, loss, optimizer, train or selection",
            ));
        }
        if let Some(earlier) = before.iter().find(|e| e.segments == segments) {
            return Err(at_key(
                format!(
                    "`{name}` is swept twice (`{}` names the same key)",
                    earlier.name
                ),
                "keep one entry per key",
            ));
        }
        let domain_span = domain.span();
        let (domain, checked) = self.domain(&name, domain.into_inner(), &domain_span)?;
        Ok(Entry {
            name,
            segments,
            key_span,
            domain,
            domain_span,
            checked,
        })
    }

    /// A parameter's domain, and each value to check with its position.
    #[allow(clippy::type_complexity)]
    fn domain(
        &self,
        name: &str,
        raw: RawDomain,
        span: &Range<usize>,
    ) -> Checked<(Domain, Vec<(toml::Value, Range<usize>)>)> {
        let key = "sweep.parameters";
        let mut given: Vec<(&str, Spanned<Vec<Spanned<toml::Value>>>)> = [
            ("values", raw.values),
            ("uniform", raw.uniform),
            ("log_uniform", raw.log_uniform),
        ]
        .into_iter()
        .filter_map(|(kind, list)| list.map(|list| (kind, list)))
        .collect();
        let Some((kind, list)) = given.pop() else {
            return Err(self.fail(
                span.clone(),
                key,
                format!("`{name}` has no values to try"),
                Some("write { values = [...] }, { uniform = [low, high] } or { log_uniform = [low, high] }"),
            ));
        };
        if let Some((other, _)) = given.first() {
            return Err(self.fail(
                span.clone(),
                key,
                format!("`{name}` has both `{other}` and `{kind}`"),
                Some("give one of values, uniform or log_uniform"),
            ));
        }
        let list_span = list.span();
        let items = list.into_inner();
        if kind == "values" {
            if items.is_empty() {
                return Err(self.fail(
                    list_span,
                    key,
                    format!("`values` of `{name}` is empty"),
                    Some("list at least one value"),
                ));
            }
            for (i, item) in items.iter().enumerate() {
                if items[..i]
                    .iter()
                    .any(|earlier| earlier.get_ref() == item.get_ref())
                {
                    return Err(self.fail(
                        item.span(),
                        key,
                        format!("`values` of `{name}` lists {} twice", item.get_ref()),
                        Some("list each value once"),
                    ));
                }
            }
            let values = items.iter().map(|v| v.get_ref().clone()).collect();
            let checked = items
                .into_iter()
                .map(|v| {
                    let span = v.span();
                    (v.into_inner(), span)
                })
                .collect();
            return Ok((Domain::Values(values), checked));
        }
        let [low, high] = <[Spanned<toml::Value>; 2]>::try_from(items).map_err(|items| {
            self.fail(
                list_span.clone(),
                key,
                format!(
                    "`{kind}` of `{name}` must be [low, high]; got {} value{}",
                    items.len(),
                    if items.len() == 1 { "" } else { "s" }
                ),
                Some("for example { uniform = [0.0, 0.5] }"),
            )
        })?;
        let number = |value: &Spanned<toml::Value>| -> Checked<f64> {
            let n = match value.get_ref() {
                toml::Value::Integer(i) => *i as f64,
                toml::Value::Float(f) if f.is_finite() => *f,
                other => {
                    return Err(self.fail(
                        value.span(),
                        key,
                        format!("the bounds of `{name}` must be finite numbers; got {other}"),
                        Some("write numbers unquoted, e.g. [1e-4, 1e-1]"),
                    ));
                }
            };
            Ok(n)
        };
        let (low_value, high_value) = (number(&low)?, number(&high)?);
        if low_value >= high_value {
            return Err(self.fail(
                list_span,
                key,
                format!("`{kind}` of `{name}` goes from {low_value} to {high_value}: low must be below high"),
                Some("write [low, high]; for one fixed value, set the key in the spec instead"),
            ));
        }
        if kind == "log_uniform" && low_value <= 0.0 {
            return Err(self.fail(
                low.span(),
                key,
                format!("`log_uniform` of `{name}` starts at {low_value}; its logarithm needs a low above 0"),
                Some("start above 0 (e.g. 1e-5), or use uniform"),
            ));
        }
        let integer = matches!(
            (low.get_ref(), high.get_ref()),
            (toml::Value::Integer(_), toml::Value::Integer(_))
        );
        let domain = if kind == "log_uniform" {
            Domain::LogUniform {
                low: low_value,
                high: high_value,
                integer,
            }
        } else {
            Domain::Uniform {
                low: low_value,
                high: high_value,
                integer,
            }
        };
        let checked = vec![
            (bound(low_value, integer), low.span()),
            (bound(high_value, integer), high.span()),
        ];
        Ok((domain, checked))
    }

    /// Each parameter's values (a range's bounds), each applied alone to
    /// the spec without `[sweep]` as `--set` applies it, and validated.
    fn corners(&self, entries: &[Entry]) -> Checked<()> {
        let mut base: toml::Table = toml::from_str(self.text).map_err(|e| {
            self.fail(
                e.span().unwrap_or(0..0),
                "sweep",
                e.message().to_owned(),
                None,
            )
        })?;
        base.remove("sweep");
        for entry in entries {
            for (value, value_span) in &entry.checked {
                self.corner(&base, entry, value, value_span)?;
            }
        }
        Ok(())
    }

    fn corner(
        &self,
        base: &toml::Table,
        entry: &Entry,
        value: &toml::Value,
        value_span: &Range<usize>,
    ) -> Checked<()> {
        let name = &entry.name;
        let mut table = base.clone();
        if let Err(message) = set(&mut table, &entry.segments, value.clone()) {
            return Err(self.fail(
                entry.key_span.clone(),
                "sweep.parameters",
                format!("sweep parameter `{name}`: {message}"),
                Some("the path must name a key of this spec, as --set takes it"),
            ));
        }
        let text = toml::to_string(&table).map_err(|e| {
            self.fail(
                value_span.clone(),
                "sweep.parameters",
                format!("sweep parameter `{name}` = {value}: {e}"),
                None,
            )
        })?;
        let Err(error) = parse_text(self.file, &text) else {
            return Ok(());
        };
        // A wrong path points at the key, a wrong value at the value.
        let about_path = ["unknown key", "missing required key"]
            .iter()
            .any(|p| error.message.starts_with(p));
        let span = if about_path {
            entry.key_span.clone()
        } else {
            value_span.clone()
        };
        Err(self.fail(
            span,
            "sweep.parameters",
            format!("sweep parameter `{name}` = {value}: {}", error.message),
            error.hint.as_deref(),
        ))
    }

    fn pruner(&self, raw: Option<Spanned<RawPruner>>) -> Checked<PrunerSpec> {
        let Some(raw) = raw else {
            return Ok(defaults::PRUNER);
        };
        let raw = raw.into_inner();
        let kind = *raw.kind.get_ref();
        let not_for = |value: &Option<Spanned<i64>>, setting: &str| -> Checked<()> {
            match value {
                None => Ok(()),
                Some(v) => Err(self.fail(
                    v.span(),
                    &format!("sweep.pruner.{setting}"),
                    format!(
                        "`{setting}` does not apply to the {} pruner",
                        pruner_name(kind)
                    ),
                    Some(
                        "asha takes min_epochs and reduction; median takes min_epochs and min_trials",
                    ),
                )),
            }
        };
        let min_epochs = |value| {
            self.count(
                value,
                "sweep.pruner.min_epochs",
                defaults::PRUNER_MIN_EPOCHS,
            )
        };
        match kind {
            PrunerType::None => {
                not_for(&raw.min_epochs, "min_epochs")?;
                not_for(&raw.reduction, "reduction")?;
                not_for(&raw.min_trials, "min_trials")?;
                Ok(PrunerSpec::None)
            }
            PrunerType::Median => {
                not_for(&raw.reduction, "reduction")?;
                Ok(PrunerSpec::Median {
                    min_epochs: min_epochs(raw.min_epochs)?,
                    min_trials: self.count(
                        raw.min_trials,
                        "sweep.pruner.min_trials",
                        defaults::MEDIAN_MIN_TRIALS,
                    )?,
                })
            }
            PrunerType::Asha => {
                not_for(&raw.min_trials, "min_trials")?;
                let reduction_span = raw.reduction.as_ref().map(Spanned::span);
                let reduction = self.count(
                    raw.reduction,
                    "sweep.pruner.reduction",
                    defaults::ASHA_REDUCTION,
                )?;
                if let (true, Some(span)) = (reduction < 2, reduction_span) {
                    return Err(self.fail(
                        span,
                        "sweep.pruner.reduction",
                        format!("`sweep.pruner.reduction` must be at least 2; got {reduction}"),
                        Some("3 keeps the best third of the trials at each rung"),
                    ));
                }
                Ok(PrunerSpec::Asha {
                    min_epochs: min_epochs(raw.min_epochs)?,
                    reduction,
                })
            }
        }
    }
}

/// The schema of one `[sweep.parameters]` entry (the parser reads
/// [`RawDomain`] and checks that exactly one key is given).
#[derive(schemars::JsonSchema)]
#[schemars(untagged, deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) enum DomainSchema {
    /// Each value once (grid), or one of them per trial (random, tpe).
    Values { values: Vec<serde_json::Value> },
    /// A number evenly between low and high (whole numbers when both are).
    Uniform { uniform: [f64; 2] },
    /// A number evenly in the logarithm between low (> 0) and high.
    LogUniform { log_uniform: [f64; 2] },
}
