//! The same table in every shape a platform wants it.

use crate::table::ProcessTable;
use libcnb_data::launch::{Launch, LaunchBuilder, ProcessBuilder, ProcessType};
use serde::Serialize;
use std::fmt::Write as _;

impl ProcessTable {
    /// The CNB launch processes, as libcnb-data's own types: `bash -c <command>`,
    /// as heroku/procfile does, so `$PORT` and env prefixes work; names
    /// unchanged. A name the CNB spec refuses is the error (the Procfile's own
    /// name rule is the same, so a table that loaded never has one).
    pub fn launch(&self) -> Result<Launch, String> {
        let default = self.default_process();
        let mut launch = LaunchBuilder::new();
        for p in &self.processes {
            let kind: ProcessType = p.name.parse().map_err(|_| p.name.clone())?;
            launch.process(
                ProcessBuilder::new(kind, ["bash", "-c", p.command.as_str()])
                    .default(Some(p.name.as_str()) == default)
                    .build(),
            );
        }
        Ok(launch.build())
    }

    /// `launch.toml` text (what a CNB writes to `$CNB_LAYERS_DIR/launch.toml`).
    pub fn launch_toml(&self) -> Result<String, String> {
        self.launch()
            .map(|l| toml::to_string(&l).expect("launch.toml serializes"))
    }

    /// Classic `bin/release` output: YAML with `default_process_types`.
    pub fn classic_release_yaml(&self) -> String {
        #[derive(Serialize)]
        struct Release {
            default_process_types: yaml_serde::Mapping,
        }
        // Table order, not alphabetical: the YAML reads like the Procfile.
        let types = self
            .processes
            .iter()
            .map(|p| (p.name.clone().into(), p.command.clone().into()))
            .collect();
        format!(
            "---\n{}",
            yaml_serde::to_string(&Release {
                default_process_types: types
            })
            .expect("release YAML serializes")
        )
    }

    /// A heroku.yml `run:` section (and `release:` when the table has one).
    /// The container stack runs these with the image's `/bin/sh`, so a command
    /// that needs bash (a Procfile's `[[ ... ]] && a || b`) is written
    /// `bash -c '<command>'`: it runs as written there too
    /// ([`crate::shell::for_container_stack`]).
    pub fn heroku_yml_run(&self) -> String {
        let mut out = String::new();
        if let Some(release) = self.get("release") {
            let _ = writeln!(
                out,
                "release:\n  image: web\n  command:\n    - {}",
                yaml_scalar(&crate::shell::for_container_stack(&release.command))
            );
        }
        out.push_str("run:\n");
        for p in self.processes.iter().filter(|p| p.name != "release") {
            let command = crate::shell::for_container_stack(&p.command);
            let _ = writeln!(out, "  {}: {}", p.name, yaml_scalar(&command));
        }
        out
    }

    /// An app.json-style `formation` section.
    pub fn app_json_formation(&self) -> serde_json::Value {
        let formation: serde_json::Map<String, serde_json::Value> = self
            .processes
            .iter()
            .filter(|p| p.name != "release")
            .map(|p| {
                (
                    p.name.clone(),
                    serde_json::json!({ "quantity": p.formation.quantity, "size": p.formation.size }),
                )
            })
            .collect();
        serde_json::json!({ "formation": formation })
    }

    /// The full table as TOML: what the process-table buildpack stores in its
    /// launch layer (`$SLIPWAY_PROCESS_TABLE`, crates/procfile/SPEC.md).
    pub fn metadata_toml(&self) -> String {
        toml::to_string(self).expect("process table serializes")
    }

    /// The table for humans, one type per line, in Heroku's build-output style.
    pub fn human_table(&self) -> String {
        let width = self
            .processes
            .iter()
            .map(|p| p.name.len())
            .max()
            .unwrap_or(0);
        let default = self.default_process();
        let mut out = String::new();
        for p in &self.processes {
            let marker = if Some(p.name.as_str()) == default {
                " (default)"
            } else {
                ""
            };
            let queues = p
                .celery
                .as_ref()
                .filter(|c| !c.queues.is_empty())
                .map(|c| format!(" queues={}", c.queues.join(",")))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "{:width$}  {} x{} [{}]{queues}  ({}){marker}\n{:width$}  $ {}",
                p.name,
                p.formation.size,
                p.formation.quantity,
                p.formation.bounds_text(),
                p.origin.describe(),
                "",
                p.command,
            );
        }
        out
    }
}

fn yaml_scalar(s: &str) -> String {
    yaml_serde::to_string(s)
        .expect("string serializes")
        .trim_end()
        .to_string()
}

/// Read back what [`ProcessTable::metadata_toml`] wrote (the round trip the
/// tests hold the stored format to).
#[cfg(test)]
pub(crate) fn from_metadata_toml(text: &str) -> Result<ProcessTable, toml::de::Error> {
    toml::from_str(text)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_stored_table_reads_back_as_the_same_table() {
        let refapp = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/refapp");
        let table = crate::load(std::path::Path::new(refapp)).unwrap().table;
        assert!(table.processes.iter().any(|p| p.celery.is_some()));
        let back = super::from_metadata_toml(&table.metadata_toml()).unwrap();
        assert_eq!(back, table);
    }
}
