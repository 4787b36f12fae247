"""Which function and handler answers each published conformance requirement.

One row per requirement id: the function name the local service registers, the
handler (``module:attribute``) it runs, and the invoker it needs (``subprocess``
for the requirements whose step kills the process with ``os._exit``); and the
target functions the invoke requirements call. Suites whose operation this SDK
does not have yet are declared NOT_IMPLEMENTED with a reason. The runner and a
human reader follow this one table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Invoker = Literal["in_process", "subprocess"]


@dataclass(frozen=True)
class Target:
    """A function the invoke requirements call through ``ctx.invoke``; the
    validator does not know it, the local service registers it beside them."""

    function: str
    handler: str
    tenant_isolation_mode: str | None = None


ECHO_TARGET = Target("conformance-target-echo", "conformance.handlers.invoke:echo_target")
FAILING_TARGET = Target("conformance-target-fails", "conformance.handlers.invoke:failing_target")
MEASURING_TARGET = Target(
    "conformance-target-measure", "conformance.handlers.invoke:measuring_target"
)
# 5-8 invokes "a target function with tenant isolation": the echo, PER_TENANT.
TENANT_ECHO_TARGET = Target(
    "conformance-target-tenant-echo", "conformance.handlers.invoke:echo_target", "PER_TENANT"
)
TARGETS: tuple[Target, ...] = (ECHO_TARGET, FAILING_TARGET, MEASURING_TARGET, TENANT_ECHO_TARGET)


@dataclass(frozen=True)
class Requirement:
    """One requirement id bound to the function that answers it."""

    id: str
    suite: str
    function: str
    handler: str
    invoker: Invoker = "in_process"


def _rows(suite: str, module: str, rows: list[tuple[str, str]]) -> list[Requirement]:
    crashing = {"1-17", "1-18", "3-12"}
    return [
        Requirement(
            id=rid,
            suite=suite,
            function=f"conformance-{rid}-{attr.replace('_', '-')}",
            handler=f"conformance.handlers.{module}:{attr}",
            invoker="subprocess" if rid in crashing else "in_process",
        )
        for rid, attr in rows
    ]


REQUIREMENTS: tuple[Requirement, ...] = (
    *_rows(
        "step",
        "step",
        [
            ("1-1", "step_basic"),
            ("1-2", "step_named"),
            ("1-3", "step_sequential"),
            ("1-4", "step_complex_result"),
            ("1-5", "step_null_result"),
            ("1-6", "step_custom_serializer"),
            ("1-7", "step_context_logger"),
            ("1-8", "step_then_wait"),
            ("1-9", "step_replay_skips_succeeded"),
            ("1-10", "step_replay_rethrows_failed"),
            ("1-11", "step_retry_then_succeed"),
            ("1-12", "step_retry_exhausted"),
            ("1-13", "step_default_retry"),
            ("1-14", "step_custom_backoff"),
            ("1-15", "step_retry_transient_only"),
            ("1-16", "step_no_retry_on_transient"),
            ("1-17", "step_at_most_once_crash"),
            ("1-18", "step_at_most_once_crash_then_retry"),
            ("1-19", "step_fails"),
            ("1-20", "step_failure_caught"),
        ],
    ),
    *_rows(
        "wait",
        "wait",
        [
            ("2-1", "wait_basic"),
            ("2-2", "wait_named"),
            ("2-3", "wait_sequential"),
            ("2-4", "wait_minutes"),
            ("2-5", "wait_hours"),
        ],
    ),
    *_rows(
        "child",
        "child",
        [
            ("3-1", "child_basic"),
            ("3-2", "child_named"),
            ("3-3", "child_sequential_steps"),
            ("3-4", "child_step_fails"),
            ("3-5", "child_failure_caught"),
            ("3-6", "child_nested"),
            ("3-7", "child_step_retry"),
            ("3-8", "child_step_retry_exhausted"),
            ("3-9", "child_replay_cached"),
            ("3-10", "child_step_and_wait"),
            ("3-11", "child_large_result"),
            ("3-12", "child_crash_in_step"),
            ("3-13", "child_wait_only"),
            ("3-14", "child_custom_serializer"),
            ("3-15", "child_raises_directly"),
            ("3-16", "child_returns_none"),
            ("3-17", "child_logger_only"),
            ("3-18", "child_mixed_then_outer"),
        ],
    ),
    *_rows(
        "callback",
        "callback",
        [
            ("4-1", "callback_basic"),
            ("4-2", "callback_named"),
            ("4-3", "callback_timeout"),
            ("4-4", "callback_heartbeat_timeout"),
            ("4-5", "callback_heartbeat_then_success"),
            ("4-6", "callback_failure"),
            ("4-7", "callback_step_then_failure"),
            ("4-8", "callback_step_then_timeout"),
            ("4-9", "callback_wait_then_success"),
            ("4-10", "callback_wait_then_failure"),
            ("4-11", "callback_wait_then_timeout"),
            ("4-12", "callback_success_then_wait"),
            ("4-13", "callback_failure_caught_then_wait"),
            ("4-14", "callback_timeout_caught_then_wait"),
            ("4-15", "callback_custom_deserializer"),
            ("4-16", "callback_numeric_deserializer"),
            ("4-17", "callback_two_sequential"),
            ("4-18", "callback_two_in_order"),
            ("4-19", "callback_two_reverse_order"),
        ],
    ),
    *_rows(
        "invoke",
        "invoke",
        [
            ("5-1", "invoke_basic"),
            ("5-2", "invoke_named"),
            ("5-3", "invoke_complex_object"),
            ("5-4", "invoke_null"),
            ("5-5", "invoke_target_fails"),
            ("5-6", "invoke_target_fails_caught"),
            ("5-7", "invoke_large_payload"),
            ("5-8", "invoke_tenant"),
            ("5-9", "invoke_then_wait"),
            ("5-10", "invoke_failure_caught_then_wait"),
            ("5-11", "step_then_invoke"),
            ("5-12", "invoke_then_step"),
            ("5-13", "invoke_in_child"),
            ("5-14", "invoke_two_sequential"),
            ("5-15", "invoke_custom_payload_serializer"),
            ("5-16", "invoke_custom_result_serializer"),
        ],
    ),
    *_rows(
        "wait_for_callback",
        "wait_for_callback",
        [
            ("7-1", "wfc_basic"),
            ("7-2", "wfc_named"),
            ("7-3", "wfc_anonymous"),
            ("7-4", "wfc_failure"),
            ("7-5", "wfc_timeout"),
            ("7-6", "wfc_failure_caught"),
            ("7-7", "wfc_submitter_retry_exhausted"),
            ("7-8", "wfc_in_child"),
            ("7-9", "wfc_two_sequential"),
            ("7-10", "wfc_after_wait_and_step"),
            ("7-11", "wfc_json_result"),
            ("7-12", "wfc_heartbeat_timeout"),
            ("7-13", "wfc_heartbeat_then_success"),
            ("7-14", "wfc_timeout_caught"),
            ("7-15", "wfc_empty_result"),
        ],
    ),
    *_rows(
        "wait_for_condition",
        "wait_for_condition",
        [
            ("6-1", "wfcond_basic"),
            ("6-2", "wfcond_immediate"),
            ("6-3", "wfcond_named"),
            ("6-4", "wfcond_initial_state"),
            ("6-5", "wfcond_fixed_delay"),
            ("6-6", "wfcond_max_attempts"),
            ("6-7", "wfcond_check_fails"),
            ("6-8", "wfcond_check_fails_caught"),
            ("6-9", "wfcond_complex_state"),
            ("6-10", "wfcond_null_result"),
            ("6-11", "wfcond_custom_serializer"),
            ("6-12", "wfcond_then_step"),
            ("6-13", "wfcond_two_sequential"),
        ],
    ),
    *_rows(
        "parallel",
        "parallel",
        [
            ("8-1", "parallel_basic"),
            ("8-2", "parallel_unnamed"),
            ("8-3", "parallel_named_branches"),
            ("8-4", "parallel_mixed_types"),
            ("8-5", "parallel_empty"),
            ("8-6", "parallel_fail_fast"),
            ("8-7", "parallel_throw_if_error"),
            ("8-8", "parallel_min_successful"),
            ("8-9", "parallel_tolerated_count"),
            ("8-10", "parallel_tolerated_count_exceeded"),
            ("8-11", "parallel_concurrent"),
            ("8-12", "parallel_flat"),
            ("8-13", "parallel_tolerated_percentage_exceeded"),
            ("8-14", "parallel_replay_across_wait"),
            ("8-15", "parallel_item_serializer"),
            ("8-16", "parallel_all_fail_tolerated"),
            ("8-17", "parallel_min_successful_unmet"),
            ("8-18", "parallel_tolerance_before_min"),
            ("8-19", "parallel_bad_concurrency"),
            ("8-20", "parallel_accessors"),
            ("8-21", "parallel_nested"),
            ("8-22", "parallel_percentage_boundary"),
        ],
    ),
    *_rows(
        "map",
        "map",
        [
            ("9-1", "map_basic"),
            ("9-2", "map_unnamed"),
            ("9-3", "map_with_index"),
            ("9-4", "map_empty"),
            ("9-5", "map_fail_fast"),
            ("9-6", "map_throw_if_error"),
            ("9-7", "map_min_successful"),
            ("9-8", "map_tolerated_count"),
            ("9-9", "map_tolerated_count_exceeded"),
            ("9-10", "map_tolerated_percentage_exceeded"),
            ("9-11", "map_concurrent"),
            ("9-12", "map_flat"),
            ("9-13", "map_item_namer"),
            ("9-14", "map_item_serializer"),
            ("9-15", "map_replay_across_wait"),
            ("9-16", "map_large_result"),
            ("9-17", "map_then_wait"),
            ("9-18", "map_failure_then_wait"),
            ("9-19", "map_operation_serializer"),
            ("9-20", "map_operation_serializer_replay"),
        ],
    ),
    *_rows(
        "plugin",
        "plugin",
        [
            ("10-1", "plugin_invocation_hooks"),
            ("10-2", "plugin_operation_hooks"),
            ("10-3", "plugin_attempt_hooks"),
            ("10-4", "plugin_error_isolation"),
            ("10-5", "plugin_multiple"),
            ("10-6", "plugin_first_invocation_flag"),
            ("10-7", "plugin_sees_failure"),
            ("10-8", "plugin_operation_change"),
            ("10-9", "plugin_updated_on_invoke"),
            ("10-10", "plugin_wait_operation_hooks"),
            ("10-11", "plugin_parent_linkage"),
            ("10-12", "plugin_branch_hooks"),
            ("10-13", "plugin_replay_flag"),
            ("10-14", "plugin_end_payload"),
            ("10-15", "plugin_retry_exhaustion"),
            ("10-16", "plugin_end_on_suspension"),
            ("10-17", "plugin_faulty_beside_healthy"),
            ("10-18", "plugin_pending_wait_replay"),
        ],
    ),
    *_rows(
        "plugin",
        "plugin_shapes",
        [
            ("10-19", "plugin_invocation_info_shape"),
            ("10-20", "plugin_operation_info_shape"),
            ("10-21", "plugin_attempt_info_shape"),
            ("10-22", "plugin_operation_change_shape"),
            ("10-23", "plugin_context_info_shape"),
        ],
    ),
)

# Suites whose operation this SDK does not have yet: every requirement id of the
# suite (found in the validator's YAML tree) is reported NOT_IMPLEMENTED.
NOT_IMPLEMENTED: dict[str, str] = {}

BY_ID: dict[str, Requirement] = {r.id: r for r in REQUIREMENTS}
