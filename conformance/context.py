"""What every property needs: the target, the policy, the paths, the Hypothesis settings."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from hypothesis import HealthCheck, Phase, settings

from conformance.suite_profiles import PROFILES
from conformance.targets import Target, unthrottled
from reference.policy import CorsPolicy

BATCH = 12
"""The most cases an example carries when requests are not rate-limited (6 on average:
Hypothesis sizes a list at most 5 above its minimum on average)."""


def hypothesis_settings(
    profile: str, *, max_examples: int | None = None, shrink: bool = True
) -> settings:
    if profile not in PROFILES:
        known = ", ".join(PROFILES)
        raise ValueError(f"unknown suite profile {profile!r} (known: {known})")
    return settings(
        max_examples=max_examples or PROFILES[profile],
        deadline=None,  # network targets: time is measured by the robustness checks instead
        database=None,  # same seed, same examples: reproducible across runs and workers
        print_blob=True,
        report_multiple_bugs=True,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
            HealthCheck.data_too_large,
        ],
        phases=[Phase.explicit, Phase.generate, *([Phase.shrink] if shrink else [])],
    )


@dataclass(slots=True, kw_only=True)
class SuiteContext:
    target: Target
    policy: CorsPolicy
    paths: tuple[str, ...] = ("/",)
    profile: str = "dev"
    seed: int | None = None
    max_examples: int | None = None
    occurrences: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    cases_sent: int = 0
    deadline: float | None = None  # time.monotonic() after which no new case is drawn
    not_applicable: int = 0
    # framework_configurations: generated policies tested, and those skipped by policy key
    policies_tested: int = 0
    inexpressible: Counter[str] = field(default_factory=Counter)
    shrink: bool = True  # False: report the first failing example as found (quick checks)
    # Most cases per Hypothesis example (None: BATCH unless requests are rate-limited, else 1).
    batch: int | None = None

    @property
    def cases_per_example(self) -> int:
        """How many cases one example may carry. Hypothesis's own work per example costs as
        much as a request in process or on loopback, so there several cases share it; under a
        rate limit (a --url target's default) requests are what counts, and each example stays
        one case, as many requests per profile as before batching."""
        if self.batch is not None:
            return self.batch
        return BATCH if unthrottled(self.target) else 1

    @property
    def settings(self) -> settings:
        return hypothesis_settings(self.profile, max_examples=self.max_examples, shrink=self.shrink)
