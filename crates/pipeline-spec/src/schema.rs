//! The spec's JSON Schema, generated from the same serde types the parser
//! uses ([`crate::raw`]), so editors (Taplo / Even Better TOML, with
//! `#:schema ./pipeline.schema.json` on a spec's first line) complete and
//! check exactly what `pipeline` accepts. Draft-07, which Taplo reads.

use schemars::generate::SchemaSettings;

use crate::raw::RawSpec;

/// The schema as JSON.
pub fn json_schema() -> serde_json::Value {
    let generator = SchemaSettings::draft07().into_generator();
    let mut schema = generator.into_root_schema_for::<RawSpec>();
    schema.insert("title".into(), "pipeline experiment spec".into());
    schema.insert(
        "description".into(),
        "A TOML experiment spec for `pipeline run`: data, model, loss, optimizer, training, \
         selection and an optional sweep. Defaults: crates/pipeline-spec/src/defaults.rs."
            .into(),
    );
    schema.to_value()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use std::collections::BTreeSet;
    use std::path::Path;

    use serde_json::Value;

    use super::*;
    use crate::Spec;

    /// A valid spec with every table present, to which a bogus key is added.
    const FULL: &str = r#"
name = "t"
[data]
path = "t.csv"
target = "y"
[data.columns.a]
normalize = "zscore"
[model]
layers = [{ type = "linear", units = 1 }]
[loss]
type = "mse"
[optimizer]
type = "adam"
learning_rate = 1e-3
[optimizer.schedule]
type = "constant"
[train]
epochs = 1
[train.early_stopping]
patience = 1
[selection]
metric = "val_loss"
[sweep]
method = "random"
trials = 2
[sweep.parameters]
"train.epochs" = { values = [1, 2] }
[sweep.pruner]
type = "none"
"#;

    /// The keys the parser accepts in `table` (dotted; "" is the top), read
    /// from its "expected one of" error for an unknown key.
    fn parser_keys(table: &str) -> BTreeSet<String> {
        let text = if table.is_empty() {
            format!("bogus_key = 1\n{FULL}")
        } else if table == "model.layers" {
            FULL.replace(
                r#"{ type = "linear", units = 1 }"#,
                r#"{ type = "linear", units = 1, bogus_key = 1 }"#,
            )
        } else {
            FULL.replace(
                &format!("[{table}]\n"),
                &format!("[{table}]\nbogus_key = 1\n"),
            )
        };
        let message = if table == "model.layers" {
            // serde's own list: the spec's hint for a layer names only the
            // keys of that layer's type.
            match toml::from_str::<RawSpec>(&text) {
                Ok(_) => panic!("{table}: the bogus key was accepted"),
                Err(error) => error.message().to_owned(),
            }
        } else {
            let error = Spec::parse(Path::new("t.toml"), &text, &[]).unwrap_err();
            format!("{error:?}")
        };
        let list = message
            .split("expected one of ")
            .nth(1)
            .unwrap_or_else(|| panic!("{table}: {message}"));
        list.split(", ")
            .map_while(|item| {
                let item = item.trim_start_matches("or ");
                let start = item.find('`')?;
                let end = item[start + 1..].find('`')?;
                Some(item[start + 1..start + 1 + end].to_owned())
            })
            .collect()
    }

    /// The properties the schema gives `table`.
    fn schema_keys(schema: &Value, table: &str) -> BTreeSet<String> {
        let definitions = &schema["definitions"];
        let resolve = |node: &Value| -> Value {
            let mut node = node.clone();
            loop {
                if let Some(reference) = node["$ref"].as_str() {
                    let name = reference.rsplit('/').next().unwrap();
                    node = definitions[name].clone();
                } else if let Some(any) = node["anyOf"].as_array() {
                    // Option<T>: the non-null branch.
                    node = any.iter().find(|n| n["type"] != "null").cloned().unwrap();
                } else {
                    return node;
                }
            }
        };
        let mut node = resolve(schema);
        for part in table.split('.').filter(|p| !p.is_empty()) {
            node = resolve(&node["properties"][part]);
            if node["type"] == "array" {
                node = resolve(&node["items"]);
            }
            if part == "columns" {
                node = resolve(&node["additionalProperties"]);
            }
        }
        assert_eq!(node["additionalProperties"], false, "{table} is closed");
        node["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("{table}: {node}"))
            .keys()
            .cloned()
            .collect()
    }

    #[test]
    fn the_schema_and_the_parser_accept_the_same_keys() {
        let schema = json_schema();
        assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
        for table in [
            "",
            "data",
            "data.columns",
            "model",
            "model.layers",
            "loss",
            "optimizer",
            "optimizer.schedule",
            "train",
            "train.early_stopping",
            "selection",
            "sweep",
            "sweep.pruner",
        ] {
            let parser = parser_keys(if table == "data.columns" {
                "data.columns.a"
            } else {
                table
            });
            assert!(!parser.is_empty(), "[{table}]: {parser:?}");
            assert_eq!(schema_keys(&schema, table), parser, "keys of [{table}]");
        }
    }

    /// Every key of the schema, as the reference writes it: dotted, `NAME`
    /// for a map's keys, `[]` for a list's items.
    fn key_paths(schema: &Value) -> Vec<String> {
        fn walk(schema: &Value, node: &Value, prefix: &str, out: &mut Vec<String>) {
            let definitions = &schema["definitions"];
            let mut node = node.clone();
            loop {
                if let Some(reference) = node["$ref"].as_str() {
                    let name = reference.rsplit('/').next().unwrap();
                    node = definitions[name].clone();
                } else if let Some(any) = node["anyOf"].as_array()
                    && any.iter().any(|n| n["type"] == "null")
                {
                    node = any.iter().find(|n| n["type"] != "null").cloned().unwrap();
                } else {
                    break;
                }
            }
            if let Some(properties) = node["properties"].as_object() {
                for (key, value) in properties {
                    let path = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    out.push(path.clone());
                    walk(schema, value, &path, out);
                }
            }
            if node["additionalProperties"].is_object() {
                walk(
                    schema,
                    &node["additionalProperties"],
                    &format!("{prefix}.NAME"),
                    out,
                );
            }
            if node["items"].is_object() {
                walk(schema, &node["items"], &format!("{prefix}[]"), out);
            }
        }
        let mut out = Vec::new();
        walk(schema, schema, "", &mut out);
        out
    }

    #[test]
    fn the_reference_documents_every_key() {
        let reference = include_str!("../../../experiments/REFERENCE.md");
        let paths = key_paths(&json_schema());
        assert!(paths.len() > 60, "{paths:?}");
        let missing: Vec<&String> = paths
            .iter()
            .filter(|p| !reference.contains(&format!("| `{p}` |")))
            .collect();
        assert!(
            missing.is_empty(),
            "experiments/REFERENCE.md lacks a row for: {missing:?}"
        );
    }

    #[test]
    fn the_schema_knows_the_values() {
        let text = json_schema().to_string();
        for value in [
            "zscore",
            "robust",
            "onehot",
            "rmsprop",
            "one_cycle",
            "huber",
            "conv2d",
            "max_pool1d",
            "batch_norm",
            "embedding",
        ] {
            assert!(text.contains(&format!("\"{value}\"")), "{value}");
        }
    }
}
