//! What each macro accepts and emits, one row per macro. Everything else reads this table: the
//! model checks keys against it, and the expansion takes the subsystem, the label values, the
//! span name, kind and attributes from it.

/// One attribute macro.
#[derive(Debug)]
pub(crate) struct Kind {
    /// The attribute's name, as users write it.
    pub(crate) attr: &'static str,
    /// Its cargo feature; `None` when always on.
    pub(crate) feature: Option<&'static str>,
    /// Its own keys; [`COMMON_KEYS`] are accepted too unless `common` is false.
    pub(crate) keys: &'static [&'static str],
    pub(crate) common: bool,
    /// A key that must be given, with an example value for the error message.
    pub(crate) required: Option<(&'static str, &'static str)>,
    /// What a key left out defaults to.
    pub(crate) defaults: &'static [(&'static str, Default)],
    /// The runtime's `Subsystem` variant, and the keys whose values are the site's label
    /// values, in order. `None`: no metrics of a call site.
    pub(crate) metrics: Option<(&'static str, &'static [&'static str])>,
    /// `None`: no span (and no outcome).
    pub(crate) span: Option<SpanSpec>,
    /// A background job's run: its wait since enqueue, retries and give-ups are recorded too.
    pub(crate) job_run: bool,
}

/// What a key left out takes.
#[derive(Debug)]
pub(crate) enum Default {
    Literal(&'static str),
    /// The instrumented function's name.
    FnName,
    /// The SQL operation the function's name implies; a compile error when it implies none.
    InferredOperation,
    /// Decided by the runtime at the call (the Stellar network).
    Runtime,
}

#[derive(Debug)]
pub(crate) struct SpanSpec {
    /// `otel.kind`.
    pub(crate) kind: &'static str,
    /// The default span name, `{key}` standing for a key's value; `None`: `module::fn`.
    pub(crate) name: Option<&'static str>,
    /// The attributes the expansion sets itself, in order. Users may not set them in `fields`.
    pub(crate) attributes: &'static [(&'static str, AttrValue)],
}

