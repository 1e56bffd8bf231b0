//! The five functions by name, and the stages of the stream between them:
//! what a platform, its configuration and its deployment say a process
//! runs, apart from how the functions are built.

use tailor_core::ports::{Meter, Topic};
use tailor_core::report::InvocationReport;

/// A function a process may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Function {
    /// Decode, validate, minimize, gate, de-duplicate, route.
    Ingest,
    /// Identity resolution.
    Enrich,
    /// Online features.
    Features,
    /// Consent propagation.
    Consent,
    /// Decisions.
    Score,
}

impl Function {
    /// Every function.
    pub const ALL: [Self; 5] = [
        Self::Ingest,
        Self::Enrich,
        Self::Features,
        Self::Consent,
        Self::Score,
    ];

    /// The four stream functions: what a run without decisions needs.
    pub const STREAM: [Self; 4] = [Self::Ingest, Self::Enrich, Self::Features, Self::Consent];

    /// The function's name in reports, dead letters and logs.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Ingest => "ingest",
            Self::Enrich => "enrich",
            Self::Features => "features",
            Self::Consent => "consent",
            Self::Score => "score",
        }
    }

    /// The report of one request the function answered: one record in,
    /// and `meter`, what the store did for it.
    #[must_use]
    pub fn answered(self, meter: Meter) -> InvocationReport {
        let mut report = InvocationReport::new(self.name());
        report.records_in = 1;
        report.meter(meter);
        report
    }

    /// The function by its name (`ingest`, `enrich`, …).
    #[must_use]
    pub fn named(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The stage it runs over batches of records; score answers requests
    /// instead.
    #[must_use]
    pub const fn stage(self) -> Option<Stage> {
        match self {
            Self::Ingest => Some(Stage::Ingest),
            Self::Enrich => Some(Stage::Enrich),
            Self::Features => Some(Stage::Features),
            Self::Consent => Some(Stage::Consent),
            Self::Score => None,
        }
    }

    /// Whether this build holds the function (its feature of this crate).
    #[must_use]
    pub const fn built(self) -> bool {
        match self {
            Self::Ingest => cfg!(feature = "ingest"),
            Self::Enrich => cfg!(feature = "enrich"),
            Self::Features => cfg!(feature = "features"),
            Self::Consent => cfg!(feature = "consent"),
            Self::Score => cfg!(feature = "score"),
        }
    }

    /// The topics it publishes to.
    #[must_use]
    pub const fn outputs(self) -> &'static [Topic] {
        match self.stage() {
            Some(stage) => stage.outputs(),
            None => &[],
        }
    }
}

/// The stream functions: each takes a batch of records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// Raw events in, accepted events out to [`Topic::Ingested`].
    Ingest,
    /// [`Topic::Ingested`] in; [`Topic::Enriched`] and [`Topic::ConsentChanges`] out.
    Enrich,
    /// [`Topic::Enriched`] in.
    Features,
    /// [`Topic::ConsentChanges`] in.
    Consent,
}

impl Stage {
    /// The stages in pipeline order.
    pub const ALL: [Self; 4] = [Self::Ingest, Self::Enrich, Self::Features, Self::Consent];

    /// The function.
    #[must_use]
    pub const fn function(self) -> Function {
        match self {
            Self::Ingest => Function::Ingest,
            Self::Enrich => Function::Enrich,
            Self::Features => Function::Features,
            Self::Consent => Function::Consent,
        }
    }

    /// The function's name.
    #[must_use]
    pub const fn name(self) -> &'static str {
        self.function().name()
    }

    /// The topic the stage reads, if it reads one (ingest reads producers).
    #[must_use]
    pub const fn input(self) -> Option<Topic> {
        match self {
            Self::Ingest => None,
            Self::Enrich => Some(Topic::Ingested),
            Self::Features => Some(Topic::Enriched),
            Self::Consent => Some(Topic::ConsentChanges),
        }
    }

    /// The topics the stage publishes to.
    #[must_use]
    pub const fn outputs(self) -> &'static [Topic] {
        match self {
            Self::Ingest => &[Topic::Ingested],
            Self::Enrich => &[Topic::Enriched, Topic::ConsentChanges],
            Self::Features | Self::Consent => &[],
        }
    }
}

#[cfg(all(
    test,
    feature = "ingest",
    feature = "enrich",
    feature = "features",
    feature = "consent",
))]
mod tests {
    use super::Function;

    #[test]
    fn each_function_is_named_as_its_crate_names_itself() {
        let named = [
            (Function::Ingest, tailor_ingest::NAME),
            (Function::Enrich, tailor_enrich::NAME),
            (Function::Features, tailor_features::NAME),
            (Function::Consent, tailor_consent::NAME),
            (Function::Score, tailor_score::NAME),
        ];
        for (function, name) in named {
            assert_eq!(function.name(), name);
            assert_eq!(Function::named(name), Some(function));
        }
    }
}
