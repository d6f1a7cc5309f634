//! Build plan resolution (Buildpack API 0.10, "Phase #1: Detection").
//!
//! Each passing buildpack offers its plan (`provides`/`requires`) and any
//! `[[or]]` alternatives. Alternatives are tried in order, earlier buildpacks'
//! choices varying slowest. A combination is valid when every `requires` is
//! provided by the same or an earlier buildpack, and every `provides` is
//! required by the same or a later one. The first valid combination wins.
//! Each provider then receives, as its Buildpack Plan, the requirements it provides.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct PlanSection {
    #[serde(default)]
    pub provides: Vec<Provide>,
    #[serde(default)]
    pub requires: Vec<Require>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct DetectPlan {
    #[serde(default)]
    pub provides: Vec<Provide>,
    #[serde(default)]
    pub requires: Vec<Require>,
    #[serde(default)]
    pub or: Vec<PlanSection>,
}

impl DetectPlan {
    fn alternatives(&self) -> Vec<PlanSection> {
        let mut v = vec![PlanSection {
            provides: self.provides.clone(),
            requires: self.requires.clone(),
        }];
        v.extend(self.or.iter().cloned());
        v
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Provide {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Require {
    pub name: String,
    #[serde(default, skip_serializing_if = "toml::Table::is_empty")]
    pub metadata: toml::Table,
}

/// What one buildpack receives at build (`CNB_BP_PLAN_PATH`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BuildpackPlan {
    pub entries: Vec<Require>,
}

/// Resolve plans of the passing buildpacks (in group order). Returns each
/// buildpack's Buildpack Plan, or a description of why nothing resolves.
pub fn resolve(plans: &[DetectPlan]) -> Result<Vec<BuildpackPlan>, String> {
    let options: Vec<Vec<PlanSection>> = plans.iter().map(DetectPlan::alternatives).collect();
    let mut choice = vec![0usize; options.len()];
    let mut first_problem = None;
    loop {
        let sections: Vec<&PlanSection> =
            choice.iter().zip(&options).map(|(c, o)| &o[*c]).collect();
        match check(&sections) {
            Ok(plans) => return Ok(plans),
            Err(problem) => {
                first_problem.get_or_insert(problem);
            }
        }
        // Next combination: the last buildpack's alternatives vary fastest.
        let mut i = options.len();
        loop {
            if i == 0 {
                return Err(first_problem.unwrap_or_default());
            }
            i -= 1;
            choice[i] += 1;
            if choice[i] < options[i].len() {
                break;
            }
            choice[i] = 0;
        }
    }
}

fn check(sections: &[&PlanSection]) -> Result<Vec<BuildpackPlan>, String> {
    let mut out = vec![BuildpackPlan::default(); sections.len()];
    for (j, section) in sections.iter().enumerate() {
        for req in &section.requires {
            let providers: Vec<usize> = (0..=j)
                .filter(|i| sections[*i].provides.iter().any(|p| p.name == req.name))
                .collect();
            if providers.is_empty() {
                return Err(format!("`{}` is required by buildpack #{} but provided by no buildpack at or before it", req.name, j + 1));
            }
            for i in providers {
                out[i].entries.push(req.clone());
            }
        }
    }
    for (i, section) in sections.iter().enumerate() {
        for p in &section.provides {
            if !(i..sections.len()).any(|j| sections[j].requires.iter().any(|r| r.name == p.name)) {
                return Err(format!(
                    "`{}` is provided by buildpack #{} but required by no buildpack at or after it",
                    p.name,
                    i + 1
                ));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(text: &str) -> DetectPlan {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn an_empty_plan_resolves_to_empty_buildpack_plans() {
        assert_eq!(
            resolve(&[DetectPlan::default(), DetectPlan::default()])
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn requirements_go_to_the_earlier_provider_with_their_metadata() {
        let plans = resolve(&[
            plan("[[provides]]\nname = \"node\"\n"),
            plan("[[requires]]\nname = \"node\"\n[requires.metadata]\nversion = \"20\"\n"),
        ])
        .unwrap();
        assert_eq!(plans[0].entries[0].name, "node");
        assert_eq!(plans[0].entries[0].metadata["version"].as_str(), Some("20"));
        assert!(plans[1].entries.is_empty());
    }

    #[test]
    fn a_requirement_nobody_earlier_provides_fails() {
        let err = resolve(&[
            plan("[[requires]]\nname = \"x\"\n"),
            plan("[[provides]]\nname = \"x\"\n"),
        ])
        .unwrap_err();
        assert!(err.contains("`x` is required by buildpack #1"), "{err}");
    }

    #[test]
    fn an_or_alternative_is_chosen_when_the_primary_plan_does_not_resolve() {
        let plans = resolve(&[plan(
            "[[provides]]\nname = \"unused\"\n[[or]]\n[[or.provides]]\nname = \"self\"\n[[or.requires]]\nname = \"self\"\n",
        )])
        .unwrap();
        assert_eq!(plans[0].entries[0].name, "self");
    }
}
