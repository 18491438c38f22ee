//! The team's objectives: two journeys on their routes, and the workflow store they depend on.

use std::time::Duration;

use obs_runtime::Objective;

/// Building workflows in the editor: 99.5 % of the workflow routes' requests succeed, 99 %
/// within 500 ms (a bound of the team's HTTP buckets).
pub const WORKFLOWS: Objective = Objective::new("workflows", 99.5)
    .latency(Duration::from_millis(500), 99.0)
    .description("Users can list, open, save and delete workflows: the /api/workflows routes.");

/// Editor sessions: 99 % of session requests succeed.
pub const EDITOR_SESSIONS: Objective =
    Objective::new("editor_sessions", 99.0).description("Users can open and close editor sessions.");

/// The JSON-file store every route reads and writes: 99.9 % of its operations succeed.
pub const WORKFLOW_STORE: Objective =
    Objective::new("workflow_store", 99.9).description("The workflow store reads and writes its file.");
