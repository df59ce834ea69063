//! Ensembles: an `Ensemble` column combining the point forecasts of a fit's models (their mean
//! or median, step by step), and N-BEATS-style ensembles, whose members are one model trained
//! over several look-back windows, losses and seeds (Oreshkin et al., 2020, combined their 180
//! members by the median).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::forecast::Forecasts;
use crate::losses::Loss;
use crate::models::ModelSpec;

/// The ensemble column's name.
pub const ENSEMBLE_COLUMN: &str = "Ensemble";

/// How the members' forecasts are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Combination {
    /// The mean of the members at each step.
    Mean,
    /// The median of the members at each step (N-BEATS' choice: robust to a poor member).
    Median,
}

crate::train::word_choices!(Combination, "ensemble", "ensembles", {
    Mean => "mean",
    Median => "median",
});

/// An ensemble of a fit's models.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ensemble {
    /// How the members are combined.
    pub combination: Combination,
    /// Keep the members' own columns beside `Ensemble` in the forecasts.
    pub keep_members: bool,
}

impl Ensemble {
    /// Checks that the models `specs` (named `names`) can be combined: at least two, each
    /// making point forecasts, none named `Ensemble`.
    pub fn check(&self, specs: &[ModelSpec], names: &[String]) -> Result<()> {
        if specs.len() < 2 {
            return Err(Error::Config(
                "an ensemble needs at least two models".into(),
            ));
        }
        if let Some((spec, name)) = specs
            .iter()
            .zip(names)
            .find(|(s, _)| !s.train.loss.makes_point_forecasts())
        {
            return Err(Error::Config(format!(
                "an ensemble combines point forecasts, and {name} is trained with {} \
                 (use a point loss such as mae)",
                spec.train.loss
            )));
        }
        if let Some(name) = names.iter().find(|n| n.starts_with(ENSEMBLE_COLUMN)) {
            return Err(Error::Config(format!(
                "a model is named '{name}', like the ensemble's columns: choose another alias"
            )));
        }
        Ok(())
    }

    /// `forecasts` with the `Ensemble` column added after the columns `members`.
    pub fn add_column(&self, mut forecasts: Forecasts, members: &[String]) -> Result<Forecasts> {
        let columns: Vec<&[f64]> = members
            .iter()
            .map(|m| {
                forecasts.column(m).ok_or_else(|| {
                    Error::Config(format!("the ensemble's member column '{m}' is missing"))
                })
            })
            .collect::<Result<_>>()?;
        let mut row = Vec::with_capacity(columns.len());
        let combined = (0..forecasts.len())
            .map(|i| {
                row.clear();
                row.extend(columns.iter().map(|c| c[i]));
                self.combine(&mut row)
            })
            .collect();
        forecasts.columns.push(ENSEMBLE_COLUMN.to_string());
        forecasts.values.push(combined);
        Ok(forecasts)
    }

    /// `forecasts` with only the `Ensemble` column and its interval columns, unless the
    /// members' columns are kept.
    pub fn drop_members(&self, mut forecasts: Forecasts) -> Forecasts {
        if self.keep_members {
            return forecasts;
        }
        let is_ensemble = |column: &str| {
            column
                .strip_prefix(ENSEMBLE_COLUMN)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('-'))
        };
        let (columns, values) = forecasts
            .columns
            .drain(..)
            .zip(forecasts.values.drain(..))
            .filter(|(c, _)| is_ensemble(c))
            .unzip();
        forecasts.columns = columns;
        forecasts.values = values;
        forecasts
    }

    /// The combination of one step's member forecasts (reordered in place).
    fn combine(&self, values: &mut [f64]) -> f64 {
        match self.combination {
            Combination::Mean => values.iter().sum::<f64>() / values.len() as f64,
            Combination::Median => {
                values.sort_by(f64::total_cmp);
                let n = values.len();
                if n % 2 == 1 {
                    values[n / 2]
                } else {
                    (values[n / 2 - 1] + values[n / 2]) / 2.0
                }
            }
        }
    }
}

/// The axes of an N-BEATS-style ensemble: every combination of look-back (a multiple of the
/// horizon), loss and seed. An empty axis keeps the model's own setting.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemberGrid {
    /// Input windows as multiples of the horizon (N-BEATS: 2 to 7).
    pub lookbacks: Vec<usize>,
    /// Training losses by name (N-BEATS: smape, mase, mape).
    pub losses: Vec<String>,
    /// Random seeds.
    pub seeds: Vec<u64>,
}

impl MemberGrid {
    /// True when no axis is given.
    pub fn is_empty(&self) -> bool {
        self.lookbacks.is_empty() && self.losses.is_empty() && self.seeds.is_empty()
    }

