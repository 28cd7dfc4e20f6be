//! `pipeline schema`: the JSON Schema of a spec on stdout, for editors.
//! Save it beside the specs and name it on a spec's first line
//! (`#:schema ./pipeline.schema.json`) for completion and checks in Taplo /
//! Even Better TOML.

use crate::commands::shared::print;

pub fn schema() -> anyhow::Result<()> {
    let schema = pipeline_spec::json_schema();
    print(&format!("{}\n", serde_json::to_string_pretty(&schema)?))
}
