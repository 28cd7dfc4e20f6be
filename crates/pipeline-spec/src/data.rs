//! `[data]`: the file, the target, the features and the defaults of every
//! column. The settings of one column are in [`crate::columns`], the split
//! in [`crate::split`], windows of a series in [`crate::window`] and
//! cross-validation in [`crate::cross_validation`].

use std::collections::BTreeMap;

use serde::Serialize;
use toml::Spanned;

use crate::columns::{ColumnOptions, ColumnType, Encode, Missing, UnknownCategory};
use crate::cross_validation::CrossValidation;
use crate::defaults;
use crate::raw::{self, Normalize, RawTarget};
use crate::split::SplitFractions;
use crate::task::Task;
use crate::validate::{Checked, Validator};
use crate::window::Window;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataSpec {
    /// As written in the spec: relative to the spec file's folder.
    pub path: String,
    pub target: Targets,
    #[serde(skip_serializing_if = "is_regression")]
    pub task: Task,
    /// Split so that every split has each class in the file's proportions
    /// (classification only; the default for it).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stratify: bool,
    /// Regression targets are normalized for training with statistics of
    /// the training split; predictions are de-normalized.
    #[serde(skip_serializing_if = "is_no_normalize")]
    pub normalize_target: Normalize,
    /// Column names or patterns (`*`, `?`); `None`: every column but the target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub features: Option<Vec<String>>,
    /// Names or patterns taken out of the features.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// For numeric inputs (and ordinal codes) without a `[data.columns]` setting.
    pub normalize: Normalize,
    // The keys below are written into the resolved spec only when they differ
    // from their defaults, so that the resolved spec (and its hash) of a spec
    // written before they existed does not change.
    #[serde(skip_serializing_if = "is_default_missing")]
    pub missing: Missing,
    #[serde(skip_serializing_if = "is_default_encode")]
    pub encode: Encode,
    #[serde(skip_serializing_if = "is_default_unknown")]
    pub unknown: UnknownCategory,
    pub shuffle: bool,
    pub split: SplitFractions,
    /// A column naming each row's split (`train`, `validation`, `test`);
    /// `split` fractions and `stratify` do not apply then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub split_column: Option<String>,
    /// Type overrides by column name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub types: BTreeMap<String, ColumnType>,
    /// Per-column settings by column name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub columns: BTreeMap<String, ColumnOptions>,
    /// Samples are windows of an ordered series (`[data.window]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<Window>,
    /// The run is one fold of a k-fold cross-validation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cross_validation: Option<CrossValidation>,
}

pub(crate) fn is_regression(task: &Task) -> bool {
    *task == Task::Regression
}

pub(crate) fn is_no_normalize(value: &Normalize) -> bool {
    *value == Normalize::None
}

/// The target column, or the target columns of a multi-target regression.
/// Written as a string when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Targets(Vec<String>);

impl Targets {
    pub fn one(column: &str) -> Targets {
        Targets(vec![column.to_string()])
    }

    /// Never empty.
    pub fn columns(&self) -> &[String] {
        &self.0
    }

    pub fn contains(&self, column: &str) -> bool {
        self.0.iter().any(|c| c == column)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Display for Targets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join(", "))
    }
}

impl Serialize for Targets {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => serializer.serialize_str(one),
            many => many.serialize(serializer),
        }
    }
}

pub(crate) fn is_default_missing(value: &Missing) -> bool {
    *value == defaults::MISSING
}

pub(crate) fn is_default_encode(value: &Encode) -> bool {
    *value == defaults::ENCODE
}

pub(crate) fn is_default_unknown(value: &UnknownCategory) -> bool {
    *value == defaults::UNKNOWN
}