    /// The members of each of `specs`: one copy per combination of the axes, named after the
    /// model and the values it varies (`NHITS-in3h-smape-s2`).
    pub fn members(&self, specs: &[ModelSpec]) -> Result<Vec<ModelSpec>> {
        if self.lookbacks.contains(&0) {
            return Err(Error::Config(
                "ensemble look-backs are multiples of the horizon, at least 1".into(),
            ));
        }
        let losses: Vec<(String, Loss)> = self
            .losses
            .iter()
            .map(|l| Ok((l.trim().to_ascii_lowercase(), Loss::parse(l)?)))
            .collect::<Result<_>>()?;
        let axis = |n: usize| {
            if n == 0 {
                vec![None]
            } else {
                (0..n).map(Some).collect()
            }
        };
        let mut members = Vec::new();
        for spec in specs {
            for lookback in axis(self.lookbacks.len()) {
                for loss in axis(losses.len()) {
                    for seed in axis(self.seeds.len()) {
                        let mut member = spec.clone();
                        let mut name = spec.display_name().to_string();
                        if let Some(i) = lookback {
                            member.input_size = self.lookbacks[i] * spec.h;
                            name.push_str(&format!("-in{}h", self.lookbacks[i]));
                        }
                        if let Some(i) = loss {
                            member.train.loss = losses[i].1.clone();
                            name.push_str(&format!("-{}", losses[i].0));
                        }
                        if let Some(i) = seed {
                            member.train.random_seed = self.seeds[i];
                            name.push_str(&format!("-s{}", self.seeds[i]));
                        }
                        member.alias = Some(name);
                        member.validate()?;
                        members.push(member);
                    }
                }
            }
        }
        Ok(members)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forecasts() -> Forecasts {
        Forecasts {
            columns: vec!["A".into(), "A-lo-80".into(), "B".into(), "C".into()],
            ids: vec!["s".into(); 2],
            ds: vec![crate::data::Timestamp::Int(1); 2],
            cutoff: None,
            y: None,
            values: vec![
                vec![1.0, 10.0],
                vec![0.0, 0.0],
                vec![2.0, 40.0],
                vec![6.0, 20.0],
            ],
            ds_style: Default::default(),
            warnings: Vec::new(),
        }
    }

    #[test]
    fn the_ensemble_column_is_the_members_mean_or_median() {
        let members = ["A".to_string(), "B".to_string(), "C".to_string()];
        let mean = Ensemble {
            combination: Combination::Mean,
            keep_members: true,
        };
        let out = mean.add_column(forecasts(), &members).unwrap();
        assert_eq!(out.column("Ensemble").unwrap(), [3.0, 70.0 / 3.0]);
        assert_eq!(out.columns.len(), 5);
        let median = Ensemble {
            combination: Combination::Median,
            keep_members: false,
        };
        let out = median.add_column(forecasts(), &members[..2]).unwrap();
        assert_eq!(out.column("Ensemble").unwrap(), [1.5, 25.0]);
        let out = median.add_column(forecasts(), &members).unwrap();
        assert_eq!(out.column("Ensemble").unwrap(), [2.0, 20.0]);
        let out = median.drop_members(out);
        assert_eq!(out.columns, ["Ensemble"]);
        assert_eq!(out.values.len(), 1);
    }

    #[test]
    fn the_grid_names_every_combination() {
        let spec = ModelSpec::new("NHITS", 6, 12).unwrap();
        let grid = MemberGrid {
            lookbacks: vec![2, 3],
            losses: vec!["smape".into(), "MAE".into()],
            seeds: vec![1, 7],
        };
        let members = grid.members(std::slice::from_ref(&spec)).unwrap();
        assert_eq!(members.len(), 8);
        assert_eq!(members[0].display_name(), "NHITS-in2h-smape-s1");
        assert_eq!(members[7].display_name(), "NHITS-in3h-mae-s7");
        assert_eq!(members[7].input_size, 18);
        assert_eq!(members[7].train.random_seed, 7);
        assert_eq!(members[7].train.loss, Loss::parse("mae").unwrap());
        let seeds_only = MemberGrid {
            seeds: vec![4, 5],
            ..MemberGrid::default()
        };
        let members = seeds_only.members(&[spec]).unwrap();
        assert_eq!(members[1].display_name(), "NHITS-s5");
        assert_eq!(members[1].input_size, 12);
        let bad = MemberGrid {
            losses: vec!["nope".into()],
            ..MemberGrid::default()
        };
        assert!(bad
            .members(&[ModelSpec::new("NHITS", 6, 12).unwrap()])
            .is_err());
    }

    #[test]
    fn only_point_models_combine() {
        let a = ModelSpec::new("NHITS", 6, 12).unwrap();
        let mut q = ModelSpec::new("MLP", 6, 12).unwrap();
        q.set_param("loss", "mqloss:80").unwrap();
        let ensemble = Ensemble {
            combination: Combination::Mean,
            keep_members: false,
        };
        let names = ["NHITS".to_string(), "MLP".to_string()];
        let e = ensemble
            .check(&[a.clone(), q], &names)
            .unwrap_err()
            .to_string();
        assert!(e.contains("MLP is trained with"), "{e}");
        let e = ensemble
            .check(std::slice::from_ref(&a), &names[..1])
            .unwrap_err()
            .to_string();
        assert!(e.contains("at least two models"), "{e}");
        let clash = ["NHITS".to_string(), "Ensemble".to_string()];
        let e = ensemble
            .check(&[a.clone(), a], &clash)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("named 'Ensemble', like the ensemble's columns"),
            "{e}"
        );
    }
}