/// Where a span attribute's value comes from.
#[derive(Debug)]
pub(crate) enum AttrValue {
    /// A string key's value (a runtime-default key falls back to the runtime's value).
    Key(&'static str),
    Constant(&'static str),
    /// An expression key's value, recorded with `Display`; left out when the key is.
    Display(&'static str),
    /// The job run's attempt number, `attempt = …` read once as a number from 1; left out
    /// without the key.
    Attempt,
}

/// Keys every macro with a span takes.
pub(crate) const COMMON_KEYS: &[&str] = &["name", "fields", "error_if", "ok_if", "crate"];

use AttrValue::{Constant, Display, Key};

pub(crate) static DB: Kind = Kind {
    attr: "instrument_db",
    feature: Some("db"),
    keys: &["table", "operation", "system", "objective"],
    common: true,
    required: Some(("table", "users")),
    defaults: &[("operation", Default::InferredOperation), ("system", Default::Literal("postgresql"))],
    metrics: Some(("Db", &["operation", "table"])),
    span: Some(SpanSpec {
        kind: "client",
        name: Some("{operation} {table}"),
        attributes: &[
            ("db.system.name", Key("system")),
            ("db.operation.name", Key("operation")),
            ("db.collection.name", Key("table")),
        ],
    }),
    job_run: false,
};

pub(crate) static REDIS: Kind = Kind {
    attr: "instrument_redis",
    feature: Some("redis"),
    keys: &["command", "objective"],
    common: true,
    required: Some(("command", "get")),
    defaults: &[],
    metrics: Some(("Redis", &["command"])),
    span: Some(SpanSpec {
        kind: "client",
        name: Some("{command}"),
        attributes: &[("db.system.name", Constant("redis")), ("db.operation.name", Key("command"))],
    }),
    job_run: false,
};

pub(crate) static QUEUE: Kind = Kind {
    attr: "queue_job",
    feature: Some("queue"),
    keys: &["queue", "job", "id", "parent", "attempt", "max_attempts", "system", "objective"],
    common: true,
    required: Some(("queue", "sessionReminder")),
    defaults: &[("job", Default::FnName), ("system", Default::Literal("in_process"))],
    metrics: Some(("Queue", &["queue", "job"])),
    span: Some(SpanSpec {
        kind: "consumer",
        name: Some("queue.{queue}"),
        attributes: &[
            ("messaging.system", Key("system")),
            ("messaging.destination.name", Key("queue")),
            ("messaging.operation.type", Constant("process")),
            ("job.id", Display("id")),
            ("job.attempt", AttrValue::Attempt),
        ],
    }),
    job_run: true,
};

pub(crate) static STELLAR: Kind = Kind {
    attr: "stellar_call",
    feature: Some("stellar"),
    keys: &["operation", "network", "objective"],
    common: true,
    required: Some(("operation", "loadAccount")),
    defaults: &[("network", Default::Runtime)],
    metrics: Some(("Stellar", &["operation", "network"])),
    span: Some(SpanSpec {
        kind: "client",
        name: Some("stellar.{operation}"),
        attributes: &[("stellar.operation", Key("operation")), ("stellar.network", Key("network"))],
    }),
    job_run: false,
};

pub(crate) static TRACED: Kind = Kind {
    attr: "traced",
    feature: None,
    keys: &[],
    common: true,
    required: None,
    defaults: &[],
    metrics: None,
    span: Some(SpanSpec { kind: "internal", name: None, attributes: &[] }),
    job_run: false,
};

pub(crate) static WS: Kind = Kind {
    attr: "ws_connection",
    feature: Some("ws"),
    // No span and no outcome: nothing but the runtime's path to configure.
    keys: &["crate"],
    common: false,
    required: None,
    defaults: &[],
    metrics: None,
    span: None,
    job_run: false,
};

/// How a key's value is written and what it becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyType {
    /// A string literal that becomes a label value or span attribute: identifier-safe.
    Label,
    /// Any expression, evaluated at the call.
    Expr,
    /// The span name: a non-empty string literal.
    SpanName,
    /// `fields(key = value, …)`.
    Fields,
    /// The path of a `fn(&Return) -> bool`.
    Predicate,
    /// A string literal holding the path to obs-runtime.
    Crate,
    /// The path of a `const` or `static` `obs_runtime::Objective`.
    Objective,
}

pub(crate) fn key_type(key: &str) -> KeyType {
    match key {
        "id" | "parent" | "attempt" | "max_attempts" => KeyType::Expr,
        "name" => KeyType::SpanName,
        "fields" => KeyType::Fields,
        "error_if" | "ok_if" => KeyType::Predicate,
        "crate" => KeyType::Crate,
        "objective" => KeyType::Objective,
        _ => KeyType::Label,
    }
}

impl Kind {
    /// Every key this macro accepts, its own first.
    pub(crate) fn accepted(&self) -> impl Iterator<Item = &'static str> + '_ {
        let common = if self.common { COMMON_KEYS } else { &[] };
        self.keys.iter().chain(common.iter().filter(|key| !self.keys.contains(key))).copied()
    }

    /// Whether its cargo feature is on; off, the macro returns the function unchanged.
    pub(crate) fn enabled(&self) -> bool {
        match self.feature {
            Some("db") => cfg!(feature = "db"),
            Some("redis") => cfg!(feature = "redis"),
            Some("queue") => cfg!(feature = "queue"),
            Some("stellar") => cfg!(feature = "stellar"),
            Some("ws") => cfg!(feature = "ws"),
            _ => true,
        }
    }

    /// The span attributes the expansion sets itself.
    pub(crate) fn span_attributes(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.span.iter().flat_map(|span| span.attributes.iter().map(|(name, _)| *name))
    }
}
