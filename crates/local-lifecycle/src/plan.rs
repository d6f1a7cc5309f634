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
pub(crate) struct PlanSection {
    #[serde(default)]
    pub(crate) provides: Vec<Provide>,
    #[serde(default)]
    pub(crate) requires: Vec<Require>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub(crate) struct DetectPlan {
    #[serde(default)]
    pub(crate) provides: Vec<Provide>,
    #[serde(default)]
    pub(crate) requires: Vec<Require>,
    #[serde(default)]
    pub(crate) or: Vec<PlanSection>,
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
pub(crate) struct Provide {
    pub(crate) name: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub(crate) struct Require {
    pub(crate) name: String,
    #[serde(default, skip_serializing_if = "toml::Table::is_empty")]
    pub(crate) metadata: toml::Table,
}

/// What one buildpack receives at build (`CNB_BP_PLAN_PATH`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct BuildpackPlan {
    pub(crate) entries: Vec<Require>,
}

/// Resolve plans of the passing buildpacks (in group order), none optional.
/// Returns each buildpack's Buildpack Plan, or why nothing resolves.
#[cfg(test)]
fn resolve(plans: &[DetectPlan]) -> Result<Resolved, String> {
    resolve_with_optional(plans, &vec![false; plans.len()]).map(|(_, resolved)| resolved)
}

/// The lifecycle's trials (`phase/detector.go`, `runTrials`, `runTrial`):
/// every combination of the buildpacks' plan alternatives, the last
/// buildpack's varying fastest; in a trial, an optional buildpack whose
/// requirement or provision is unmet leaves the trial (only in its last
/// alternative, as `detectResult.options` marks it), a non-optional one
/// fails it. Returns the participating buildpacks (positions in `plans`)
/// and their resolved plan, indexed by participant.
pub(crate) fn resolve_with_optional(
    plans: &[DetectPlan],
    optional: &[bool],
) -> Result<(Vec<usize>, Resolved), String> {
    let options: Vec<Vec<PlanSection>> = plans.iter().map(DetectPlan::alternatives).collect();
    let mut choice = vec![0usize; options.len()];
    let mut first_problem = None;
    loop {
        let mut trial: Vec<usize> = (0..options.len()).collect();
        let outcome = loop {
            if trial.is_empty() {
                break Err("no buildpack is left in the group".to_string());
            }
            let sections: Vec<&PlanSection> =
                trial.iter().map(|&i| &options[i][choice[i]]).collect();
            match check(&sections) {
                Ok(resolved) => break Ok(resolved),
                Err((pos, problem)) => {
                    let i = trial[pos];
                    if optional[i] && choice[i] + 1 == options[i].len() {
                        trial.remove(pos);
                    } else {
                        break Err(problem);
                    }
                }
            }
        };
        match outcome {
            Ok(resolved) => return Ok((trial, resolved)),
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

/// One entry of the resolved plan (the lifecycle's `plan.toml` `[[entries]]`):
/// the buildpacks (by position in the group) that provide a name, and every
/// requirement of it. Each provider receives all of the entry's requirements.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PlanEntry {
    pub(crate) providers: Vec<usize>,
    pub(crate) requires: Vec<Require>,
}

/// A resolved plan: the entries, and what each buildpack of the group receives.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Resolved {
    pub(crate) entries: Vec<PlanEntry>,
    pub(crate) plans: Vec<BuildpackPlan>,
}

/// The lifecycle's resolution of one trial (github.com/buildpacks/lifecycle
/// v0.21.0, `phase/detector.go`: `newDepMap`, `provide`, `require`): in group
/// order, a buildpack's provides wait for a requirer; a require takes every
/// provide waiting so far as the entry's providers (and keeps earlier ones), or
/// is unmet when there are none yet; a provide still waiting at the end is unmet.
fn check(sections: &[&PlanSection]) -> Result<Resolved, (usize, String)> {
    struct Dep {
        name: String,
        entry: PlanEntry,
        waiting: Vec<usize>,
    }
    let mut deps: Vec<Dep> = Vec::new();
    let dep = |deps: &mut Vec<Dep>, name: &str| -> usize {
        if let Some(i) = deps.iter().position(|d| d.name == name) {
            return i;
        }
        deps.push(Dep {
            name: name.to_string(),
            entry: PlanEntry {
                providers: Vec::new(),
                requires: Vec::new(),
            },
            waiting: Vec::new(),
        });
        deps.len() - 1
    };
    for (j, section) in sections.iter().enumerate() {
        for p in &section.provides {
            let d = dep(&mut deps, &p.name);
            deps[d].waiting.push(j);
        }
        for req in &section.requires {
            let i = dep(&mut deps, &req.name);
            let d = &mut deps[i];
            let waiting = std::mem::take(&mut d.waiting);
            d.entry.providers.extend(waiting);
            if d.entry.providers.is_empty() {
                return Err((j, format!("`{}` is required by buildpack #{} but provided by no buildpack at or before it", req.name, j + 1)));
            }
            d.entry.requires.push(req.clone());
        }
    }
    if let Some(d) = deps.iter().find(|d| !d.waiting.is_empty()) {
        return Err((
            d.waiting[0],
            format!(
                "`{}` is provided by buildpack #{} but required by no buildpack at or after it",
                d.name,
                d.waiting[0] + 1
            ),
        ));
    }
    let entries: Vec<PlanEntry> = deps.into_iter().map(|d| d.entry).collect();
    let mut plans = vec![BuildpackPlan::default(); sections.len()];
    for entry in &entries {
        for &i in &entry.providers {
            plans[i].entries.extend(entry.requires.iter().cloned());
        }
    }
    Ok(Resolved { entries, plans })
}

impl Resolved {
    /// What buildpack `i` receives at build: every requirement of every entry
    /// it provides that no earlier buildpack met (`Plan.Find` on the filtered plan).
    pub(crate) fn plan_for(&self, i: usize) -> BuildpackPlan {
        BuildpackPlan {
            entries: self
                .entries
                .iter()
                .filter(|e| e.providers.contains(&i))
                .flat_map(|e| e.requires.iter().cloned())
                .collect(),
        }
    }

    /// After a buildpack's build: every name it received and did not list in
    /// `build.toml`'s `[[unmet]]` is met, and the entries requiring it go
    /// (`phase/builder.go`, `Plan.Filter`): later providers do not receive them.
    pub(crate) fn meet(&mut self, received: &BuildpackPlan, unmet: &[String]) {
        let met: Vec<&str> = received
            .entries
            .iter()
            .map(|e| e.name.as_str())
            .filter(|n| !unmet.iter().any(|u| u == n))
            .collect();
        self.entries
            .retain(|e| !e.requires.iter().any(|r| met.contains(&r.name.as_str())));
    }
}

/// `<layers>/group.toml` as the lifecycle's detector writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct GroupToml {
    #[serde(default)]
    pub(crate) group: Vec<GroupElement>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct GroupElement {
    pub(crate) id: String,
    pub(crate) version: String,
    pub(crate) api: String,
}

/// `<layers>/plan.toml` as the lifecycle's detector writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PlanToml {
    #[serde(default)]
    pub(crate) entries: Vec<PlanTomlEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PlanTomlEntry {
    #[serde(default)]
    pub(crate) providers: Vec<PlanProvider>,
    #[serde(default)]
    pub(crate) requires: Vec<Require>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PlanProvider {
    pub(crate) id: String,
    pub(crate) version: String,
}

impl PlanToml {
    /// The resolved plan in the lifecycle's format, providers named from `group`.
    pub(crate) fn new(resolved: &Resolved, group: &GroupToml) -> Self {
        Self {
            entries: resolved
                .entries
                .iter()
                .map(|e| PlanTomlEntry {
                    providers: e
                        .providers
                        .iter()
                        .map(|&i| PlanProvider {
                            id: group.group[i].id.clone(),
                            version: group.group[i].version.clone(),
                        })
                        .collect(),
                    requires: e.requires.clone(),
                })
                .collect(),
        }
    }
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
                .plans
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
        .unwrap()
        .plans;
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
        .unwrap()
        .plans;
        assert_eq!(plans[0].entries[0].name, "self");
    }

    #[test]
    fn a_later_provider_receives_every_requirement_of_the_entry_as_the_lifecycle_gives_it() {
        // A provides x, B requires x, C provides x, D requires x: the entry's
        // providers are A and C, and both receive B's and D's requirements.
        let r = resolve(&[
            plan("[[provides]]\nname = \"x\"\n"),
            plan("[[requires]]\nname = \"x\"\n[requires.metadata]\nfrom = \"b\"\n"),
            plan("[[provides]]\nname = \"x\"\n"),
            plan("[[requires]]\nname = \"x\"\n[requires.metadata]\nfrom = \"d\"\n"),
        ])
        .unwrap();
        assert_eq!(r.entries.len(), 1);
        assert_eq!(r.entries[0].providers, vec![0, 2]);
        for provider in [0, 2] {
            let from: Vec<_> = r.plans[provider]
                .entries
                .iter()
                .map(|e| e.metadata["from"].as_str().unwrap())
                .collect();
            assert_eq!(from, ["b", "d"], "buildpack #{}", provider + 1);
        }
        assert!(r.plans[1].entries.is_empty() && r.plans[3].entries.is_empty());
    }
}