impl Validator<'_> {
    pub(crate) fn data(&self, raw: raw::RawData, task: Task) -> Checked<DataSpec> {
        if raw.path.get_ref().trim().is_empty() {
            return Err(self.fail(
                raw.path.span(),
                "data.path",
                "`data.path` is empty".into(),
                None,
            ));
        }
        let target = self.targets(raw.target, task)?;
        let window = match raw.window {
            None => None,
            Some(window) => Some(self.window(
                window,
                &raw.shuffle,
                &raw.stratify,
                &raw.split_column,
                &target,
                task,
            )?),
        };
        let shuffle = raw
            .shuffle
            .as_ref()
            .map_or(defaults::SHUFFLE, |s| *s.get_ref())
            && window.is_none();
        let split_column = match raw.split_column {
            None => None,
            Some(column) => Some(self.split_column(column, &target, &raw.split, &raw.stratify)?),
        };
        let stratify = self.stratify(raw.stratify, task, shuffle, split_column.is_some())?;
        let normalize_target = self.normalize_target(raw.normalize_target, task)?;
        let features = match raw.features {
            None => None,
            Some(features) => Some(self.column_list(features, "data.features", &target)?),
        };
        let exclude = match raw.exclude {
            None => Vec::new(),
            Some(exclude) => self.column_list(exclude, "data.exclude", &target)?,
        };
        let missing = match raw.missing {
            None => defaults::MISSING,
            Some(m) => self.missing(m, "data.missing")?,
        };
        let types = self.types(raw.types.unwrap_or_default(), &target)?;
        let columns = self.columns(raw.columns.unwrap_or_default(), &target, &types)?;
        let split = match raw.split {
            None => SplitFractions {
                train: defaults::SPLIT_TRAIN,
                validation: defaults::SPLIT_VALIDATION,
                test: defaults::SPLIT_TEST,
            },
            Some(split) => self.split(split)?,
        };
        let mut data = DataSpec {
            path: raw.path.into_inner(),
            target,
            task,
            stratify,
            normalize_target,
            features,
            exclude,
            normalize: raw.normalize.unwrap_or(defaults::NORMALIZE),
            missing,
            encode: raw.encode.unwrap_or(defaults::ENCODE),
            unknown: raw.unknown.unwrap_or(defaults::UNKNOWN),
            shuffle,
            split,
            split_column,
            types,
            columns,
            window,
            cross_validation: None,
        };
        if let Some(cross_validation) = raw.cross_validation {
            data.cross_validation = Some(self.cross_validation(cross_validation, &data)?);
        }
        Ok(data)
    }

    /// `data.stratify`: by default for classification split at random by
    /// fractions; refused with `shuffle = false` and for regression.
    fn stratify(
        &self,
        raw: Option<Spanned<bool>>,
        task: Task,
        shuffle: bool,
        split_column: bool,
    ) -> Checked<bool> {
        match raw {
            None => Ok(task.is_classification()
                && shuffle
                && !split_column
                && defaults::STRATIFY_CLASSIFICATION),
            Some(s) if *s.get_ref() && !shuffle => Err(self.fail(
                s.span(),
                "data.stratify",
                "`stratify` draws each class's rows at random, but data.shuffle = false keeps the file's order".into(),
                Some("remove one of them: shuffle = false is for ordered (time series) splits"),
            )),
            Some(s) if *s.get_ref() && !task.is_classification() => Err(self.fail(
                s.span(),
                "data.stratify",
                "`stratify` keeps the classes' proportions in every split, but this spec's task is regression".into(),
                Some("remove it, or set data.task = \"binary\" or \"multiclass\""),
            )),
            Some(s) => Ok(*s.get_ref()),
        }
    }

    /// `data.normalize_target`: regression targets only.
    fn normalize_target(&self, raw: Option<Spanned<Normalize>>, task: Task) -> Checked<Normalize> {
        match raw {
            None => Ok(defaults::NORMALIZE_TARGET),
            Some(n) if task.is_classification() && *n.get_ref() != Normalize::None => Err(self.fail(
                n.span(),
                "data.normalize_target",
                format!("`normalize_target` applies to regression targets; this spec's task is {task}"),
                Some("remove it: class labels are not numbers to scale"),
            )),
            Some(n) => Ok(n.into_inner()),
        }
    }

    /// `[data.types]`: feature columns only.
    fn types(
        &self,
        raw: BTreeMap<String, Spanned<ColumnType>>,
        target: &Targets,
    ) -> Checked<BTreeMap<String, ColumnType>> {
        let mut types = BTreeMap::new();
        for (column, kind) in raw {
            if target.contains(&column) {
                return Err(self.fail(
                    kind.span(),
                    &format!("data.types.{column}"),
                    format!("`{column}` is the target; `data.types` is for feature columns"),
                    Some("the target's type follows data.task: numbers for regression, class labels for classification"),
                ));
            }
            types.insert(column, kind.into_inner());
        }
        Ok(types)
    }

    /// `[data.columns.NAME]`: feature columns only, each checked against its
    /// declared type.
    fn columns(
        &self,
        raw: BTreeMap<String, Spanned<raw::RawColumn>>,
        target: &Targets,
        types: &BTreeMap<String, ColumnType>,
    ) -> Checked<BTreeMap<String, ColumnOptions>> {
        let mut columns = BTreeMap::new();
        for (column, options) in raw {
            let span = options.span();
            let key = format!("data.columns.{column}");
            if target.contains(&column) {
                return Err(self.fail(
                    span,
                    &key,
                    format!("`{column}` is the target; `data.columns` is for feature columns"),
                    Some("rows with an empty target are dropped when data.missing = \"drop\", else they are an error"),
                ));
            }
            let options = self.column_options(options.into_inner(), &key, types.get(&column))?;
            columns.insert(column, options);
        }
        Ok(columns)
    }

    /// `data.target`: one column or (regression) a list, none blank or twice.
    fn targets(&self, raw: Spanned<RawTarget>, task: Task) -> Checked<Targets> {
        let span = raw.span();
        let columns = match raw.into_inner() {
            RawTarget::One(column) => vec![column],
            RawTarget::Many(columns) => columns,
        };
        if columns.is_empty() || columns.iter().any(|c| c.trim().is_empty()) {
            return Err(self.fail(
                span,
                "data.target",
                "`data.target` is empty".into(),
                Some("name the column to predict, e.g. target = \"price\""),
            ));
        }
        if columns.len() > 1 && task.is_classification() {
            return Err(self.fail(
                span,
                "data.target",
                format!(
                    "{task} classification predicts one label column; got {}",
                    columns.len()
                ),
                Some("several targets are for regression; train one classifier per label"),
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        if let Some(dup) = columns.iter().find(|c| !seen.insert(c.as_str())) {
            return Err(self.fail(
                span,
                "data.target",
                format!("column `{dup}` is listed twice in `data.target`"),
                None,
            ));
        }
        Ok(Targets(columns))
    }

    /// `data.features` or `data.exclude`: names or patterns, none twice,
    /// never the target by name.
    fn column_list(
        &self,
        list: Spanned<Vec<String>>,
        key: &str,
        targets: &Targets,
    ) -> Checked<Vec<String>> {
        let span = list.span();
        let list = list.into_inner();
        if list.is_empty() {
            return Err(self.fail(
                span,
                key,
                format!("`{key}` is an empty list"),
                Some(if key == "data.features" {
                    "leave `features` out to use every column but the target"
                } else {
                    "leave `exclude` out to keep every feature"
                }),
            ));
        }
        if let Some(blank) = list.iter().find(|c| c.trim().is_empty()) {
            return Err(self.fail(
                span,
                key,
                format!("`{key}` holds an empty column name {blank:?}"),
                None,
            ));
        }
        if let Some(target) = list.iter().find(|c| targets.contains(c)) {
            return Err(if key == "data.features" {
                self.fail(
                    span,
                    key,
                    format!("the target column `{target}` is also listed as a feature"),
                    Some("remove it from `features`: the model must not see its answer"),
                )
            } else {
                self.fail(
                    span,
                    key,
                    format!("the target column `{target}` is listed in `{key}`"),
                    Some("remove it: the target is never a feature"),
                )
            });
        }
        let mut seen = std::collections::BTreeSet::new();
        if let Some(dup) = list.iter().find(|c| !seen.insert(c.as_str())) {
            return Err(self.fail(
                span,
                key,
                format!("column `{dup}` is listed twice in `{key}`"),
                None,
            ));
        }
        Ok(list)
    }
}
