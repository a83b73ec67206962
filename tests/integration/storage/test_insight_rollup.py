"""The insight figures, rollup and its refresh on MariaDB too (the storage suites run on every database; the
insight suite itself runs on SQLite and PostgreSQL): the same tests, imported."""

from __future__ import annotations

import pytest

from tests.integration.insight.test_insight import (
    figures,
    fixed_data,
    test_figures_match_hand_computed_values,
    test_filters_narrow_every_figure,
    test_nlp_quality_counts_proposals_taken_and_corrected,
    test_rollup_refresh_follows_new_cases_and_events,
    test_satisfaction_and_sla_attainment_count_cases,
    test_the_rollup_watch_refreshes_on_the_timer_and_reschedules_itself,
)
from tests.integration.insight.test_rollup_freshness import (
    test_a_day_that_lost_cases_during_a_chunked_pass_is_recomputed_though_the_pass_is_past_it,
    test_a_hard_erasure_leaves_the_rollup_at_the_next_refresh,
    test_a_refresh_over_many_days_goes_in_chunks_resumed_from_the_stored_pass,
    test_a_team_move_and_an_erasure_reach_the_rollup_on_the_next_refresh,
    test_cases_deleted_by_retention_leave_the_rollup_at_the_next_refresh,
    test_the_watch_fires_again_at_once_while_a_refresh_pass_has_days_left,
)

__all__ = [
    "figures",
    "fixed_data",
    "test_a_day_that_lost_cases_during_a_chunked_pass_is_recomputed_though_the_pass_is_past_it",
    "test_a_hard_erasure_leaves_the_rollup_at_the_next_refresh",
    "test_a_refresh_over_many_days_goes_in_chunks_resumed_from_the_stored_pass",
    "test_a_team_move_and_an_erasure_reach_the_rollup_on_the_next_refresh",
    "test_cases_deleted_by_retention_leave_the_rollup_at_the_next_refresh",
    "test_figures_match_hand_computed_values",
    "test_filters_narrow_every_figure",
    "test_nlp_quality_counts_proposals_taken_and_corrected",
    "test_rollup_refresh_follows_new_cases_and_events",
    "test_satisfaction_and_sla_attainment_count_cases",
    "test_the_rollup_watch_refreshes_on_the_timer_and_reschedules_itself",
    "test_the_watch_fires_again_at_once_while_a_refresh_pass_has_days_left",
]

pytestmark = pytest.mark.one_database("mariadb")
