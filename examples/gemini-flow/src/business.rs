//! The team's business metrics, recorded with the `metrics` crate beside obs's attributes:
//! obs's recorder gives them the prefix, the HELP text described here and the buckets the
//! config names.

/// The gauge of stored workflows.
pub const WORKFLOWS_TOTAL: &str = "workflows_total";
/// The histogram of nodes per saved workflow.
pub const WORKFLOW_NODES: &str = "workflow_nodes";
/// `workflow_nodes`'s buckets, as the team's dashboards read them.
pub const WORKFLOW_NODE_BUCKETS: &[f64] = &[0.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0];

/// Gives both their HELP text, and the gauge its value at start.
pub fn describe(workflows: usize) {
    metrics::describe_gauge!(WORKFLOWS_TOTAL, "Total number of workflows");
    metrics::describe_histogram!(WORKFLOW_NODES, "Number of nodes per workflow");
    workflow_count(workflows);
}

/// A workflow was created or replaced; `count` workflows are stored now.
pub fn workflow_saved(workflow: &super::store::Workflow, count: usize) {
    metrics::histogram!(WORKFLOW_NODES).record(workflow.nodes.len() as f64);
    workflow_count(count);
}

/// `count` workflows are stored now.
pub fn workflow_count(count: usize) {
    metrics::gauge!(WORKFLOWS_TOTAL).set(count as f64);
}
